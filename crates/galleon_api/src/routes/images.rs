//! `Microsoft.Compute/galleries/images` (image definitions).

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use galleon_api_types::image::{ImageResource, TYPE, to_request, to_wire};
use galleon_core::Envelope;
use galleon_model::{GroupRef, ImageRef};

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, COMPUTE_GALLERY};
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath, BaseUrl, ListQuery};
use crate::lro;

type ImagePath = ArmPath<(String, String, String, String)>;

fn image_ref((sub, rg, g, i): &(String, String, String, String)) -> ImageRef {
    GroupRef::new(sub, rg).gallery(g).image(i)
}

async fn write(
    s: AppState,
    api: ApiVersion,
    path: (String, String, String, String),
    base: String,
    body: ImageResource,
    patch: bool,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_GALLERY, TYPE)?;
    let req = to_request(body.properties.unwrap_or_default())?;
    let env = Envelope::new(body.location, body.tags)?;
    let accepted = s.core.put_image(&image_ref(&path), env, req, patch).await?;
    Ok(lro::accepted(&base, api, &accepted, to_wire(&accepted.resource)))
}

/// PUT and PATCH: the same flow, a PATCH changing only what it names.
pub(super) async fn put_or_patch(
    method: Method,
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): ImagePath,
    BaseUrl(base): BaseUrl,
    ArmJson(body): ArmJson<ImageResource>,
) -> Result<Response, ApiError> {
    write(s, api, path, base, body, method == Method::PATCH).await
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): ImagePath,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    Ok(Json(to_wire(&s.core.get_image(&image_ref(&path)).await?)).into_response())
}

pub(super) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, g)): ArmPath<(String, String, String)>,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    let page = s.core.list_images(&GroupRef::new(&sub, &rg).gallery(&g), &q.page).await?;
    Ok(list_response(&base, &uri, page, to_wire))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): ImagePath,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_GALLERY, TYPE)?;
    let op = s.core.delete_image(&image_ref(&path)).await?;
    Ok(lro::delete_started(&base, api, op))
}
