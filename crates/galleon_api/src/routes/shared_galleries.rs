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
    let prefix = shared::gallery_unique_id(&u);
    Ok(list_response(&base, &uri, page, |d| shared::image(&prefix, d)))
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
    Ok(Json(shared::image(&shared::gallery_unique_id(&u), &d)).into_response())
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
    let prefix = shared::gallery_unique_id(&u);
    Ok(list_response(&base, &uri, page, |v| shared::version(&prefix, &i, v)))
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
    Ok(Json(shared::version(&shared::gallery_unique_id(&u), &i, &version)).into_response())
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
    let page = s.core.community_images(&location, &p, &q.page).await?;
    let prefix = shared::community_unique_id(&p);
    Ok(list_response(&base, &uri, page, |d| shared::community(shared::image(&prefix, d))))
}

pub(super) async fn get_community_image(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((_sub, location, p, i)): ArmPath<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, COMMUNITY)?;
    let d = s.core.community_image(&location, &p, &i).await?;
    Ok(Json(shared::community(shared::image(&shared::community_unique_id(&p), &d))).into_response())
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
    let page = s.core.community_versions(&location, &p, &i, &q.page).await?;
    let prefix = shared::community_unique_id(&p);
    Ok(list_response(&base, &uri, page, |v| shared::community(shared::version(&prefix, &i, v))))
}

pub(super) async fn get_community_version(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((_sub, location, p, i, v)): ArmPath<(String, String, String, String, String)>,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, COMMUNITY)?;
    let version = s.core.community_version(&location, &p, &i, &v).await?;
    Ok(Json(shared::community(shared::version(&shared::community_unique_id(&p), &i, &version))).into_response())
}

/// The one Resource Graph query az sends (`az sig list-community`): community galleries, of a
/// region when it says so. Its location, or `None` for all; anything else is not answered.
fn community_query(query: &str) -> Option<Option<String>> {
    let mut parts = query.split('|').map(str::trim).filter(|p| !p.is_empty());
    if !parts.next()?.eq_ignore_ascii_case("communitygalleryresources") {
        return None;
    }
    let mut location = None;
    for clause in parts {
        let rest = clause.strip_prefix("where ")?.trim();
        let (field, value) = rest.split_once("==")?;
        let value = value.trim().trim_matches('\'').to_string();
        match field.trim() {
            "type" if value.eq_ignore_ascii_case("microsoft.compute/locations/communitygalleries") => {}
            "location" => location = Some(value),
            _ => return None,
        }
    }
    Some(location)
}

/// `POST /providers/Microsoft.ResourceGraph/resources`, for community galleries only.
pub(super) async fn resource_graph(
    State(s): State<AppState>,
    crate::extract::ArmJson(body): crate::extract::ArmJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let query = body["query"].as_str().unwrap_or_default();
    let Some(location) = community_query(query) else {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "BadRequest",
            "galleon answers Resource Graph queries for community galleries only: communitygalleryresources | where type == 'microsoft.compute/locations/communitygalleries' [| where location == '…'].",
        ));
    };
    let top = body["options"]["$top"].as_u64().unwrap_or(100).clamp(1, 1000) as usize;
    let skip = body["options"]["$skipToken"].as_str().and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
    let all = s.core.community_galleries(location.as_deref()).await?;
    let data: Vec<serde_json::Value> = all
        .iter()
        .skip(skip)
        .take(top)
        .map(|(p, g)| {
            let view = shared::community_gallery(p, g);
            serde_json::json!({
                "id": format!("/providers/Microsoft.Compute/locations/{}/CommunityGalleries/{p}", g.location),
                "name": p, "type": "microsoft.compute/locations/communitygalleries", "tenantId": "", "kind": "",
                "location": g.location, "resourceGroup": "", "subscriptionId": "", "managedBy": "", "sku": null,
                "plan": null, "properties": view, "tags": null, "identity": null, "zones": null, "extendedLocation": null,
            })
        })
        .collect();
    let mut answer = serde_json::json!({ "totalRecords": all.len(), "count": data.len(), "data": data });
    if skip + top < all.len() {
        answer["$skipToken"] = (skip + top).to_string().into();
    }
    Ok(Json(answer).into_response())
}

#[cfg(test)]
mod tests {
    use super::community_query;

    #[test]
    fn only_the_community_query_is_answered() {
        let az = "communitygalleryresources| where type == 'microsoft.compute/locations/communitygalleries' | where location == 'eastus2' ";
        assert_eq!(community_query(az), Some(Some("eastus2".into())));
        assert_eq!(
            community_query(
                "communitygalleryresources| where type == 'microsoft.compute/locations/communitygalleries'"
            ),
            Some(None)
        );
        assert_eq!(community_query("resources | where type == 'microsoft.compute/galleries'"), None);
        assert_eq!(community_query("communitygalleryresources | project name"), None);
    }
}
