//! How a [`crate::Client`]'s requests reach the ARM router: over HTTPS ([`crate::Https`], the
//! CLI) or in process (the portal and template deployments, in `galleon_api`). The client does
//! the rest — credentials, retries, ARM errors, long-running operations — once for both.

use std::future::Future;

use bytes::Bytes;
use hyper::{Request, Response};

use crate::ClientError;

/// Sends one request and reads its whole answer. The request's URI is a path with its query;
/// the transport knows which server it talks to (and sets `Host`).
pub trait Transport: Send + Sync {
    fn send(&self, request: Request<Bytes>) -> impl Future<Output = Result<Response<Bytes>, ClientError>> + Send;
}
