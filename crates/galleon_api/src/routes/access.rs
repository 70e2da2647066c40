//! The access URLs `beginGetAccess` hands out, answering as an Azure page blob does: GET (whole
//! or `Range` / `x-ms-range`, streamed one chunk at a time), HEAD, and `PUT ?comp=page` for
//! uploads. No bearer token: the URL's secret is the credential. Errors use Azure Storage's XML.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};
use galleon_core::CoreError;
use galleon_core::access::{AccessTarget, MAX_PAGE_WRITE, PageWrite, ReadHandle, page_buffers};

use crate::AppState;
use crate::api_version::query_param;

/// How much one streamed body frame carries.
const FRAME: u64 = 1 << 20;

fn storage_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [("content-type", "application/xml"), ("x-ms-error-code", code)], body).into_response()
}

fn from_core(e: CoreError) -> Response {
    match e {
        CoreError::Unauthenticated(m) => storage_error(StatusCode::FORBIDDEN, "AuthenticationFailed", &m.to_string()),
        CoreError::Invalid(i) => storage_error(StatusCode::BAD_REQUEST, "InvalidPageRange", &i.message),
        other => {
            tracing::error!(error = %other, "access URL");
            storage_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The server encountered an internal error.",
            )
        }
    }
}

/// `bytes=a-b` (either header), clamped to `len`; `None` for no range.
fn requested_range(headers: &HeaderMap, len: u64) -> Option<Result<(u64, u64), ()>> {
    let raw = headers.get("x-ms-range").or_else(|| headers.get("range"))?.to_str().ok()?;
    let spec = raw.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end = if b.trim().is_empty() {
        len.saturating_sub(1)
    } else {
        b.trim().parse::<u64>().ok()?.min(len.saturating_sub(1))
    };
    Some(if start > end || start >= len { Err(()) } else { Ok((start, end)) })
}

fn blob_headers(h: &ReadHandle) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-ms-blob-type", HeaderValue::from_static("PageBlob"));
    headers.insert("accept-ranges", HeaderValue::from_static("bytes"));
    headers.insert("x-ms-version", HeaderValue::from_static("2021-08-06"));
    headers.insert("x-ms-blob-sequence-number", HeaderValue::from_static("0"));
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", &h.digest()[..32])) {
        headers.insert("etag", v);
    }
    if let Ok(v) = HeaderValue::from_str(&http_date(h.modified())) {
        headers.insert("last-modified", v);
    }
    headers
}

/// An HTTP date (`Tue, 01 Dec 2026 13:00:00 GMT`), as `Last-Modified` carries it.
fn http_date(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// `GET ?comp=pagelist`: the ranges that hold data (within `x-ms-range` when given), as the
/// storage SDKs' `download_blob` asks for them before reading.
fn page_list(handle: &ReadHandle, headers: &HeaderMap) -> Response {
    let len = handle.len();
    let (from, to) = match requested_range(headers, len) {
        None => (0, len),
        Some(Ok((a, b))) => (a, b + 1),
        Some(Err(())) => {
            return storage_error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The range specified is invalid for the current size of the resource.",
            );
        }
    };
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><PageList>");
    for (start, end) in handle.data_ranges() {
        let (start, end) = (start.max(from), end.min(to));
        if start < end {
            xml.push_str(&format!("<PageRange><Start>{start}</Start><End>{}</End></PageRange>", end - 1));
        }
    }
    xml.push_str("</PageList>");
    let mut out = blob_headers(handle);
    out.remove("accept-ranges");
    out.insert("content-type", HeaderValue::from_static("application/xml"));
    out.insert("x-ms-blob-content-length", HeaderValue::from(len));
    (StatusCode::OK, out, xml).into_response()
}

/// Streams `[start, end]` of the disk, one frame at a time.
fn stream_range(handle: ReadHandle, start: u64, end: u64) -> Body {
    let frames = stream::unfold((handle, start), move |(h, pos)| async move {
        if pos > end {
            return None;
        }
        let len = FRAME.min(end + 1 - pos);
        let item = h.range(pos, len).await.map_err(|e| std::io::Error::other(e.to_string()));
        Some((item, (h, pos + len)))
    });
    Body::from_stream(frames)
}

/// `PUT` without `comp` (the storage SDKs' `create_page_blob`, first step of
/// `upload_blob(blob_type="PageBlob")`): the upload's blob already exists at the size the disk
/// was created with, so a create of exactly that page blob succeeds and changes nothing; any
/// other blob type or size is refused.
fn create_page_blob(headers: &HeaderMap, size: u64) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let page_blob = header("x-ms-blob-type").is_some_and(|t| t.eq_ignore_ascii_case("PageBlob"));
    let length = header("x-ms-blob-content-length").and_then(|v| v.parse::<u64>().ok());
    if !page_blob || length != Some(size) {
        return storage_error(
            StatusCode::BAD_REQUEST,
            "InvalidHeaderValue",
            &format!(
                "A managed disk upload URL holds one page blob of {size} bytes (x-ms-blob-type: PageBlob, x-ms-blob-content-length: {size}); write it with PUT ?comp=page."
            ),
        );
    }
    (StatusCode::CREATED, [("x-ms-request-server-encrypted", "true")]).into_response()
}

