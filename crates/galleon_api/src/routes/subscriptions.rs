//! `GET /subscriptions`, `GET /subscriptions/{id}` and `GET /tenants`, as `az login` reads them.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use galleon_core::Subscription;
use serde_json::{Value, json};

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, SUBSCRIPTIONS};
use crate::error::ApiError;
use crate::extract::{ArmPath, BaseUrl, ListQuery};

const TYPE: &str = "Microsoft.Resources/subscriptions";

fn to_wire(s: &Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": { "locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off" },
    })
}

pub(super) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
) -> Result<Response, ApiError> {
    api.require(SUBSCRIPTIONS, TYPE)?;
    let mut page = s.core.list_subscriptions(&q.page).await?;
    // A principal sees only the subscriptions where it holds a role.
    let mut visible = Vec::new();
    for sub in page.items {
        if s.core.has_any_role_in(&claims.oid, &sub.id).await? {
            visible.push(sub);
        }
    }
    page.items = visible;
    Ok(list_response(&base, &uri, page, to_wire))
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(sub): ArmPath<String>,
) -> Result<Response, ApiError> {
    api.require(SUBSCRIPTIONS, TYPE)?;
    Ok(Json(to_wire(&s.core.require_subscription(&sub).await?)).into_response())
}

pub(super) async fn tenants(State(s): State<AppState>, api: ApiVersion) -> Result<Response, ApiError> {
    api.require(SUBSCRIPTIONS, "Microsoft.Resources/tenants")?;
    let tenant = &s.core.config().tenant_id;
    Ok(Json(json!({ "value": [{
        "id": format!("/tenants/{tenant}"),
        "tenantId": tenant,
        "tenantCategory": "Home",
        "displayName": "galleon",
        "defaultDomain": "galleon.local",
    }]}))
    .into_response())
}
