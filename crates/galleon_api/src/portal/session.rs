//! Portal sessions: sign-in with a principal's client id and secret (the admin credentials are
//! one), a random session id in a `Secure; HttpOnly; SameSite=Strict` cookie, and a per-session
//! CSRF token that every form and script request must echo. Sessions are kept by the core in the
//! metadata store, for the lifetime of the bearer token they hold: every node behind a load
//! balancer knows them, and a restart signs nobody out.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

pub(crate) use galleon_core::PortalSession as Session;

use super::PortalState;

pub(crate) const COOKIE: &str = "galleon_portal";

/// The `Set-Cookie` value that opens (or, with an empty id, clears) a session.
pub(crate) fn cookie(id: &str, max_age: i64) -> String {
    format!("{COOKIE}={id}; Path=/portal; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict")
}

/// The session id a request carries.
pub(crate) fn session_id(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE && !v.is_empty()).then(|| v.to_string())
    })
}

/// A signed-in request: its session and the host it was sent to.
pub(crate) struct Signed {
    pub id: String,
    pub session: Session,
    pub host: String,
}

impl Signed {
    /// Checks the CSRF token a form or script sent.
    pub(crate) fn check_csrf(&self, sent: Option<&str>) -> Result<(), CsrfRefused> {
        if sent.is_some_and(|s| constant_time_eq(s.as_bytes(), self.session.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(CsrfRefused)
        }
    }
}

/// A state-changing request without this session's CSRF token: 403, nothing done.
pub(crate) struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, "The form has expired or did not come from this portal. Reload the page.")
            .into_response()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<PortalState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &PortalState) -> Result<Self, Self::Rejection> {
        let host = crate::extract::host_of(&parts.headers, &parts.uri).to_string();
        let session = match session_id(&parts.headers) {
            Some(id) => match state.core.portal_session(&id).await {
                Ok(found) => found.map(|s| (id, s)),
                Err(e) => {
                    tracing::error!(error = %e, "reading a portal session");
                    return Err((StatusCode::SERVICE_UNAVAILABLE, "The portal is unavailable. Retry.").into_response());
                }
            },
            None => None,
        };
        if let Some((id, session)) = session {
            // A cross-site POST is refused whatever its token (defence beside SameSite and CSRF).
            if parts.method != axum::http::Method::GET && !same_origin(&parts.headers, &host) {
                return Err((StatusCode::FORBIDDEN, "Cross-origin requests are refused.").into_response());
            }
            return Ok(Self { id, session, host });
        }
        let next = parts.uri.path_and_query().map_or("/portal", |p| p.as_str());
        let target = format!("/portal/signin?next={}", super::html::urlencode(next));
        Err(Redirect::to(&target).into_response())
    }
}

/// `Origin`, when the browser sends one, names this host.
pub(crate) fn same_origin(headers: &HeaderMap, host: &str) -> bool {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(origin) => origin.split_once("://").is_some_and(|(_, h)| h == host),
        None => true,
    }
}
