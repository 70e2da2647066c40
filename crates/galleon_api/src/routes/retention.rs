//! Retention policies (a galleon extension; any api-version), beside the definition:
//! `GET|PUT|DELETE …/images/{i}/retentionPolicy` with the policy as the body
//! (`keepLatest`, `deleteAfterEndOfLifeDays`, `countExcludedFromLatest`),
//! `POST …/retentionPolicy/preview` (optionally with a policy to try instead of the stored one),
//! and `POST …/retentionPolicy/run` (202; the operation's output is what it did). Reads need
//! read access to the definition, the rest write access, as any child resource.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use galleon_model::retention::RetentionPolicy;
use galleon_model::{GroupRef, ImageRef};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath, BaseUrl};

type DefinitionPath = ArmPath<(String, String, String, String)>;

fn image(ArmPath((sub, rg, g, i)): DefinitionPath) -> ImageRef {
    GroupRef::new(&sub, &rg).gallery(&g).image(&i)
}

pub(super) async fn get(State(s): State<AppState>, path: DefinitionPath) -> Result<Json<RetentionPolicy>, ApiError> {
    Ok(Json(s.core.get_retention_policy(&image(path)).await?))
}

pub(super) async fn put(
    State(s): State<AppState>,
    path: DefinitionPath,
    ArmJson(policy): ArmJson<RetentionPolicy>,
) -> Result<Json<RetentionPolicy>, ApiError> {
    Ok(Json(s.core.set_retention_policy(&image(path), policy).await?))
}

pub(super) async fn delete(State(s): State<AppState>, path: DefinitionPath) -> Result<StatusCode, ApiError> {
    let had = s.core.delete_retention_policy(&image(path)).await?;
    Ok(if had { StatusCode::OK } else { StatusCode::NO_CONTENT })
}

/// `POST …/retentionPolicy/{action}`: `preview` or `run`.
pub(super) async fn action(
    State(s): State<AppState>,
    ArmPath((sub, rg, g, i, action)): ArmPath<(String, String, String, String, String)>,
    BaseUrl(base): BaseUrl,
    body: Bytes,
) -> Result<Response, ApiError> {
    let image = GroupRef::new(&sub, &rg).gallery(&g).image(&i);
    match action.to_ascii_lowercase().as_str() {
        "preview" => {
            let policy = if body.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                Some(serde_json::from_slice::<RetentionPolicy>(&body).map_err(ApiError::bad_content)?)
            };
            Ok(Json(s.core.preview_retention(&image, policy).await?).into_response())
        }
        "run" => {
            let op = s.core.start_retention(&image).await?;
            Ok(crate::lro::delete_started(&base, "2024-03-03", Some(op)))
        }
        other => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("A retention policy has no action '{other}' (preview, run)."),
        )),
    }
}
