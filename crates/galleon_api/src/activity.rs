//! Records every write made through the ARM routes in the activity log, refused ones included (a
//! route layer around authentication, which notes the caller on the response; a request without
//! a valid token has no caller and is not recorded). The portal and template deployments go
//! through the same router, so their writes are recorded too.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use galleon_core::activity::WriteRecord;

use crate::middleware::CORRELATION_ID;
use crate::{AppState, PeerAddr, SentPath};

/// Largest error body kept with a failed write.
const MAX_ERROR_BODY: usize = 64 << 10;

/// The operation an answer names for polling: the last segment of its status URL.
fn operation_of(resp: &Response) -> Option<String> {
    let url = resp.headers().get("azure-asyncoperation").or_else(|| resp.headers().get("location"))?.to_str().ok()?;
    let path = url.split('?').next()?;
    let lower = path.to_ascii_lowercase();
    if !(lower.contains("/capsoperations/") || lower.contains("/operationstatuses/")) {
        return None;
    }
    path.rsplit('/').next().filter(|id| !id.is_empty()).map(str::to_string)
}

/// Records the write once it has been answered (reads pass straight through). A failure to
/// record is logged and does not change the answer: the write itself stands.
pub(crate) async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let started = time::OffsetDateTime::now_utc();
    let header = |req: &Request, name: &str| {
        req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    let correlation_id = match header(&req, CORRELATION_ID) {
        id if id.is_empty() => uuid::Uuid::new_v4().to_string(),
        id => id,
    };
    let client_request_id = header(&req, "x-ms-client-request-id");
    let path = req.extensions().get::<SentPath>().map_or_else(|| req.uri().path().to_string(), |p| p.0.clone());
    let client_ip = req.extensions().get::<PeerAddr>().map(|p| p.0.ip().to_string()).unwrap_or_default();
    let method = req.method().as_str().to_string();
    let resp = next.run(req).await;
    let Some(crate::middleware::Caller(claims)) = resp.extensions().get().cloned() else {
        return resp;
    };
    let status_code = resp.status().as_u16();
    let operation_id = operation_of(&resp);
    let (resp, error) = if status_code >= 400 {
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
        let error = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
        (Response::from_parts(parts, Body::from(bytes)), error)
    } else {
        (resp, None)
    };
    let record = WriteRecord {
        claims,
        method,
        path,
        correlation_id,
        client_request_id,
        client_ip,
        started,
        status_code,
        error,
        operation_id,
    };
    if let Err(e) = state.core.record_write(record).await {
        tracing::warn!(error = %e, "the activity log could not record a write");
    }
    resp
}
