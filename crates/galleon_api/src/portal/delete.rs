//! Deleting a resource: a confirmation page, then the ARM DELETE. ARM's refusal (a gallery or
//! definition that still has children) is shown as ARM words it, and nothing is deleted.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::PortalState;
use super::arm::{ArmFailure, complete};
use super::browse::{api_of, kind, parent_of, trail};
use super::forms::Posted;
use super::html::{csrf_field, error_banner, link_to, name_of, page, urlencode};
use super::session::Signed;

#[derive(Deserialize)]
pub(super) struct Target {
    id: String,
}

fn render(signed: &Signed, id: &str, error: Option<&ArmFailure>) -> Response {
    let kind = kind(id);
    let content = html! {
        @if let Some(e) = error { (error_banner(e)) }
        form.card.narrow method="post" action=(format!("/portal/delete?id={}", urlencode(id))) {
            (csrf_field(&signed.session))
            p { "Delete the " (kind) " " strong { (name_of(id)) } "? This cannot be undone." }
            div.field {
                label for="confirm" { "Type the name to confirm" }
                input #confirm name="confirm" required autocomplete="off" data-must-equal=(name_of(id));
            }
            div.actions {
                button.danger type="submit" { "Delete" }
                a.button href=(link_to(id)) { "Cancel" }
            }
        }
    };
    page(&format!("Delete {}", name_of(id)), Some(&signed.session), &trail(&format!("{id}/x/y")), content)
}

pub(super) async fn confirm(signed: Signed, Query(t): Query<Target>) -> Response {
    render(&signed, &t.id, None)
}

pub(super) async fn submit(
    State(s): State<PortalState>,
    Query(t): Query<Target>,
    Posted { signed, form }: Posted,
) -> Response {
    if form.text("confirm") != name_of(&t.id) {
        let e = ArmFailure {
            status: axum::http::StatusCode::BAD_REQUEST,
            code: "ConfirmationMismatch".into(),
            message: format!("Type '{}' to confirm the deletion.", name_of(&t.id)),
            target: None,
        };
        return render(&signed, &t.id, Some(&e));
    }
    let arm = s.arm(&signed);
    let path = format!("{}?{}", t.id, api_of(&t.id));
    match complete(&arm, Method::DELETE, &path, None, Duration::from_secs(60)).await {
        Ok(_) => Redirect::to(&link_to(&parent_of(&t.id))).into_response(),
        Err(e) => render(&signed, &t.id, Some(&e)),
    }
}
