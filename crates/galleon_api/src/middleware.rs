//! Request ids and the access log: every response carries ARM's correlation headers, and every
//! request is logged once (target `galleon::access`) with what an operator needs to find it.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics::RouteLabel;

const CLIENT_REQUEST_ID: &str = "x-ms-client-request-id";
pub(crate) const CORRELATION_ID: &str = "x-ms-correlation-request-id";

/// The principal a request was authenticated as, noted on the response by the authentication
/// layer for the access and activity logs (which run outside it, so they see refusals too).
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub galleon_core::auth::Claims);

/// Request ids: a random per-process prefix and a counter, formatted as a UUID. Unique without a
/// random-number syscall per request.
fn next_request_id() -> String {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    uuid::Uuid::from_u64_pair(prefix, n).to_string()
}

/// A header as text, when it is short and printable (ids only: anything else is not logged).
fn id_header(headers: &HeaderMap, name: &str) -> Option<HeaderValue> {
    let v = headers.get(name)?;
    let printable = v.len() <= 128 && v.as_bytes().iter().all(|b| b.is_ascii_graphic());
    printable.then(|| v.clone())
}

/// Adds `x-ms-request-id`, echoes the client's request id, echoes the client's correlation id
/// or (as ARM does) makes one up, and writes the access log line.
pub(crate) async fn request_log(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = next_request_id();
    let client_request_id = id_header(req.headers(), CLIENT_REQUEST_ID);
    let correlation = id_header(req.headers(), CORRELATION_ID)
        .unwrap_or_else(|| HeaderValue::from_str(&request_id).expect("a UUID is a header value"));
    // Inner layers (the activity log, template deployments) read the correlation id from here.
    req.headers_mut().insert(CORRELATION_ID, correlation.clone());
    let method = req.method().clone();
    let correlation_id = correlation.to_str().unwrap_or_default().to_string();
    let span = tracing::info_span!("request", request_id = %request_id, correlation_id = %correlation_id);
    let mut resp = next.run(req).instrument(span).await;
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-ms-request-id", v);
    }
    headers.insert(CORRELATION_ID, correlation);
    if let Some(v) = &client_request_id {
        headers.insert(CLIENT_REQUEST_ID, v.clone());
    }
    // The route template, never the path with its query: access URLs carry signatures there.
    let route = resp.extensions().get::<RouteLabel>().map_or("other", |r| r.0.as_str());
    let principal = resp.extensions().get::<Caller>().map_or("", |c| c.0.oid.as_str());
    tracing::info!(
        target: "galleon::access",
        method = %method,
        route,
        status = resp.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        principal,
        request_id = %request_id,
        correlation_id = %correlation_id,
        client_request_id = client_request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
        "request"
    );
    resp
}
