//! `Microsoft.Compute/images` (managed images).

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use galleon_api_types::managed_image::{ManagedImageResource, TYPE, to_request, to_wire};
use galleon_core::Envelope;
use galleon_model::GroupRef;

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, COMPUTE_RP};
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath, BaseUrl, ListQuery, ListScope};
use crate::lro;

type ImagePath = ArmPath<(String, String, String)>;

pub(super) async fn put(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): ImagePath,
    BaseUrl(base): BaseUrl,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
    ArmJson(body): ArmJson<ManagedImageResource>,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_RP, TYPE)?;
    let env = Envelope::new(body.location, body.tags)?;
    let req = s.core.check_links(&claims, &sub, to_request(body.properties.unwrap_or_default())).await?;
    let accepted = s.core.put_managed_image(&GroupRef::new(&sub, &rg), &name, env, req).await?;
    Ok(lro::accepted(&base, api, &accepted, to_wire(&accepted.resource)))
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): ImagePath,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_RP, TYPE)?;
    Ok(Json(to_wire(&s.core.get_managed_image(&GroupRef::new(&sub, &rg), &name).await?)).into_response())
}

/// A group's or a subscription's list.
pub(super) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    scope: ListScope,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_RP, TYPE)?;
    let page = s.core.list_managed_images(&scope.sub, scope.group.as_ref(), &q.page).await?;
    Ok(list_response(&base, &uri, page, to_wire))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): ImagePath,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_RP, TYPE)?;
    let op = s.core.delete_managed_image(&GroupRef::new(&sub, &rg), &name).await?;
    Ok(lro::delete_started(&base, api, op))
}
