//! Service principals and the bearer tokens they get.

mod principals;
mod tokens;

pub use principals::{NewPrincipal, Principal};
pub use tokens::{Claims, TokenIssuer, generate_signing_key};

/// The token audiences ARM accepts (what `az` and the SDKs ask for).
pub const AUDIENCES: &[&str] =
    &["https://management.core.windows.net/", "https://management.azure.com/", "https://management.azure.com"];
