//! Service principals and the bearer tokens they get.

mod limiter;
mod principals;
mod tokens;

pub use limiter::{FailureLimiter, MAX_FAILURES, WINDOW_SECONDS};
pub use principals::{NewPrincipal, Principal, TOO_MANY};
pub use tokens::{Claims, TokenIssuer, generate_signing_key};

/// The token audiences ARM accepts (what `az` and the SDKs ask for).
pub const AUDIENCES: &[&str] =
    &["https://management.core.windows.net/", "https://management.azure.com/", "https://management.azure.com"];
