//! Request correlation headers, as ARM sends them on every response.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

const ECHOED: [&str; 2] = ["x-ms-client-request-id", "x-ms-correlation-request-id"];

/// Adds `x-ms-request-id` and echoes the client's request and correlation ids.
pub(crate) async fn request_ids(req: Request, next: Next) -> Response {
    let echoed: Vec<(&'static str, HeaderValue)> = ECHOED
        .iter()
        .filter_map(|name| req.headers().get(*name).map(|v| (*name, v.clone())))
        .collect();
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert("x-ms-request-id", v);
    }
    for (name, value) in echoed {
        headers.insert(name, value);
    }
    resp
}
