//! Bearer-token authentication for every ARM route.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use galleon_model::rbac::Action;

use crate::AppState;
use crate::error::ApiError;

/// Refuses requests without a valid bearer token (401, ARM codes); puts the claims in the
/// request extensions for handlers that need the caller.
pub(crate) async fn require_bearer(State(state): State<AppState>, req: Request, next: Next) -> Response {
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
    match state.core.authenticate(token) {
        Ok(claims) => {
            let caller = crate::middleware::Caller(claims.clone());
            let mut resp = authorized(&state, claims, req, next).await;
            resp.extensions_mut().insert(caller);
            resp
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Runs the request if `claims` may make it, else answers 403.
async fn authorized(state: &AppState, claims: galleon_core::auth::Claims, mut req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let filtered = match authorize(state, &claims, &method, &path).await {
        Ok(()) => false,
        // As ARM: a list the caller may not read whole shows the items it may read.
        Err(galleon_core::CoreError::Forbidden(m)) => match list_scope(&method, &path) {
            Some(scope) if state.core.has_role_under(&claims.oid, &scope).await.unwrap_or(false) => true,
            _ => return ApiError::from(galleon_core::CoreError::Forbidden(m)).into_response(),
        },
        Err(e) => return ApiError::from(e).into_response(),
    };
    req.extensions_mut().insert(claims.clone());
    let resp = next.run(req).await;
    if filtered { readable_items(state, &claims, resp).await } else { resp }
}

const AUTHZ: &str = "/providers/microsoft.authorization/";

/// For a GET of a collection, the scope that contains its items: the resource group or
/// subscription of a top-level type's list, the parent of a nested type's list.
fn list_scope(method: &Method, path: &str) -> Option<String> {
    if *method != Method::GET {
        return None;
    }
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

/// What a request needs (paths are normalised: fixed segments are lowercase).
async fn authorize(
    state: &AppState,
    claims: &galleon_core::auth::Claims,
    method: &Method,
    path: &str,
) -> Result<(), galleon_core::CoreError> {
    let read = matches!(*method, Method::GET | Method::HEAD);
    // Lists of subscriptions and tenants are filtered by the handlers instead.
    if path == "/subscriptions" || path.starts_with("/tenants") {
        return Ok(());
    }
    let sub = path.strip_prefix("/subscriptions/").and_then(|p| p.split('/').next()).unwrap_or_default();
    // As in ARM, an unknown subscription is a 404 (from the handler) before any authorization.
    if !sub.is_empty() && state.core.require_subscription(sub).await.is_err() {
        return Ok(());
    }
    // Operation status, the activity log (filtered to what the caller may read) and the
    // subscription itself: anyone with a role in the subscription.
    if path.contains("/capsoperations/")
        || path.starts_with(&format!("/subscriptions/{sub}/providers/microsoft.insights/eventtypes/"))
        || path.trim_end_matches('/') == format!("/subscriptions/{sub}")
    {
        return if state.core.has_any_role_in(&claims.oid, sub).await? {
            Ok(())
        } else {
            state.core.authorize(claims, &format!("/subscriptions/{sub}"), Action::Read).await
        };
    }
    // Published community galleries: anyone signed in, whatever their roles (the core shows
    // only galleries whose owner published them).
    if path.starts_with(&format!("/subscriptions/{sub}/providers/microsoft.compute/locations/"))
        && path.contains("/communitygalleries/")
        && matches!(*method, Method::GET | Method::HEAD)
    {
        return Ok(());
    }
    // Resource Graph (answered for published community galleries only): anyone signed in.
    if path == "/providers/microsoft.resourcegraph/resources" {
        return Ok(());
    }
    // Provider metadata and locations: anyone signed in (in the subscription, for its own view).
    let segments = path.trim_end_matches('/').split('/').count();
    if path == "/providers" || (path.starts_with("/providers/") && segments == 3) {
        return Ok(());
    }
    let own = format!("/subscriptions/{sub}");
    let metadata = path == format!("{own}/providers")
        || path == format!("{own}/locations")
        || (path.starts_with(&format!("{own}/providers/")) && segments == 5);
    if metadata {
        return if state.core.has_any_role_in(&claims.oid, sub).await? {
            Ok(())
        } else {
            state.core.authorize(claims, &own, Action::Read).await
        };
    }
    // galleon's own administration (principals, subscriptions, scrub): the tenant's Owner only,
    // never an Owner of a narrower scope.
    if path.starts_with("/galleon/") || path == "/metrics" {
        return state.core.authorize_admin(claims).await;
    }
    if let Some(at) = path.find(AUTHZ) {
        let scope = if at == 0 { galleon_core::rbac::ROOT_SCOPE } else { &path[..at] };
        let action = if read { Action::Read } else { Action::Authorize };
        return state.core.authorize(claims, scope, action).await;
    }
    state.core.authorize(claims, path, if read { Action::Read } else { Action::Write }).await
}

/// As [`require_read_of`], except that `/SharedGalleries/…` sources are checked against their
/// gallery's sharing with `subscription` (where the resource is made) or the caller's tenant.
pub(crate) async fn require_read_or_shared<'a>(
    state: &AppState,
    claims: &galleon_core::auth::Claims,
    subscription: &str,
    sources: impl IntoIterator<Item = &'a str>,
    target: &str,
) -> Result<(), ApiError> {
    let (shared, own): (Vec<&str>, Vec<&str>) =
        sources.into_iter().partition(|id| galleon_core::sharing::is_shared_id(id));
    require_read_of(state, claims, own).await?;
    for id in shared {
        let who = galleon_core::sharing::Consumer { subscription, tenant: &claims.tid, by_tenant: false };
        state.core.resolve_shared_source(who, id, target).await?;
    }
    Ok(())
}

/// Refuses a create that names a source (an image version, disk, snapshot, managed image, VM)
/// the caller cannot read: sharing a gallery means Reader on it, and that is what using its
/// versions takes.
pub(crate) async fn require_read_of<'a>(
    state: &AppState,
    claims: &galleon_core::auth::Claims,
    sources: impl IntoIterator<Item = &'a str>,
) -> Result<(), ApiError> {
    for id in sources {
        let Some(sub) = id.strip_prefix("/subscriptions/").and_then(|p| p.split('/').next()) else { continue };
        // A source in an unknown subscription does not exist; the use case says so (404/400).
        if state.core.require_subscription(sub).await.is_err() {
            continue;
        }
        if let Err(e) = state.core.authorize(claims, id, Action::Read).await {
            // ARM names a refused check on a linked resource apart from one on the target.
            return Err(match e {
                galleon_core::CoreError::Forbidden(message) => {
                    ApiError::new(StatusCode::FORBIDDEN, "LinkedAuthorizationFailed", message)
                }
                other => other.into(),
            });
        }
    }
    Ok(())
}
