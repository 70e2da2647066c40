//! galleon's typed ARM client. The CLI uses it over HTTPS ([`Https`]); the portal and template
//! deployments use it in process over the ARM router (a [`Transport`] in `galleon_api`). So
//! everything galleon's own clients do goes through the public API `az` and the SDKs use, with
//! one set of credentials handling, retries, ARM errors, typed answers (`galleon_api_types`),
//! long-running-operation waits and api-versions.

pub mod api_version;
mod client;
mod connect;
mod error;
mod https;
mod login;
mod transport;

pub use client::{Client, Credential, Reply};
pub use connect::Connector;
pub use error::ClientError;
pub use https::Https;
pub use login::Login;
pub use transport::Transport;
