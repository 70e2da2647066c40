//! `Microsoft.Compute/galleries/images/versions` (image versions).

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use galleon_api_types::version::{TYPE, VersionResource, to_request, to_wire};
use galleon_core::Envelope;
use galleon_model::{GroupRef, VersionRef};

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, COMPUTE_GALLERY};
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath, BaseUrl, ListQuery};
use crate::lro;

type VersionPath = ArmPath<(String, String, String, String, String)>;

fn version_ref((sub, rg, g, i, v): &(String, String, String, String, String)) -> VersionRef {
    GroupRef::new(sub, rg).gallery(g).image(i).version(v)
}

fn wants_replication_status(q: &ListQuery) -> bool {
    q.expand.as_deref().is_some_and(|e| e.split(',').any(|x| x.trim().eq_ignore_ascii_case("ReplicationStatus")))
}

async fn write(
    s: AppState,
    api: ApiVersion,
    path: (String, String, String, String, String),
    base: String,
    body: VersionResource,
    patch: bool,
    claims: galleon_core::auth::Claims,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_GALLERY, TYPE)?;
    let req = to_request(body.properties.unwrap_or_default())?;
    let (sub, ..) = &path;
    let req = s.core.check_links(&claims, sub, req).await?;
    let env = Envelope::new(body.location, body.tags)?;
    let accepted = s.core.put_version(&version_ref(&path), env, req, patch, Some(&claims.oid)).await?;
    Ok(lro::accepted(&base, api, &accepted, to_wire(&accepted.resource, api, false)))
}

/// PUT and PATCH: the same flow, a PATCH changing only what it names.
pub(super) async fn put_or_patch(
    method: Method,
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): VersionPath,
    BaseUrl(base): BaseUrl,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
    ArmJson(body): ArmJson<VersionResource>,
) -> Result<Response, ApiError> {
    write(s, api, path, base, body, method == Method::PATCH, claims).await
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): VersionPath,
    q: ListQuery,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_GALLERY, TYPE)?;
    let version = s.core.get_version(&version_ref(&path)).await?;
    Ok(Json(to_wire(&version, api, wants_replication_status(&q))).into_response())
}

pub(super) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, g, i)): ArmPath<(String, String, String, String)>,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_GALLERY, TYPE)?;
    let expand = wants_replication_status(&q);
    let page = s.core.list_versions(&GroupRef::new(&sub, &rg).gallery(&g).image(&i), &q.page).await?;
    Ok(list_response(&base, &uri, page, |v| to_wire(v, api, expand)))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(path): VersionPath,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_GALLERY, TYPE)?;
    let op = s.core.delete_version(&version_ref(&path)).await?;
    Ok(lro::delete_started(&base, api, op))
}
