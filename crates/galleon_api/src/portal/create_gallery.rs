//! "Create Azure Compute Gallery": subscription, resource group (created when new), name,
//! region, description.

use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use galleon_model::names;

use super::PortalState;
use super::arm::{ArmFailure, COMPUTE, RESOURCES, create, items, read};
use super::browse::segment;
use super::forms::{FieldError, Form, Input, Posted, select};
use super::html::{crumb, csrf_field, error_banner, link_to, page, text};
use super::session::Signed;

#[derive(Deserialize)]
pub(super) struct Target {
    group: Option<String>,
}

async fn render(s: &PortalState, signed: &Signed, form: &Form, error: Option<&ArmFailure>) -> Response {
    let subs = items(&s.arm(signed), &format!("/subscriptions?{RESOURCES}")).await.unwrap_or_default();
    let subs: Vec<(String, String)> = subs
        .iter()
        .map(|x| (text(&x["subscriptionId"]), format!("{} ({})", text(&x["displayName"]), text(&x["subscriptionId"]))))
        .collect();
    let located = error.map(|e| {
        FieldError::locate(
            e,
            &[
                ("name", "galleryName"),
                ("group", "resourceGroup"),
                ("location", "location"),
                ("subscription", "subscription"),
            ],
        )
    });
    let on = |f: &str| located.as_ref().and_then(|l| l.on(f));
    let regions = s.region_options();
    let region = form
        .get("location")
        .map(str::to_string)
        .unwrap_or_else(|| regions.first().map(|r| r.0.clone()).unwrap_or_default());
    let content = html! {
        @if let Some(l) = &located && l.field.is_none() { (error_banner(l.failure)) }
        form.card method="post" action="/portal/create/gallery" novalidate[false] {
            (csrf_field(&signed.session))
            h2 { "Project details" }
            (select("subscription", "Subscription", &subs, form.get("subscription").unwrap_or_default(), None))
            (Input { hint: Some("An existing group, or a new name: it is created in the gallery's region."), error: on("group"), pattern: Some(names::RESOURCE_GROUP_NAME_PATTERN), ..Input::text("group", "Resource group", form.get("group").unwrap_or_default()) }.render())
            h2 { "Instance details" }
            (Input { pattern: Some(names::GALLERY_NAME_PATTERN), hint: Some("Letters, digits, periods and underscores; starts and ends with a letter or digit."), error: on("name"), ..Input::text("name", "Name", form.get("name").unwrap_or_default()) }.render())
            (select("location", "Region", &regions, &region, on("location")))
            (Input { required: false, ..Input::text("description", "Description", form.get("description").unwrap_or_default()) }.render())
            div.actions { button.primary type="submit" { "Create" } }
        }
    };
    page(
        "Create Azure Compute Gallery",
        Some(&signed.session),
        &[crumb("Home", "/portal"), crumb("Azure Compute Galleries", "/portal/galleries")],
        content,
    )
}

pub(super) async fn form(State(s): State<PortalState>, signed: Signed, Query(t): Query<Target>) -> Response {
    let mut fields = vec![];
    if let Some(g) = t.group {
        fields.push(("subscription".to_string(), segment(&g, "subscriptions")));
        fields.push(("group".to_string(), segment(&g, "resourceGroups")));
    }
    let form = Form::parse(serde_urlencoded::to_string(&fields).unwrap_or_default().as_bytes());
    render(&s, &signed, &form, None).await
}

pub(super) async fn submit(State(s): State<PortalState>, Posted { signed, form }: Posted) -> Response {
    let arm = s.arm(&signed);
    let (sub, group, name, location) =
        (form.text("subscription"), form.text("group"), form.text("name"), form.text("location"));
    // Paths are built only from names the model accepts.
    let checked = super::paths::group_id(&sub, &group).and_then(|g| {
        super::paths::checked(&name, "galleryName", galleon_model::names::validate_gallery_name).map(|()| g)
    });
    let group_id = match checked {
        Ok(g) => g,
        Err(e) => return render(&s, &signed, &form, Some(&e)).await,
    };
    if let Err(e) = read(&arm, &format!("{group_id}?{RESOURCES}")).await {
        let created = if e.status == axum::http::StatusCode::NOT_FOUND {
            arm.call(Method::PUT, &format!("{group_id}?{RESOURCES}"), Some(&json!({ "location": location })))
                .await
                .err()
                .map(ArmFailure::from)
        } else {
            Some(e)
        };
        if let Some(e) = created {
            let e = ArmFailure { target: Some("resourceGroup".into()), ..e };
            return render(&s, &signed, &form, Some(&e)).await;
        }
    }
    let id = format!("{group_id}/providers/Microsoft.Compute/galleries/{name}");
    let body = json!({ "location": location, "properties": { "description": form.text("description") } });
    // As "Go to resource" after a deployment: the page shows the provisioning state.
    let result = create(&arm, &id, COMPUTE, &body, "galleryName").await;
    match result {
        Ok(()) => Redirect::to(&link_to(&id)).into_response(),
        Err(e) => render(&s, &signed, &form, Some(&e)).await,
    }
}
