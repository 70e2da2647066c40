//! The in-process transport of [`galleon_client::Client`]: requests go through the same router
//! (and so the same authentication, authorization, validation and use cases) that serves `az`
//! and the SDKs. The portal reads and writes only this way (like the Azure portal, it is an ARM
//! client and cannot do anything its user could not do with `az`), and template deployments put
//! their resources this way.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use bytes::Bytes;
use galleon_client::{Client, ClientError, Credential, Transport};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The ARM router, called in process with `Host` set to the caller's (so URLs ARM builds —
/// access URLs, operations — reach the same origin).
pub struct InProcess {
    router: Router,
    host: String,
}

impl InProcess {
    pub fn new(router: Router, host: &str) -> Self {
        Self { router, host: host.to_string() }
    }
}

impl Transport for InProcess {
    async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, ClientError> {
        let (mut parts, body) = request.into_parts();
        // The router is called without the server's normalisation layer: apply it here.
        parts.uri = crate::normalize::normalize_uri(&parts.uri).unwrap_or(parts.uri);
        parts.headers.insert(
            axum::http::header::HOST,
            self.host.parse().map_err(|_| ClientError::Transport(format!("bad host '{}'", self.host)))?,
        );
        let resp = self
            .router
            .clone()
            .oneshot(Request::from_parts(parts, Body::from(body)))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.map_err(|e| ClientError::Transport(e.to_string()))?.to_bytes();
        Ok(Response::from_parts(parts, bytes))
    }
}

/// A client of `router` as the holder of `token`, for a caller that reached the server at `host`.
pub fn client(router: Router, token: &str, host: &str) -> Client<InProcess> {
    Client::over(InProcess::new(router, host), Credential::Token(token.to_string()))
}