/// Reads a page write's body of `len` bytes (at most 4 MiB) into a warm aligned buffer: the
/// upload hashes it and writes it to disk with O_DIRECT from there, with no other copy. (Bodies
/// gathered into fresh memory cost more than the hashing.) The body is read only after the URL's
/// secret was checked.
async fn page_body(body: Body, len: u64) -> Result<Bytes, Response> {
    if len > MAX_PAGE_WRITE as u64 {
        return Err(storage_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            "A page write carries at most 4 MiB.",
        ));
    }
    let mismatch =
        || storage_error(StatusCode::BAD_REQUEST, "InvalidPageRange", "The body length does not match x-ms-range.");
    let len = len as usize;
    let mut buf = page_buffers().take();
    let mut filled = 0;
    let mut frames = body.into_data_stream();
    while let Some(frame) = frames.next().await {
        let Ok(frame) = frame else {
            page_buffers().give_back(buf);
            return Err(storage_error(StatusCode::BAD_REQUEST, "InvalidInput", "The request body could not be read."));
        };
        if filled + frame.len() > len {
            page_buffers().give_back(buf);
            return Err(mismatch());
        }
        buf.as_mut_slice()[filled..filled + frame.len()].copy_from_slice(&frame);
        filled += frame.len();
    }
    if filled != len {
        page_buffers().give_back(buf);
        return Err(mismatch());
    }
    Ok(page_buffers().share(buf, len))
}

pub(super) async fn serve(
    State(s): State<AppState>,
    Path((key, _blob)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let secret = query_param(uri.query(), "sig").unwrap_or_default();
    let target = match s.core.open_access(&key, &secret).await {
        Ok(t) => t,
        Err(e) => return from_core(e),
    };
    let comp = query_param(uri.query(), "comp");
    match (method, target) {
        (Method::GET, AccessTarget::Read(handle)) if comp.as_deref() == Some("pagelist") => {
            page_list(&handle, &headers)
        }
        (_, _) if comp.as_deref().is_some_and(|c| c != "page") => storage_error(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            &format!(
                "The value '{}' of the query parameter 'comp' is not supported on a managed disk URL.",
                comp.unwrap_or_default()
            ),
        ),
        (Method::GET | Method::HEAD, AccessTarget::Read(handle)) => {
            let len = handle.len();
            let mut out = blob_headers(&handle);
            let (status, start, end) = match requested_range(&headers, len) {
                None => (StatusCode::OK, 0, len - 1),
                Some(Ok((a, b))) => {
                    if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{len}")) {
                        out.insert("content-range", v);
                    }
                    (StatusCode::PARTIAL_CONTENT, a, b)
                }
                Some(Err(())) => {
                    return storage_error(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "InvalidRange",
                        "The range specified is invalid for the current size of the resource.",
                    );
                }
            };
            out.insert("content-length", HeaderValue::from(end + 1 - start));
            out.insert("content-type", HeaderValue::from_static("application/octet-stream"));
            let body = if uri.path().is_empty() || status == StatusCode::OK && len == 0 {
                Body::empty()
            } else {
                stream_range(handle, start, end)
            };
            (status, out, body).into_response()
        }
        (Method::HEAD, AccessTarget::Write(upload)) => {
            let mut out = HeaderMap::new();
            out.insert("x-ms-blob-type", HeaderValue::from_static("PageBlob"));
            out.insert("content-length", HeaderValue::from(upload.len()));
            (StatusCode::OK, out).into_response()
        }
        (Method::PUT, AccessTarget::Write(upload)) if comp.is_none() => create_page_blob(&headers, upload.len()),
        (Method::PUT, AccessTarget::Write(upload)) => {
            let Some(Ok((start, end))) = requested_range(&headers, upload.len()) else {
                return storage_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidPageRange",
                    "x-ms-range must give a page range within the blob.",
                );
            };
            let clear = headers
                .get("x-ms-page-write")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("clear"));
            let len = end + 1 - start;
            let pages = if clear {
                // A clear has no body; its range may be the whole disk (no buffer of that size).
                PageWrite::Clear(len)
            } else {
                match page_body(body, len).await {
                    Ok(data) => PageWrite::Update(data),
                    Err(refused) => return refused,
                }
            };
            match s.core.write_pages(&upload, start, pages).await {
                Ok(()) => (
                    StatusCode::CREATED,
                    [("x-ms-blob-sequence-number", "0"), ("x-ms-request-server-encrypted", "true")],
                )
                    .into_response(),
                Err(e) => from_core(e),
            }
        }
        (Method::GET, AccessTarget::Write { .. }) => storage_error(
            StatusCode::CONFLICT,
            "BlobBeingUploaded",
            "The disk is being uploaded; it can be read once the upload has finished.",
        ),
        _ => storage_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnsupportedHttpVerb",
            "The method is not supported by this URL.",
        ),
    }
}
