//! `Microsoft.Compute/disks` and `Microsoft.Compute/snapshots` (one set of handlers; the path
//! says which), with `beginGetAccess` and `endGetAccess`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use galleon_api_types::disk::{DiskResource, to_request, to_wire};
use galleon_core::{DiskKind, DiskRef, Envelope};
use galleon_model::GroupRef;
use serde::Deserialize;

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, DISKS};
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath, BaseUrl, ListQuery, ListScope};
use crate::lro;

/// Which collection a path is in.
fn kind_of(uri: &Uri) -> DiskKind {
    if uri.path().contains("/microsoft.compute/snapshots") { DiskKind::Snapshot } else { DiskKind::Disk }
}

fn disk_ref(uri: &Uri, (sub, rg, name): &(String, String, String)) -> DiskRef {
    DiskRef { group: GroupRef::new(sub, rg), name: name.clone(), kind: kind_of(uri) }
}

type DiskPath = ArmPath<(String, String, String)>;

pub(super) async fn put(
    State(s): State<AppState>,
    api: ApiVersion,
    uri: Uri,
    ArmPath(path): DiskPath,
    BaseUrl(base): BaseUrl,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
    ArmJson(body): ArmJson<DiskResource>,
) -> Result<Response, ApiError> {
    let r = disk_ref(&uri, &path);
    let api = api.require(DISKS, r.kind.type_name())?;
    let env = Envelope::new(body.location.clone(), body.tags.clone())?;
    let req = s.core.check_links(&claims, &r.group.subscription, to_request(body)).await?;
    let accepted = s.core.put_disk(&r, env, req).await?;
    // Disks_CreateOrUpdate answers 200 or 202 (clients refuse a 201).
    Ok(lro::respond(&base, api, &accepted, to_wire(&accepted.resource, r.kind.type_name()), StatusCode::ACCEPTED))
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    uri: Uri,
    ArmPath(path): DiskPath,
) -> Result<Response, ApiError> {
    let r = disk_ref(&uri, &path);
    api.require(DISKS, r.kind.type_name())?;
    Ok(Json(to_wire(&s.core.get_disk(&r).await?, r.kind.type_name())).into_response())
}

/// A group's or a subscription's disks or snapshots.
pub(super) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    scope: ListScope,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    let kind = kind_of(&uri);
    api.require(DISKS, kind.type_name())?;
    let page = s.core.list_disks(&scope.sub, scope.group.as_ref(), kind, &q.page).await?;
    Ok(list_response(&base, &uri, page, |d| to_wire(d, kind.type_name())))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    uri: Uri,
    ArmPath(path): DiskPath,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let r = disk_ref(&uri, &path);
    let api = api.require(DISKS, r.kind.type_name())?;
    let op = s.core.delete_disk(&r).await?;
    Ok(lro::delete_started(&base, api, op))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GrantAccess {
    access: Option<String>,
    duration_in_seconds: Option<i64>,
}

/// `POST …/beginGetAccess`: 202 with the polling headers; the operation's result is `{"accessSAS": url}`.
pub(super) async fn begin_get_access(
    State(s): State<AppState>,
    api: ApiVersion,
    uri: Uri,
    ArmPath(path): DiskPath,
    BaseUrl(base): BaseUrl,
    ArmJson(body): ArmJson<GrantAccess>,
) -> Result<Response, ApiError> {
    let r = disk_ref(&uri, &path);
    let api = api.require(DISKS, r.kind.type_name())?;
    let make_url = |key: &str, secret: &str| format!("{base}/access/{key}/abcd?sv=2018-03-28&sr=b&sig={secret}");
    let op =
        s.core.begin_get_access(&r, body.access.as_deref(), body.duration_in_seconds.unwrap_or(3600), make_url).await?;
    Ok(lro::delete_started(&base, api, Some(op)))
}

/// `POST …/endGetAccess`.
pub(super) async fn end_get_access(
    State(s): State<AppState>,
    api: ApiVersion,
    uri: Uri,
    ArmPath(path): DiskPath,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let r = disk_ref(&uri, &path);
    let api = api.require(DISKS, r.kind.type_name())?;
    let op = s.core.end_get_access(&r).await?;
    Ok(lro::delete_started(&base, api, Some(op)))
}
