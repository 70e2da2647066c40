//! Service principals and the bearer tokens they get.

mod limiter;
mod principals;
mod tokens;

pub use limiter::{FailureLimiter, MAX_FAILURES, WINDOW_SECONDS};
pub use principals::{NewPrincipal, Principal, TOO_MANY};
pub use tokens::{Claims, TokenIssuer, generate_signing_key};

/// The token audiences galleon's Microsoft Graph surface accepts (the `microsoftGraphResourceId`
/// of its cloud metadata; `az role assignment --assignee` asks for it).
pub const GRAPH_AUDIENCES: &[&str] = &["https://graph.microsoft.com/", "https://graph.microsoft.com"];

/// The token audiences ARM accepts (what `az` and the SDKs ask for).
pub const AUDIENCES: &[&str] =
    &["https://management.core.windows.net/", "https://management.azure.com/", "https://management.azure.com"];
