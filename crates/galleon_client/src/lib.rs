//! A typed client for galleon's ARM API. The CLI uses only this, so everything it does goes
//! through the public API any other client (az, the SDKs) uses.

mod error;
mod http;
mod login;

pub use error::ClientError;
pub use http::{Client, Reply};
pub use login::Login;
