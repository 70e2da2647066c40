//! Bearer-token authentication and declared authorization for every ARM route: each route says
//! what its caller needs ([`Need`], given with the route in `routes::arm_table`), and one
//! middleware enforces it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use galleon_model::rbac::Action;

use crate::AppState;
use crate::error::ApiError;

/// What a route needs from its caller beyond a valid token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The resource the path names: `read` for GET and HEAD, `write` for PUT, PATCH, POST
    /// (actions) and DELETE, at the path's scope (a role there or above).
    Resource,
    /// A list: `read` on the path; without it, the items the caller may read (as ARM filters a
    /// list the caller cannot read whole), if it holds a role somewhere under the list's scope.
    Collection,
    /// Anyone with a role in the path's subscription: operation status, the activity log
    /// (filtered to what the caller may read), the subscription and its provider metadata.
    Member,
    /// Anyone signed in: the handler shows only what is the caller's or public (its
    /// subscriptions and tenants, provider metadata, published community galleries).
    SignedIn,
    /// Role assignments and definitions at the scope before `/providers/Microsoft.Authorization`:
    /// `read` to read them, `Microsoft.Authorization/roleAssignments/write` to change them.
    RoleAssignments,
    /// galleon's own administration: the tenant's Owner only, never an Owner of a narrower scope.
    Admin,
}

/// Each ARM route pattern's need.
pub(crate) type Needs = Arc<HashMap<String, Need>>;

/// Refuses requests without a valid bearer token (401, ARM codes) or without what their route
/// needs (403); puts the claims in the request extensions for handlers that need the caller.
pub(crate) async fn require_bearer(
    State((state, needs)): State<(AppState, Needs)>,
    req: Request,
    next: Next,
) -> Response {
    let header = req.headers().get(AUTHORIZATION).and_then(|h| h.to_str().ok());
    let Some(header) = header else {
        return ApiError::unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
        .into_response();
    };
    let token = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return ApiError::unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )
        .into_response();
    };
    let claims = match state.core.authenticate(token) {
        Ok(claims) => claims,
        Err(e) => return ApiError::from(e).into_response(),
    };
    // Every route in the table declared its need; anything else is refused, never let through.
    let need = req.extensions().get::<MatchedPath>().and_then(|m| needs.get(m.as_str())).copied();
    let Some(need) = need else {
        return ApiError::new(StatusCode::FORBIDDEN, "AuthorizationFailed", "This route declares no authorization.")
            .into_response();
    };
    let caller = crate::middleware::Caller(claims.clone());
    let mut resp = authorized(&state, need, claims, req, next).await;
    resp.extensions_mut().insert(caller);
    resp
}

/// Runs the request if `claims` may make it, else answers 403.
async fn authorized(
    state: &AppState,
    need: Need,
    claims: galleon_core::auth::Claims,
    mut req: Request,
    next: Next,
) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let filtered = match authorize(state, &claims, need, &method, &path).await {
        Ok(()) => false,
        // As ARM: a list the caller may not read whole shows the items it may read.
        Err(galleon_core::CoreError::Forbidden(m)) => match (need, list_scope(&path)) {
            (Need::Collection, Some(scope))
                if state.core.has_role_under(&claims.oid, &scope).await.unwrap_or(false) =>
            {
                true
            }
            _ => return ApiError::from(galleon_core::CoreError::Forbidden(m)).into_response(),
        },
        Err(e) => return ApiError::from(e).into_response(),
    };
    req.extensions_mut().insert(claims.clone());
    let resp = next.run(req).await;
    if filtered { readable_items(state, &claims, resp).await } else { resp }
}

const AUTHZ: &str = "/providers/microsoft.authorization/";

/// For a collection, the scope that contains its items: the resource group or subscription of
/// a top-level type's list, the parent of a nested type's list.
fn list_scope(path: &str) -> Option<String> {
    let path = path.trim_end_matches('/');
    if let Some(at) = path.rfind("/providers/") {
        let after: Vec<&str> = path[at + "/providers/".len()..].split('/').collect();
        // namespace, then type/name pairs: an even count after the namespace names one resource.
        if after.len() < 2 || after.len() % 2 == 1 {
            return None;
        }
        return Some(if after.len() == 2 { path[..at].to_string() } else { path[..path.rfind('/')?].to_string() });
    }
    let (parent, last) = path.rsplit_once('/')?;
    matches!(last, "resourcegroups" | "resources").then(|| parent.to_string())
}

/// Keeps the items of a list answer (`value[]`) the caller may read.
async fn readable_items(state: &AppState, claims: &galleon_core::auth::Claims, resp: Response) -> Response {
    if !resp.status().is_success() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "The list could not be read.")
            .into_response();
    };
    let Ok(mut list) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    if let Some(items) = list.get_mut("value").and_then(|v| v.as_array_mut()) {
        let ids: Vec<&str> = items.iter().map(|i| i.get("id").and_then(|v| v.as_str()).unwrap_or_default()).collect();
        let Ok(readable) = state.core.readable(claims, &ids).await else {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "The list could not be read.",
            )
            .into_response();
        };
        let mut keep = readable.into_iter();
        items.retain(|_| keep.next().unwrap_or(false));
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(list.to_string()))
}

/// Whether `claims` may make a request to `path` that needs `need` (paths are normalised:
/// fixed segments are lowercase).
async fn authorize(
    state: &AppState,
    claims: &galleon_core::auth::Claims,
    need: Need,
    method: &Method,
    path: &str,
) -> Result<(), galleon_core::CoreError> {
    let read = matches!(*method, Method::GET | Method::HEAD);
    let sub = path.strip_prefix("/subscriptions/").and_then(|p| p.split('/').next()).unwrap_or_default();
    // As in ARM, an unknown subscription is a 404 (from the handler) before any authorization.
    let unknown = !sub.is_empty() && state.core.require_subscription(sub).await.is_err();
    match need {
        Need::SignedIn => Ok(()),
        Need::Admin => state.core.authorize_admin(claims).await,
        _ if unknown => Ok(()),
        Need::Member => {
            if state.core.has_any_role_in(&claims.oid, sub).await? {
                Ok(())
            } else {
                state.core.authorize(claims, &format!("/subscriptions/{sub}"), Action::Read).await
            }
        }
        Need::RoleAssignments => {
            let at = path.find(AUTHZ).unwrap_or(0);
            let scope = if at == 0 { galleon_core::rbac::ROOT_SCOPE } else { &path[..at] };
            state.core.authorize(claims, scope, if read { Action::Read } else { Action::Authorize }).await
        }
        Need::Resource | Need::Collection => {
            state.core.authorize(claims, path, if read { Action::Read } else { Action::Write }).await
        }
    }
}
