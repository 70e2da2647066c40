//! "Add new image definition to Azure Compute Gallery", the Basics tab of the seed: region,
//! name, OS, VM generation, OS state, publisher, offer, SKU (and description, end of life).
//! The browser checks the fields before submit (HTML constraints, the review step); the server's
//! answer (ARM's validation) is shown on the field it is about.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use galleon_model::image_definition::{HyperVGeneration, OsState, OsType};
use galleon_model::names;

use super::PortalState;
use super::arm::{ArmFailure, COMPUTE, create, read};
use super::browse::trail;
use super::forms::{FieldError, Form, Input, Posted, select, values, wizard_end};
use super::html::{csrf_field, link_to, name_of, page, text, urlencode};
use super::session::Signed;

#[derive(Deserialize)]
pub(super) struct Target {
    gallery: String,
}

const FIELDS: [(&str, &str); 10] = [
    ("name", "galleryImageName"),
    ("osType", "osType"),
    ("osState", "osState"),
    ("hyperVGeneration", "hyperVGeneration"),
    ("publisher", "identifier.publisher"),
    ("offer", "identifier.offer"),
    ("sku", "identifier.sku"),
    ("endOfLifeDate", "endOfLifeDate"),
    ("location", "location"),
    ("description", "description"),
];

/// The VM generations the model accepts, as the Azure portal labels them (`V2` → Gen 2).
fn generations() -> Vec<(String, String)> {
    HyperVGeneration::ALL.iter().map(|v| (v.to_string(), format!("Gen {}", v.trim_start_matches('V')))).collect()
}

async fn render(s: &PortalState, signed: &Signed, gallery: &str, form: &Form, error: Option<&ArmFailure>) -> Response {
    let located = error.map(|e| FieldError::locate(e, &FIELDS));
    let on = |f: &str| located.as_ref().and_then(|l| l.on(f));
    let g = read(&s.arm(signed), &format!("{gallery}?{COMPUTE}")).await.unwrap_or(Value::Null);
    let regions = s.region_options();
    let region = form.get("location").map(str::to_string).unwrap_or_else(|| text(&g["location"]));
    let value = |f: &str| form.get(f).unwrap_or_default().to_string();
    let (name, publisher, offer, sku, eol, description) =
        (value("name"), value("publisher"), value("offer"), value("sku"), value("endOfLifeDate"), value("description"));
    let action = format!("/portal/create/definition?gallery={}", urlencode(gallery));
    let content = html! {
        @if let Some(l) = &located { (l.banner()) }
        form.card.wizard method="post" action=(action) data-review="" {
            (csrf_field(&signed.session))
            div.tabs role="tablist" {
                button type="button" role="tab" aria-selected="true" data-tab="basics" { "Basics" }
                button type="button" role="tab" aria-selected="false" data-tab="review" { "Review + create" }
            }
            fieldset.tabpanel data-panel="basics" {
                legend { "Basics" }
                p.muted { "Gallery: " strong { (name_of(gallery)) } }
                h2 { "Instance details" }
                (select("location", "Region", &regions, &region, on("location")))
                (Input { pattern: Some(names::IMAGE_DEFINITION_NAME_PATTERN), hint: Some("For example myImageDefinition: letters, digits, periods, underscores and hyphens."), error: on("name"), ..Input::text("name", "Image definition name", &name) }.render())
                (select("osType", "Operating system", &values(OsType::ALL), form.get("osType").unwrap_or("Linux"), on("osType")))
                (select("hyperVGeneration", "VM generation", &generations(), form.get("hyperVGeneration").unwrap_or("V1"), on("hyperVGeneration")))
                (select("osState", "Operating system state", &values(OsState::ALL), form.get("osState").unwrap_or("Generalized"), on("osState")))
                h2 { "Image definition details" }
                (Input { error: on("publisher"), hint: Some("For example myPublisher."), ..Input::text("publisher", "Publisher", &publisher) }.render())
                (Input { error: on("offer"), hint: Some("For example myOffer."), ..Input::text("offer", "Offer", &offer) }.render())
                (Input { error: on("sku"), hint: Some("For example mySKU."), ..Input::text("sku", "SKU", &sku) }.render())
                (Input { kind: "date", required: false, error: on("endOfLifeDate"), ..Input::text("endOfLifeDate", "End of life date", &eol) }.render())
                (Input { required: false, error: on("description"), ..Input::text("description", "Description", &description) }.render())
            }
            (wizard_end(&link_to(gallery)))
        }
    };
    page("Create a VM image definition", Some(&signed.session), &trail(&format!("{gallery}/images/new")), content)
}

pub(super) async fn form(State(s): State<PortalState>, signed: Signed, Query(t): Query<Target>) -> Response {
    render(&s, &signed, &t.gallery, &Form::parse(b""), None).await
}

pub(super) async fn submit(
    State(s): State<PortalState>,
    Query(t): Query<Target>,
    Posted { signed, form }: Posted,
) -> Response {
    let name = form.text("name");
    if name.is_empty() {
        let e = required("galleryImageName", "Image definition name");
        return render(&s, &signed, &t.gallery, &form, Some(&e)).await;
    }
    // Paths are built only from names the model accepts.
    let Some(gallery) = super::paths::gallery_id(&t.gallery) else {
        return (axum::http::StatusCode::NOT_FOUND, "No such gallery.").into_response();
    };
    if let Err(e) = super::paths::checked(&name, "galleryImageName", names::validate_image_definition_name) {
        return render(&s, &signed, &gallery, &form, Some(&e)).await;
    }
    let mut props = json!({
        "osType": form.text("osType"),
        "osState": form.text("osState"),
        "hyperVGeneration": form.text("hyperVGeneration"),
        "identifier": { "publisher": form.text("publisher"), "offer": form.text("offer"), "sku": form.text("sku") },
    });
    for (field, prop) in [("endOfLifeDate", "endOfLifeDate"), ("description", "description")] {
        let v = form.text(field);
        if !v.is_empty() {
            props[prop] = json!(if field == "endOfLifeDate" { format!("{v}T00:00:00Z") } else { v });
        }
    }
    let id = format!("{gallery}/images/{name}");
    let arm = s.arm(&signed);
    let body = json!({ "location": form.text("location"), "properties": props });
    // As "Go to resource" after a deployment: the page shows the provisioning state.
    let result = create(&arm, &id, COMPUTE, &body, "galleryImageName").await;
    match result {
        Ok(()) => Redirect::to(&link_to(&id)).into_response(),
        Err(e) => render(&s, &signed, &gallery, &form, Some(&e)).await,
    }
}

/// A required field left empty (a form rule: without a name there is no resource path).
pub(crate) fn required(target: &str, label: &str) -> ArmFailure {
    ArmFailure {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: "InvalidParameter".into(),
        message: format!("{label} is required."),
        target: Some(target.into()),
    }
}
