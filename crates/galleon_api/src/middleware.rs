//! Request correlation headers, as ARM sends them on every response.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

const ECHOED: [&str; 2] = ["x-ms-client-request-id", "x-ms-correlation-request-id"];

/// Request ids: a random per-process prefix and a counter, formatted as a UUID. Unique without a
/// random-number syscall per request.
fn next_request_id() -> String {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    uuid::Uuid::from_u64_pair(prefix, n).to_string()
}

/// Adds `x-ms-request-id` and echoes the client's request and correlation ids.
pub(crate) async fn request_ids(req: Request, next: Next) -> Response {
    let echoed: Vec<(&'static str, HeaderValue)> =
        ECHOED.iter().filter_map(|name| req.headers().get(*name).map(|v| (*name, v.clone()))).collect();
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    let id = next_request_id();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert("x-ms-request-id", v);
    }
    for (name, value) in echoed {
        headers.insert(name, value);
    }
    resp
}
