//! Bearer-token authentication for every ARM route.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// Refuses requests without a valid bearer token (401, ARM codes); puts the claims in the
/// request extensions for handlers that need the caller.
pub(crate) async fn require_bearer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
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
            req.extensions_mut().insert(claims);
            next.run(req).await
        }
        Err(e) => {
            let message = e.to_string();
            let code =
                if message.contains("expired") { "ExpiredAuthenticationToken" } else { "InvalidAuthenticationToken" };
            ApiError::unauthorized(code, message).into_response()
        }
    }
}
