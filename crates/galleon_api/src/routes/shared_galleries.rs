//! The consumer's side of direct sharing and community galleries: `…/locations/{location}/sharedGalleries[/{u}[/images[/{i}
//! [/versions[/{v}]]]]]`, read-only. The subscription in the path is the consumer's (the caller
//! needs a role in it, as for any read there); what is shared with it is decided by the core.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use galleon_api_types::List;
use galleon_api_types::shared;
use galleon_core::auth::Claims;
use galleon_core::sharing::Consumer;

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, COMPUTE_GALLERY, query_param};
use crate::error::ApiError;
use crate::extract::{ArmPath, BaseUrl, ListQuery};

const TYPE: &str = "Microsoft.Compute/locations/sharedGalleries";
const COMMUNITY: &str = "Microsoft.Compute/locations/communityGalleries";

fn consumer<'a>(sub: &'a str, claims: &'a Claims, uri: &Uri) -> Consumer<'a> {
    let by_tenant = query_param(uri.query(), "sharedTo").is_some_and(|v| v.eq_ignore_ascii_case("tenant"));
    Consumer { subscription: sub, tenant: &claims.tid, by_tenant }
}

pub(super) async fn list_galleries(
    State(s): State<AppState>,
    api: ApiVersion,
    axum::Extension(claims): axum::Extension<Claims>,
    ArmPath((sub, location)): ArmPath<(String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    let galleries = s.core.shared_galleries(consumer(&sub, &claims, &uri), &location).await?;
    Ok(Json(List { value: galleries.iter().map(|g| shared::gallery(g)).collect(), next_link: None }).into_response())
}

pub(super) async fn get_gallery(
    State(s): State<AppState>,
    api: ApiVersion,
    axum::Extension(claims): axum::Extension<Claims>,
    ArmPath((sub, location, u)): ArmPath<(String, String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    let g = s.core.shared_gallery(consumer(&sub, &claims, &uri), &location, &u).await?;
    Ok(Json(shared::gallery(&g)).into_response())
}

pub(super) async fn list_images(
    State(s): State<AppState>,
    api: ApiVersion,
    axum::Extension(claims): axum::Extension<Claims>,
    ArmPath((sub, location, u)): ArmPath<(String, String, String)>,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    let page = s.core.shared_images(consumer(&sub, &claims, &uri), &location, &u, &q.page).await?;
    Ok(list_response(&base, &uri, page, |d| shared::image(&u, d)))
}

pub(super) async fn get_image(
    State(s): State<AppState>,
    api: ApiVersion,
    axum::Extension(claims): axum::Extension<Claims>,
    ArmPath((sub, location, u, i)): ArmPath<(String, String, String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    let d = s.core.shared_image(consumer(&sub, &claims, &uri), &location, &u, &i).await?;
    Ok(Json(shared::image(&u, &d)).into_response())
}

pub(super) async fn list_versions(
    State(s): State<AppState>,
    api: ApiVersion,
    axum::Extension(claims): axum::Extension<Claims>,
    ArmPath((sub, location, u, i)): ArmPath<(String, String, String, String)>,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    let page = s.core.shared_versions(consumer(&sub, &claims, &uri), &location, &u, &i, &q.page).await?;
    Ok(list_response(&base, &uri, page, |v| shared::version(&u, &i, v)))
}

pub(super) async fn get_version(
    State(s): State<AppState>,
    api: ApiVersion,
    axum::Extension(claims): axum::Extension<Claims>,
    ArmPath((sub, location, u, i, v)): ArmPath<(String, String, String, String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    let version = s.core.shared_version(consumer(&sub, &claims, &uri), &location, &u, &i, &v).await?;
    Ok(Json(shared::version(&u, &i, &version)).into_response())
}

// Community galleries: anyone signed in reads a published one.

pub(super) async fn get_community_gallery(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((_sub, location, p)): ArmPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, COMMUNITY)?;
    let g = s.core.community_gallery(&location, &p).await?;
    Ok(Json(shared::community_gallery(&p, &g)).into_response())
}

pub(super) async fn list_community_images(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((_sub, location, p)): ArmPath<(String, String, String)>,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, COMMUNITY)?;
    let u = s.core.community_gallery(&location, &p).await?.properties.unique_name;
    let page = s.core.community_images(&location, &p, &q.page).await?;
    Ok(list_response(&base, &uri, page, |d| shared::community(shared::image(&u, d), &p, &u)))
}

pub(super) async fn get_community_image(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((_sub, location, p, i)): ArmPath<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, COMMUNITY)?;
    let u = s.core.community_gallery(&location, &p).await?.properties.unique_name;
    let d = s.core.community_image(&location, &p, &i).await?;
    Ok(Json(shared::community(shared::image(&u, &d), &p, &u)).into_response())
}

pub(super) async fn list_community_versions(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((_sub, location, p, i)): ArmPath<(String, String, String, String)>,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, COMMUNITY)?;
    let u = s.core.community_gallery(&location, &p).await?.properties.unique_name;
    let page = s.core.community_versions(&location, &p, &i, &q.page).await?;
    Ok(list_response(&base, &uri, page, |v| shared::community(shared::version(&u, &i, v), &p, &u)))
}

pub(super) async fn get_community_version(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((_sub, location, p, i, v)): ArmPath<(String, String, String, String, String)>,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, COMMUNITY)?;
    let u = s.core.community_gallery(&location, &p).await?.properties.unique_name;
    let version = s.core.community_version(&location, &p, &i, &v).await?;
    Ok(Json(shared::community(shared::version(&u, &i, &version), &p, &u)).into_response())
}
