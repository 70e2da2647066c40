//! Service principals, managed through galleon's own API (owners only; see `auth`): create (the
//! secret is shown once), list, reset the secret, delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use galleon_core::auth::{NewPrincipal, Principal};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath};

fn public(p: &Principal) -> Value {
    json!({ "clientId": p.client_id, "objectId": p.object_id, "displayName": p.display_name })
}

fn with_secret(n: &NewPrincipal, tenant: &str) -> Value {
    let mut v = public(&n.principal);
    v["clientSecret"] = json!(n.secret);
    v["tenantId"] = json!(tenant);
    v
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NewBody {
    display_name: Option<String>,
}

pub(super) async fn create(State(s): State<AppState>, ArmJson(body): ArmJson<NewBody>) -> Result<Response, ApiError> {
    let created = s.core.create_principal(body.display_name.as_deref().unwrap_or("service principal")).await?;
    Ok((StatusCode::CREATED, Json(with_secret(&created, &s.core.config().tenant_id))).into_response())
}

pub(super) async fn list(State(s): State<AppState>) -> Result<Response, ApiError> {
    let all = s.core.list_principals().await?;
    Ok(Json(json!({ "value": all.iter().map(public).collect::<Vec<_>>() })).into_response())
}

pub(super) async fn reset_secret(
    State(s): State<AppState>,
    ArmPath((client_id, action)): ArmPath<(String, String)>,
) -> Result<Response, ApiError> {
    if !action.eq_ignore_ascii_case("resetSecret") {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "NotFound", format!("Unknown action '{action}'.")));
    }
    match s.core.reset_secret(&client_id).await? {
        Some(p) => Ok(Json(with_secret(&p, &s.core.config().tenant_id)).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "PrincipalNotFound",
            format!("Principal '{client_id}' was not found."),
        )),
    }
}

pub(super) async fn delete(
    State(s): State<AppState>,
    ArmPath(client_id): ArmPath<String>,
) -> Result<Response, ApiError> {
    if s.core.delete_principal(&client_id).await? {
        Ok(StatusCode::OK.into_response())
    } else {
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NewSubscription {
    display_name: Option<String>,
}

/// `POST /galleon/subscriptions`: a new subscription; the caller becomes its Owner.
pub(super) async fn create_subscription(
    State(s): State<AppState>,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
    ArmJson(body): ArmJson<NewSubscription>,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let sub = s.core.ensure_subscription(&id, body.display_name.as_deref().unwrap_or("galleon")).await?;
    s.core.ensure_owner(&sub.id, &claims.oid).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "subscriptionId": sub.id, "displayName": sub.display_name, "tenantId": sub.tenant_id })),
    )
        .into_response())
}
