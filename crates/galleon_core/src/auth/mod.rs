//! Service principals and the bearer tokens they get.

mod error;
mod limiter;
mod principals;
mod shared_failures;
pub mod signing_keys;
mod tokens;

pub use error::AuthError;
pub use limiter::{FailureLimiter, MAX_FAILURES, WINDOW_SECONDS};
pub(crate) use principals::random;
pub use principals::{NewPrincipal, Principal};
pub use tokens::{Claims, TokenError, TokenIssuer, generate_signing_key};

/// The token audiences galleon's Microsoft Graph surface accepts besides its own Graph URL
/// (`{base}/graph/`, the `microsoftGraphResourceId` of its cloud metadata, which
/// `az role assignment --assignee` asks for).
pub const GRAPH_AUDIENCES: &[&str] = &["https://graph.microsoft.com/", "https://graph.microsoft.com"];

/// The token audiences ARM accepts besides galleon's own URL (the `resourceManager` its cloud
/// metadata advertises, which Ansible and `@azure/arm-resources` ask for).
pub const AUDIENCES: &[&str] =
    &["https://management.core.windows.net/", "https://management.azure.com/", "https://management.azure.com"];

/// The path under galleon's URL where its Graph surface lives; `{base}{GRAPH_PATH}/` is the
/// Graph audience, distinct from `{base}/`, the ARM one.
pub const GRAPH_PATH: &str = "/graph";

/// What a token is for, from its audience and the URL galleon was reached at when it was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// ARM (`Microsoft.Compute`, resource groups, galleon's administration).
    Arm,
    /// galleon's Graph surface.
    Graph,
}

impl Audience {
    /// Classifies `aud` for a server whose own URL is `base` (no trailing slash).
    pub fn of(aud: &str, base: Option<&str>) -> Option<Self> {
        let trimmed = aud.trim_end_matches('/');
        let own = |suffix: &str| base.is_some_and(|b| trimmed.eq_ignore_ascii_case(&format!("{b}{suffix}")));
        if AUDIENCES.contains(&aud) || own("") {
            Some(Self::Arm)
        } else if GRAPH_AUDIENCES.contains(&aud) || own(GRAPH_PATH) {
            Some(Self::Graph)
        } else {
            None
        }
    }
}

/// The server URL a token's issuer names (`{base}/{tenant}/v2.0` → `{base}`).
pub(crate) fn issuer_base(iss: &str) -> Option<&str> {
    iss.strip_suffix("/v2.0").and_then(|s| s.rsplit_once('/')).map(|(base, _)| base)
}
