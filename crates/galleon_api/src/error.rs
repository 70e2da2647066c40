//! One error type for every failure the HTTP layer answers, and the one place that maps errors
//! to a status and an ARM code. Every failure, including malformed JSON, unknown routes and
//! wrong methods, leaves as the ARM envelope `{"error":{"code","message","target"}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use galleon_api_types::{ErrorBody, ErrorResponse};
use galleon_core::CoreError;
use galleon_core::auth::AuthError;
use galleon_core::content_error::ContentErrorKind;
use galleon_model::{Invalid, InvalidCode};

/// An error answer: status, ARM code, message and optional target.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// ARM code.
    pub code: String,
    /// Message.
    pub message: String,
    /// Offending field.
    pub target: Option<String>,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, code: code.to_string(), message: message.into(), target: None }
    }

    /// 400 `InvalidRequestContent`.
    pub fn bad_content(reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{reason}'."),
        )
    }

    /// 401 with ARM's code for the case.
    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
}

/// The OAuth answer (status, `error`) of a refused token request.
pub(crate) fn oauth_status(kind: &AuthError) -> (StatusCode, &'static str) {
    match kind {
        AuthError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable"),
        AuthError::UnknownResource(_) => (StatusCode::BAD_REQUEST, "invalid_resource"),
        _ => (StatusCode::UNAUTHORIZED, "invalid_client"),
    }
}

/// The status (and `Retry-After` seconds) of a token request the server could not answer: 503
/// while the metadata store is unreachable (clients retry), 500 otherwise.
pub(crate) fn oauth_failure_status(e: &CoreError) -> (StatusCode, Option<u16>) {
    match e {
        CoreError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, Some(UNAVAILABLE_RETRY_AFTER)),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, None),
    }
}

/// Seconds a client is told to wait while the metadata store is unreachable.
const UNAVAILABLE_RETRY_AFTER: u16 = 5;

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        let status = match e.code {
            InvalidCode::PropertyChangeNotAllowed | InvalidCode::OperationNotAllowed => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        Self { status, code: e.code.as_str().into(), message: e.message, target: Some(e.target) }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        match e {
            CoreError::Invalid(invalid) => invalid.into(),
            CoreError::SubscriptionNotFound(_) => Self::new(StatusCode::NOT_FOUND, "SubscriptionNotFound", message),
            CoreError::ResourceGroupNotFound(_) => Self::new(StatusCode::NOT_FOUND, "ResourceGroupNotFound", message),
            CoreError::NotFound { .. } | CoreError::NotShared(_) => {
                Self::new(StatusCode::NOT_FOUND, "ResourceNotFound", message)
            }
            CoreError::ParentNotFound(_) => Self::new(StatusCode::NOT_FOUND, "ParentResourceNotFound", message),
            CoreError::OperationNotFound(_) => Self::new(StatusCode::NOT_FOUND, "OperationNotFound", message),
            CoreError::Conflict { code, .. } => Self::new(StatusCode::CONFLICT, code, message),
            CoreError::Unauthenticated(AuthError::RateLimited) => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message)
            }
            CoreError::Unauthenticated(kind) if kind.is_expired() => {
                Self::unauthorized("ExpiredAuthenticationToken", message)
            }
            CoreError::Unauthenticated(_) => Self::unauthorized("InvalidAuthenticationToken", message),
            CoreError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "AuthorizationFailed", message),
            CoreError::LinkedForbidden(_) => Self::new(StatusCode::FORBIDDEN, "LinkedAuthorizationFailed", message),
            // Content faults are the server's (retry later); bad content is the caller's.
            CoreError::Content(c) if c.kind == ContentErrorKind::BadInput => {
                Self::new(StatusCode::BAD_REQUEST, "InvalidContent", message)
            }
            CoreError::Content(c) => {
                tracing::error!(error = %c, kind = ?c.kind, "content");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    format!("The server could not read or write disk content ({message}). Please retry the request."),
                )
            }
            CoreError::Unavailable(reason) => {
                tracing::error!(error = %reason, "metadata store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable. Please retry the request.",
                )
            }
            CoreError::Store(inner) => {
                tracing::error!(error = %inner, "metadata store");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "The server encountered an internal error. Please retry the request.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: ErrorBody { code: self.code, message: self.message, target: self.target, details: vec![] },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_AFTER));
        }
        resp
    }
}

#[cfg(test)]
mod auth_answers {
    use galleon_core::auth::{AuthError, TokenError};

    use super::*;

    /// Every kind of refused authentication has its ARM answer and its OAuth answer, chosen here
    /// and nowhere else.
    #[test]
    fn each_auth_error_kind_has_its_answer() {
        let cases = [
            (
                AuthError::Token(TokenError::Expired),
                StatusCode::UNAUTHORIZED,
                "ExpiredAuthenticationToken",
                "invalid_client",
            ),
            (
                AuthError::Token(TokenError::Malformed),
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "invalid_client",
            ),
            (
                AuthError::Token(TokenError::BadSignature),
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "invalid_client",
            ),
            (
                AuthError::Token(TokenError::WrongAudience("x".into())),
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "invalid_client",
            ),
            (AuthError::InvalidClient, StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "invalid_client"),
            (AuthError::RateLimited, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "temporarily_unavailable"),
            (
                AuthError::UnknownResource("https://vault.azure.net".into()),
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "invalid_resource",
            ),
            (AuthError::InvalidAccessUrl, StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "invalid_client"),
            (AuthError::MissingToken, StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "invalid_client"),
        ];
        for (kind, status, code, oauth) in cases {
            let e = ApiError::from(CoreError::Unauthenticated(kind.clone()));
            assert_eq!((e.status, e.code.as_str()), (status, code), "{kind:?}");
            assert_eq!(e.message, kind.to_string());
            assert_eq!(oauth_status(&kind).1, oauth, "{kind:?}");
        }
    }
}
