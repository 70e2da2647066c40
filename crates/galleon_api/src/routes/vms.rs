//! `Microsoft.Compute/virtualMachines`: records that own disks, with power actions and
//! `generalize` (galleon does not run guests).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use galleon_api_types::vm::{TYPE, VmResource, instance_view, to_request, to_wire};
use galleon_core::Envelope;
use galleon_model::GroupRef;

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, COMPUTE_RP};
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath, BaseUrl, ListQuery, ListScope};
use crate::lro;

type VmPath = ArmPath<(String, String, String)>;

pub(super) async fn put(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): VmPath,
    BaseUrl(base): BaseUrl,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
    ArmJson(body): ArmJson<VmResource>,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_RP, TYPE)?;
    let env = Envelope::new(body.location, body.tags)?;
    let req = s.core.check_links(&claims, &sub, to_request(body.properties.unwrap_or_default())).await?;
    let accepted = s.core.put_vm(&GroupRef::new(&sub, &rg), &name, env, req).await?;
    Ok(lro::accepted(&base, api, &accepted, to_wire(&accepted.resource, false)))
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): VmPath,
    q: ListQuery,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_RP, TYPE)?;
    let expand = q.expand.as_deref().is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
    Ok(Json(to_wire(&s.core.get_vm(&GroupRef::new(&sub, &rg), &name).await?, expand)).into_response())
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
    let page = s.core.list_vms(&scope.sub, scope.group.as_ref(), &q.page).await?;
    Ok(list_response(&base, &uri, page, |v| to_wire(v, false)))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): VmPath,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_RP, TYPE)?;
    let op = s.core.delete_vm(&GroupRef::new(&sub, &rg), &name).await?;
    Ok(lro::delete_started(&base, api, op))
}

/// `GET …/instanceView`.
pub(super) async fn get_instance_view(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name, what)): ArmPath<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_RP, TYPE)?;
    if what != "instanceview" {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("The requested path '…/{what}' was not found."),
        ));
    }
    Ok(Json(instance_view(&s.core.get_vm(&GroupRef::new(&sub, &rg), &name).await?)).into_response())
}

/// `POST …/powerOff|deallocate|start|restart|generalize`.
pub(super) async fn action(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name, action)): ArmPath<(String, String, String, String)>,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let api = api.require(COMPUTE_RP, TYPE)?;
    let op = s.core.vm_action(&GroupRef::new(&sub, &rg), &name, &action).await?;
    // Azure answers generalize synchronously, the power actions as long-running operations.
    Ok(if action == "generalize" { StatusCode::OK.into_response() } else { lro::delete_started(&base, api, Some(op)) })
}
