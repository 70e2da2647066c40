//! A small Microsoft Graph surface at galleon's own URL (its cloud's `microsoftGraphResourceId`):
//! the directory lookups `az role assignment create --assignee …` and `az role assignment list`
//! make. galleon's directory holds service principals only: user and group queries answer an
//! empty list. Any principal of the tenant may read it, as in Entra ID.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use galleon_core::auth::Principal;
use serde_json::{Value, json};

use crate::AppState;
use crate::api_version::query_param;
use crate::extract::BaseUrl;

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

/// A request without a valid Graph token: 401 in Graph's error shape.
struct Unauthenticated(String);

impl IntoResponse for Unauthenticated {
    fn into_response(self) -> Response {
        graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", &self.0)
    }
}

/// The caller must hold a Graph token from galleon's token endpoint.
fn check_caller(s: &AppState, headers: &HeaderMap, base: &str) -> Result<(), Unauthenticated> {
    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")));
    let Some(token) = token else {
        return Err(Unauthenticated(galleon_core::auth::AuthError::MissingToken.to_string()));
    };
    s.core.authenticate_graph(token.trim(), base).map(drop).map_err(|e| Unauthenticated(e.to_string()))
}

fn wire(p: &Principal) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": p.object_id,
        "appId": p.client_id,
        "displayName": p.display_name,
        "servicePrincipalNames": [p.client_id],
        "servicePrincipalType": "Application",
        "accountEnabled": true,
    })
}

/// What a `$filter` selects: `servicePrincipalNames/any(c:c eq 'x')` and `appId eq 'x'` (the
/// app id is a principal's only service principal name), `displayName eq 'x'`, `id eq 'x'`.
enum Selector {
    AppId(String),
    DisplayName(String),
    ObjectId(String),
}

impl Selector {
    fn parse(expr: &str) -> Option<Self> {
        let value =
            expr.split_once('\'').and_then(|(_, rest)| rest.rsplit_once('\'')).map(|(v, _)| v.replace("''", "'"))?;
        let field = expr.to_ascii_lowercase();
        if field.starts_with("serviceprincipalnames/any(") || field.starts_with("appid ") {
            Some(Self::AppId(value))
        } else if field.starts_with("displayname ") {
            Some(Self::DisplayName(value))
        } else if field.starts_with("id ") {
            Some(Self::ObjectId(value))
        } else {
            None
        }
    }

    fn matches(&self, p: &Principal) -> bool {
        match self {
            Self::AppId(v) => p.client_id.eq_ignore_ascii_case(v),
            Self::DisplayName(v) => p.display_name == *v,
            Self::ObjectId(v) => p.object_id.eq_ignore_ascii_case(v),
        }
    }
}

/// `GET /v1.0/servicePrincipals[?$filter=…]`.
pub(super) async fn service_principals(
    State(s): State<AppState>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Err(refused) = check_caller(&s, &headers, &base) {
        return refused.into_response();
    }
    let all = match s.core.list_principals().await {
        Ok(all) => all,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let selected: Vec<Value> = match query_param(uri.query(), "$filter") {
        None => all.iter().map(wire).collect(),
        Some(expr) => match Selector::parse(&expr) {
            Some(selector) => all.iter().filter(|p| selector.matches(p)).map(wire).collect(),
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    &format!(
                        "Unsupported query: '{expr}'. galleon filters service principals by servicePrincipalNames, appId, displayName or id."
                    ),
                );
            }
        },
    };
    Json(json!({ "@odata.context": format!("{base}/v1.0/$metadata#servicePrincipals"), "value": selected }))
        .into_response()
}

/// `GET /v1.0/servicePrincipals/{id}` (object id or `(appId='…')`).
pub(super) async fn service_principal(
    State(s): State<AppState>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = check_caller(&s, &headers, &base) {
        return refused.into_response();
    }
    let app_id = id.strip_prefix("(appId='").and_then(|r| r.strip_suffix("')"));
    match s.core.list_principals().await {
        Ok(all) => all
            .iter()
            .find(|p| match app_id {
                Some(a) => p.client_id.eq_ignore_ascii_case(a),
                None => p.object_id.eq_ignore_ascii_case(&id),
            })
            .map_or_else(
                || {
                    graph_error(
                        StatusCode::NOT_FOUND,
                        "Request_ResourceNotFound",
                        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
                    )
                },
                |p| Json(wire(p)).into_response(),
            ),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

/// `POST /v1.0/directoryObjects/getByIds` with `{"ids": [...]}`.
pub(super) async fn get_by_ids(
    State(s): State<AppState>,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = check_caller(&s, &headers, &base) {
        return refused.into_response();
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "The request body is not valid JSON.");
    };
    let ids: Vec<String> =
        req["ids"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect();
    match s.core.list_principals().await {
        Ok(all) => {
            let found: Vec<Value> =
                all.iter().filter(|p| ids.contains(&p.object_id.to_ascii_lowercase())).map(wire).collect();
            Json(json!({ "value": found })).into_response()
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

/// `GET /v1.0/users` and `/v1.0/groups`: galleon's directory has neither.
pub(super) async fn none(State(s): State<AppState>, BaseUrl(base): BaseUrl, headers: HeaderMap) -> Response {
    if let Err(refused) = check_caller(&s, &headers, &base) {
        return refused.into_response();
    }
    Json(json!({ "value": [] })).into_response()
}
