//! `Microsoft.Authorization/roleAssignments` at subscription, resource group, gallery and image
//! definition scope, as `az role assignment create --assignee-object-id … --role … --scope …`
//! sends them.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use galleon_core::rbac::RoleAssignment;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api_version::ApiVersion;
use crate::error::ApiError;

const SEGMENT: &str = "/providers/microsoft.authorization/roleassignments";

fn to_wire(a: &RoleAssignment) -> Value {
    // At the tenant root, role definitions are named without a subscription (as ARM does).
    let definitions = match a.scope.trim_start_matches('/').split('/').nth(1) {
        Some(sub) => format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions"),
        None => "/providers/Microsoft.Authorization/roleDefinitions".to_string(),
    };
    json!({
        "id": a.id,
        "name": a.name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": format!("{definitions}/{}", a.role.guid()),
            "roleDefinitionName": a.role.name(),
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope,
        }
    })
}

/// `(scope, name)` of an assignment path.
fn split(uri: &Uri) -> Result<(String, Option<String>), ApiError> {
    split_path(uri.path())
}

/// `(scope, name)` of an assignment path, in any casing.
fn split_path(path: &str) -> Result<(String, Option<String>), ApiError> {
    let at = path
        .to_ascii_lowercase()
        .find(SEGMENT)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "NotFound", "Not a role assignment path."))?;
    let rest = path[at + SEGMENT.len()..].trim_start_matches('/');
    let scope = if at == 0 { galleon_core::rbac::ROOT_SCOPE.to_string() } else { path[..at].to_string() };
    Ok((scope, (!rest.is_empty()).then(|| rest.to_string())))
}

#[derive(Deserialize)]
pub(super) struct Body {
    properties: Props,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Props {
    role_definition_id: String,
    principal_id: String,
    principal_type: Option<String>,
}

pub(super) async fn put(
    _api: ApiVersion,
    State(s): State<AppState>,
    uri: Uri,
    sent: Option<axum::Extension<crate::SentPath>>,
    crate::extract::ArmJson(body): crate::extract::ArmJson<Body>,
) -> Result<Response, ApiError> {
    // The scope keeps the casing the client sent (`resourceGroups`, `Microsoft.Compute`).
    let path = sent.map_or_else(|| uri.path().to_string(), |s| s.0.0.clone());
    let (scope, name) = split_path(&path)?;
    let name = name
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "InvalidParameter", "A role assignment needs a name."))?;
    let p = body.properties;
    let a = s
        .core
        .put_role_assignment(&scope, &name, &p.principal_id, &p.role_definition_id, p.principal_type.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(to_wire(&a))).into_response())
}

pub(super) async fn get(_api: ApiVersion, State(s): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    match split(&uri)? {
        (_, Some(_)) => Ok(Json(to_wire(&s.core.get_role_assignment(uri.path()).await?)).into_response()),
        (scope, None) => {
            let all = s.core.list_role_assignments(&scope).await?;
            Ok(Json(json!({ "value": all.iter().map(to_wire).collect::<Vec<_>>() })).into_response())
        }
    }
}

pub(super) async fn delete(_api: ApiVersion, State(s): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    match s.core.delete_role_assignment(uri.path()).await? {
        Some(a) => Ok(Json(to_wire(&a)).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}]`: the three built-in
/// roles (with `$filter=roleName eq '…'`, as `az role assignment create --role` asks).
pub(super) async fn role_definitions(uri: Uri) -> Result<Response, ApiError> {
    let path = uri.path();
    let at = path.find("/providers/microsoft.authorization/roledefinitions").unwrap_or(path.len());
    let sub = path[..at].trim_start_matches('/').split('/').nth(1).unwrap_or_default().to_string();
    let one = |role: galleon_model::rbac::Role| {
        json!({
            "id": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", role.guid()),
            "name": role.guid(),
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": { "roleName": role.name(), "type": "BuiltInRole", "assignableScopes": ["/"] },
        })
    };
    let rest =
        path[at..].trim_start_matches("/providers/microsoft.authorization/roledefinitions").trim_start_matches('/');
    if !rest.is_empty() {
        let role = galleon_model::rbac::Role::parse(rest).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "RoleDefinitionDoesNotExist",
                format!("The role definition '{rest}' does not exist."),
            )
        })?;
        return Ok(Json(one(role)).into_response());
    }
    let filter = crate::api_version::query_param(uri.query(), "$filter").unwrap_or_default();
    let wanted = filter.split('\'').nth(1).map(str::to_string);
    let roles = galleon_model::rbac::ROLE_IDS
        .iter()
        .map(|(r, _, _)| *r)
        .filter(|r| wanted.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(r.name())))
        .map(one)
        .collect::<Vec<_>>();
    Ok(Json(json!({ "value": roles })).into_response())
}
