//! The long-running-operation answers: 201/200 with `Azure-AsyncOperation` and `Retry-After`
//! for PUT and PATCH, 202 with `Azure-AsyncOperation` and `Location` for DELETE, 204 for a
//! DELETE of something that is not there.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use galleon_core::Accepted;
use galleon_core::OperationInfo;
use serde::Serialize;

/// The status URL of an operation; with `monitor` the `Location` form.
pub(crate) fn operation_url(base: &str, op: &OperationInfo, api_version: &str, monitor: bool) -> String {
    let monitor = if monitor { "monitor=true&" } else { "" };
    format!(
        "{base}/subscriptions/{}/providers/Microsoft.Compute/locations/{}/capsOperations/{}?{monitor}api-version={api_version}",
        op.subscription, op.location, op.id
    )
}

fn header(v: &str) -> HeaderValue {
    HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// 201 (create) or 200 (update) with the resource and the async-operation headers.
pub(crate) fn accepted<R, W: Serialize>(base: &str, api_version: &str, accepted: &Accepted<R>, body: W) -> Response {
    respond(base, api_version, accepted, body, StatusCode::CREATED)
}

/// As [`accepted`], but a create answers `created` (disks and snapshots answer 202, not 201).
pub(crate) fn respond<R, W: Serialize>(
    base: &str,
    api_version: &str,
    accepted: &Accepted<R>,
    body: W,
    created: StatusCode,
) -> Response {
    let status = if accepted.created { created } else { StatusCode::OK };
    let mut headers = HeaderMap::new();
    headers.insert("azure-asyncoperation", header(&operation_url(base, &accepted.operation, api_version, false)));
    headers.insert("retry-after", HeaderValue::from_static("1"));
    (status, headers, Json(body)).into_response()
}

/// 202 with both polling headers (deletes and POST actions), or 204 when there was nothing to delete.
pub(crate) fn delete_started(base: &str, api_version: &str, op: Option<OperationInfo>) -> Response {
    let Some(op) = op else {
        return StatusCode::NO_CONTENT.into_response();
    };
    started(&operation_url(base, &op, api_version, false), &operation_url(base, &op, api_version, true))
}

/// 202 with the status URL to poll (`Azure-AsyncOperation`) and the `Location` one.
pub(crate) fn started(status_url: &str, location: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("azure-asyncoperation", header(status_url));
    headers.insert("location", header(location));
    headers.insert("retry-after", HeaderValue::from_static("1"));
    (StatusCode::ACCEPTED, headers).into_response()
}
