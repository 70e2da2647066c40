//! Sign-in and sign-out. Signing in is the client-credentials grant done by the server: the
//! principal's secret is checked (and rate-limited) by the same use case as the token endpoint.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::PortalState;
use super::forms::{Form, Posted};
use super::html::{error_banner, page};
use super::session;
use crate::PeerAddr;

#[derive(Deserialize)]
pub(super) struct Next {
    next: Option<String>,
}

/// Only the portal's own paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with("/portal") && !n.starts_with("//")).unwrap_or("/portal/galleries")
}

fn signin_page(next: &str, client_id: &str, error: Option<&str>, status: StatusCode) -> Response {
    let content = html! {
        @if let Some(e) = error { div.banner.error role="alert" #signin-error { (e) } }
        form.card.narrow method="post" action="/portal/signin" {
            input type="hidden" name="next" value=(next);
            p { "Sign in with a service principal's client id and secret, or the server's admin credentials (" code { "credentials.json" } " in its data directory)." }
            div.field {
                label for="client_id" { "Client id" }
                input #client_id name="client_id" required autocomplete="username" value=(client_id);
            }
            div.field {
                label for="client_secret" { "Client secret" }
                input #client_secret name="client_secret" type="password" required autocomplete="current-password";
            }
            div.actions { button.primary type="submit" { "Sign in" } }
        }
    };
    let mut resp = page("Sign in", None, &[], content);
    *resp.status_mut() = status;
    resp
}

pub(super) async fn form(Query(q): Query<Next>) -> Response {
    signin_page(safe_next(q.next.as_deref()), "", None, StatusCode::OK)
}

pub(super) async fn submit(
    State(s): State<PortalState>,
    headers: HeaderMap,
    uri: Uri,
    peer: Option<axum::Extension<PeerAddr>>,
    body: Bytes,
) -> Response {
    let host = crate::extract::host_of(&headers, &uri);
    if !session::same_origin(&headers, host) {
        return (StatusCode::FORBIDDEN, "Cross-origin sign-in is refused.").into_response();
    }
    let form = Form::parse(&body);
    let next = safe_next(form.get("next")).to_string();
    let client_id = form.get("client_id").unwrap_or_default().trim().to_string();
    let secret = form.get("client_secret").unwrap_or_default();
    let tenant = s.core.config().tenant_id.clone();
    let base = s.public_url.clone().unwrap_or_else(|| format!("{}://{host}", s.scheme));
    let source = peer.map_or_else(|| "unknown".to_string(), |p| p.0.0.ip().to_string());
    let issued = s
        .core
        .issue_token(
            &tenant,
            &client_id,
            secret,
            "https://management.azure.com/.default",
            &format!("{base}/{tenant}/v2.0"),
            &source,
        )
        .await;
    match issued {
        Ok((token, lifetime)) => {
            let expires_at = time::OffsetDateTime::now_utc().unix_timestamp() + lifetime;
            match s.core.open_portal_session(token, expires_at, client_id).await {
                Ok(id) => ([(header::SET_COOKIE, session::cookie(&id, lifetime))], Redirect::to(&next)).into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "portal sign-in");
                    (StatusCode::SERVICE_UNAVAILABLE, "Sign-in is unavailable. Retry.").into_response()
                }
            }
        }
        Err(galleon_core::CoreError::Unauthenticated(kind @ galleon_core::auth::AuthError::RateLimited)) => {
            signin_page(&next, &client_id, Some(&kind.to_string()), StatusCode::TOO_MANY_REQUESTS)
        }
        Err(galleon_core::CoreError::Unauthenticated(_)) => {
            signin_page(&next, &client_id, Some("The client id or secret is not valid."), StatusCode::UNAUTHORIZED)
        }
        Err(e) => {
            tracing::error!(error = %e, "portal sign-in");
            let failure = super::arm::ArmFailure {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "InternalError".into(),
                message: "Sign-in is unavailable. Retry.".into(),
                target: None,
            };
            page("Sign in", None, &[], error_banner(&failure))
        }
    }
}

pub(super) async fn signout(State(s): State<PortalState>, Posted { signed, .. }: Posted) -> Response {
    if let Err(e) = s.core.close_portal_session(&signed.id).await {
        tracing::error!(error = %e, "portal sign-out");
        return (StatusCode::SERVICE_UNAVAILABLE, "Sign-out is unavailable. Retry.").into_response();
    }
    ([(header::SET_COOKIE, session::cookie("", 0))], Redirect::to("/portal/signin")).into_response()
}
