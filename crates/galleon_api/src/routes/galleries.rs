//! `Microsoft.Compute/galleries`.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use galleon_api_types::gallery::{GalleryResource, SharingUpdate, TYPE, to_wire, to_wire_with};
use galleon_core::{Envelope, GalleryRequest};
use galleon_model::{GalleryRef, GroupRef};

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, COMPUTE_GALLERY, query_param};
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
    let permissions = galleon_api_types::gallery::requested_permissions(&body);
    let soft_delete = galleon_api_types::gallery::requested_soft_delete(&body);
    let community = galleon_api_types::gallery::requested_community(&body);
    let props = body.properties.unwrap_or_default();
    let env = Envelope::new(body.location, body.tags)?;
    let req = GalleryRequest { description: props.description, permissions, community, soft_delete };
    let accepted = s.core.put_gallery(&gallery_ref(&path), env, req, patch).await?;
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

/// GET; `$expand=SharingProfile/Groups` adds who the gallery is shared with.
pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): GalleryPath,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    let expand = query_param(uri.query(), "$expand");
    let groups = expand.is_some_and(|e| e.split(',').any(|x| x.trim().eq_ignore_ascii_case("SharingProfile/Groups")));
    Ok(Json(to_wire_with(&s.core.get_gallery(&gallery_ref(&path)).await?, groups)).into_response())
}

/// `POST …/share`: Add, Remove or Reset who the gallery is shared with. Sharing hands out read
/// access, so it takes what a role assignment takes (Owner), not just write access.
pub(super) async fn share(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): GalleryPath,
    BaseUrl(base): BaseUrl,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
    ArmJson(body): ArmJson<SharingUpdate>,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_GALLERY, TYPE)?;
    let r = gallery_ref(&path);
    s.core.authorize(&claims, &r.id(), galleon_model::rbac::Action::Authorize).await?;
    let groups: Vec<(String, Vec<String>)> = body.groups.into_iter().map(|g| (g.kind, g.ids)).collect();
    let op = s.core.share_gallery(&r, body.operation_type.as_deref(), &groups).await?;
    Ok(lro::delete_started(&base, api, Some(op)))
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
