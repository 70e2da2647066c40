//! Request-size limits answered as ARM errors, and `Connection: close` whenever a request body is
//! left unread.
//!
//! hyper's own limits (a 64 KiB request target, a 400 KiB HTTP/1 head, 256 headers and a 256 KiB
//! HTTP/2 header list as the server configures them) answer a bare status with no body; the
//! limits here are lower, so every request a client could reasonably send gets the ARM envelope. A response sent before its request body
//! was read to the end (a 401 or a 404 of a PUT) has the rest of a small body read and dropped,
//! so the connection stays usable; a large rest (a 413) ends the connection with
//! `Connection: close`, which stops a keep-alive client from writing into a closing socket.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::{Body as _, Frame, SizeHint};

use crate::error::ApiError;

/// Longest request target (path and query) answered normally.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// Largest total of header names and values answered normally.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Refuses an oversize request target or header block with an ARM error.
pub(crate) fn check(req: &Request) -> Result<(), ApiError> {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "RequestUriTooLong",
            format!("The request URI is {target} bytes long; the limit is {MAX_URI_BYTES} bytes."),
        ));
    }
    let headers = header_bytes(req.headers());
    if headers > MAX_HEADER_BYTES {
        return Err(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "RequestHeaderFieldsTooLarge",
            format!("The request headers total {headers} bytes; the limit is {MAX_HEADER_BYTES} bytes."),
        ));
    }
    Ok(())
}

/// The body length a request announces, if it does.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok())
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

/// Most of an unread body that is read and dropped to keep the connection; a larger rest ends
/// the connection instead.
const DRAIN_LIMIT: u64 = crate::MAX_BODY_BYTES as u64;
/// How long a client gets to send the rest of a body that is being drained.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Runs `inner` on the request with the limits applied and the body watched.
pub(crate) async fn guarded<F, Fut>(req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    if let Err(e) = check(&req) {
        return close(e.into_response());
    }
    if req.body().is_end_stream() {
        return inner(req).await;
    }
    let announced = content_length(req.headers());
    let shared = Shared::default();
    let req = req.map(|body| {
        *shared.body.lock().expect("body lock") = Some(body);
        Body::new(Watched(shared.clone()))
    });
    let resp = inner(req).await;
    if shared.finished.load(Ordering::Acquire) {
        return resp;
    }
    // A small rest (a refused PUT's JSON) is read and dropped, so the client's connection stays
    // usable; anything larger, or a client that stops sending, ends the connection.
    if announced.is_some_and(|n| n <= DRAIN_LIMIT) && tokio::time::timeout(DRAIN_TIME, drain(&shared)).await == Ok(true)
    {
        return resp;
    }
    close(resp)
}

/// Reads what is left of the body; true when it ended.
async fn drain(shared: &Shared) -> bool {
    loop {
        let frame = std::future::poll_fn(|cx| match shared.body.lock().expect("body lock").as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        })
        .await;
        match frame {
            None => return true,
            Some(Ok(_)) => {}
            Some(Err(_)) => return false,
        }
    }
}

fn close(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// The request body, shared between the handler's view and the guard that drains what the
/// handler left.
#[derive(Clone, Default)]
struct Shared {
    body: Arc<Mutex<Option<Body>>>,
    finished: Arc<AtomicBool>,
}

/// A request body that records when it has been read to the end.
struct Watched(Shared);

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut body = self.0.body.lock().expect("body lock");
        let Some(inner) = body.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.0.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let end = self.0.body.lock().expect("body lock").as_ref().is_none_or(|b| b.is_end_stream());
        if end {
            self.0.finished.store(true, Ordering::Release);
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.0.body.lock().expect("body lock").as_ref().map(|b| b.size_hint()).unwrap_or_default()
    }
}
