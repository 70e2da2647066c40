//! Where a server is and who to be there: what `galleon login` stores in the profile.

use serde::{Deserialize, Serialize};

/// A server and a service principal's credentials (the shape of the server's `credentials.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    pub endpoint: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub subscription_id: String,
    /// PEM CA certificate to trust for the server (WebPKI roots when absent).
    pub ca_file: Option<String>,
}
