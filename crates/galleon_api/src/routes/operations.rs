//! Operation status: `…/locations/{l}/capsOperations/{id}`. Without `monitor=true` it is the
//! `Azure-AsyncOperation` status body; with it, the `Location` contract (202 while running, the
//! final answer after).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use galleon_api_types::dates;
use galleon_api_types::{ErrorBody, OperationStatus};
use galleon_core::{OperationInfo, OperationState};

use crate::AppState;
use crate::api_version::{ApiVersion, COMPUTE_GALLERY, COMPUTE_RP, DISKS, RESOURCES, query_param};
use crate::error::ApiError;
use crate::extract::{ArmPath, BaseUrl};

fn status_body(op: &OperationInfo) -> OperationStatus {
    OperationStatus {
        name: op.id.clone(),
        status: op.state.as_str().into(),
        start_time: dates::format(op.start_time),
        end_time: op.end_time.map(dates::format),
        error: op.error.as_ref().map(|(code, message)| ErrorBody {
            code: code.clone(),
            message: message.clone(),
            target: None,
            details: vec![],
        }),
        properties: op.result.as_ref().map(|r| serde_json::json!({ "output": r })),
    }
}

/// The `Azure-AsyncOperation` status answer of an operation.
pub(super) fn status_response(op: &OperationInfo) -> Response {
    let mut resp = Json(status_body(op)).into_response();
    // Clients poll again after `Retry-After`; without it az and the SDKs wait 30 s.
    if op.state == OperationState::InProgress {
        resp.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    }
    resp
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, _location, id)): ArmPath<(String, String, String)>,
    BaseUrl(base): BaseUrl,
    uri: Uri,
) -> Result<Response, ApiError> {
    // Gallery, disk and group operations share this URL, so every family's versions are accepted.
    let type_name = "Microsoft.Compute/locations/capsOperations";
    if [COMPUTE_GALLERY, DISKS, COMPUTE_RP].iter().all(|family| api.require(family, type_name).is_err()) {
        api.require(RESOURCES, type_name)?;
    }
    let op = s.core.get_operation(&sub, &id).await?;
    let monitor = query_param(uri.query(), "monitor").is_some_and(|m| m.eq_ignore_ascii_case("true"));
    if !monitor {
        return Ok(status_response(&op));
    }
    match op.state {
        OperationState::InProgress => {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&format!("{base}{uri}")) {
                headers.insert("location", v);
            }
            headers.insert("retry-after", HeaderValue::from_static("1"));
            Ok((StatusCode::ACCEPTED, headers).into_response())
        }
        OperationState::Succeeded => Ok(match op.result {
            Some(result) => Json(result).into_response(),
            None => StatusCode::OK.into_response(),
        }),
        OperationState::Failed | OperationState::Canceled => {
            let (code, message) =
                op.error.unwrap_or_else(|| ("OperationFailed".into(), "The operation failed.".into()));
            Err(ApiError::new(StatusCode::BAD_REQUEST, &code, message))
        }
    }
}
