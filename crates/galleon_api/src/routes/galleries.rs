//! `Microsoft.Compute/galleries`.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use galleon_api_types::gallery::{GalleryResource, TYPE, to_wire};
use galleon_core::{Envelope, GalleryRequest};
use galleon_model::{GalleryRef, GroupRef};

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, COMPUTE_GALLERY};
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath, BaseUrl, ListQuery, ListScope};
use crate::lro;

type GalleryPath = ArmPath<(String, String, String)>;

fn gallery_ref((sub, rg, g): &(String, String, String)) -> GalleryRef {
    GroupRef::new(sub, rg).gallery(g)
}

async fn write(
    s: AppState,
    api: ApiVersion,
    path: (String, String, String),
    base: String,
    body: GalleryResource,
    patch: bool,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_GALLERY, TYPE)?;
    galleon_api_types::gallery::refuse_unsupported(&body)?;
    let props = body.properties.unwrap_or_default();
    let env = Envelope::new(body.location, body.tags)?;
    let accepted =
        s.core.put_gallery(&gallery_ref(&path), env, GalleryRequest { description: props.description }, patch).await?;
    Ok(lro::accepted(&base, api, &accepted, to_wire(&accepted.resource)))
}

/// PUT and PATCH: the same flow, a PATCH changing only what it names.
pub(super) async fn put_or_patch(
    method: Method,
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): GalleryPath,
    BaseUrl(base): BaseUrl,
    ArmJson(body): ArmJson<GalleryResource>,
) -> Result<Response, ApiError> {
    write(s, api, path, base, body, method == Method::PATCH).await
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): GalleryPath,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    Ok(Json(to_wire(&s.core.get_gallery(&gallery_ref(&path)).await?)).into_response())
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
    api.require(COMPUTE_GALLERY, TYPE)?;
    let page = s.core.list_galleries(&scope.sub, scope.group.as_ref(), &q.page).await?;
    Ok(list_response(&base, &uri, page, to_wire))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): GalleryPath,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_GALLERY, TYPE)?;
    let op = s.core.delete_gallery(&gallery_ref(&path)).await?;
    Ok(lro::delete_started(&base, api, op))
}
