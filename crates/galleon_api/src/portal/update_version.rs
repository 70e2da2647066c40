//! The image version page: its properties, per-region replication progress (polled by the
//! script from `/portal/status`), and the update form (target regions and counts, exclude from
//! latest, end of life).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PortalState;
use super::arm::{ArmFailure, COMPUTE, read};
use super::browse::{delete_button, trail};
use super::forms::{FieldError, Form, Input, Posted};
use super::html::{
    csrf_field, error_banner, essentials, link_to, name_of, notice, page, resource_link, state_badge, text, urlencode,
    value,
};
use super::region_rows;
use super::session::Signed;

#[derive(Deserialize)]
pub(super) struct Target {
    id: String,
}

/// Where the version's content came from.
fn source_of(p: &Value) -> String {
    let sp = &p["storageProfile"];
    for v in [
        &sp["source"]["id"],
        &sp["source"]["virtualMachineId"],
        &sp["osDiskImage"]["source"]["id"],
        &sp["osDiskImage"]["source"]["uri"],
    ] {
        if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
            return s.to_string();
        }
    }
    String::new()
}

/// An OS disk image's size as the page shows it ("" until known).
fn size_text(os: &Value) -> String {
    os["sizeInGB"].as_u64().map(|g| format!("{g} GiB")).unwrap_or_default()
}

/// Per-region progress as the page and `/portal/status` show it.
fn replication(v: &Value) -> Value {
    let p = &v["properties"];
    let summary = p["replicationStatus"]["summary"].as_array().cloned().unwrap_or_default();
    let os = &p["storageProfile"]["osDiskImage"];
    json!({
        "provisioningState": p["provisioningState"],
        "aggregatedState": p["replicationStatus"]["aggregatedState"],
        // Known once the content is built: the page fills them in without a reload.
        "digest": os["digest"],
        "size": size_text(os),
        "regions": summary.iter().map(|r| json!({
            "region": r["region"], "state": r["state"], "progress": r["progress"], "details": r["details"],
            "transfer": transfer_text(&r["transfer"]),
        })).collect::<Vec<_>>(),
    })
}

/// A region's bytes, rate and time left in words ("" when galleon did not count them).
fn transfer_text(t: &Value) -> String {
    serde_json::from_value::<galleon_api_types::version::TransferWire>(t.clone())
        .map(|t| t.describe())
        .unwrap_or_default()
}

fn progress_bars(v: &Value) -> Markup {
    let r = replication(v);
    html! {
        section.replication #replication aria-labelledby="replication-h" data-status-url=(format!("/portal/status?id={}", urlencode(&text(&v["id"])))) {
            h2 #replication-h { "Replication" }
            p { "Overall: " span #aggregated { (state_badge(&text(&r["aggregatedState"]))) } " · Provisioning: " span #provisioning { (state_badge(&text(&r["provisioningState"]))) } }
            ul.bars {
                @for region in r["regions"].as_array().into_iter().flatten() {
                    @let name = text(&region["region"]);
                    @let pct = region["progress"].as_i64().unwrap_or(0);
                    li data-region=(name) {
                        span.region-name { (name) }
                        progress max="100" value=(pct) aria-label=(format!("Replication to {name}")) { (pct) "%" }
                        span.pct { (pct) "%" }
                        span.region-state { (state_badge(&text(&region["state"]))) }
                        span.transfer { (text(&region["transfer"])) }
                        span.details { (text(&region["details"])) }
                    }
                }
            }
        }
    }
}

fn update_form(s: &PortalState, signed: &Signed, v: &Value, form: Option<&Form>, error: Option<&ArmFailure>) -> Markup {
    let id = text(&v["id"]);
    let pp = &v["properties"]["publishingProfile"];
    let rows = form.map_or_else(|| region_rows::from_wire(&pp["targetRegions"]), region_rows::parse);
    let exclude =
        form.map_or(pp["excludeFromLatest"].as_bool().unwrap_or(false), |f| f.get("excludeFromLatest") == Some("true"));
    let eol = form.map_or_else(|| text(&pp["endOfLifeDate"]).chars().take(10).collect(), |f| f.text("endOfLifeDate"));
    let allow_deletion = form.map_or_else(
        || v["properties"]["safetyProfile"]["allowDeletionOfReplicatedLocations"].as_bool().unwrap_or(false),
        |f| f.get("allowDeletionOfReplicatedLocations") == Some("true"),
    );
    let located = error.map(|e| {
        FieldError::locate(
            e,
            &[
                ("regions", "targetRegions"),
                ("endOfLifeDate", "endOfLifeDate"),
                ("excludeFromLatest", "excludeFromLatest"),
            ],
        )
    });
    let on = |f: &str| located.as_ref().and_then(|l| l.on(f));
    html! {
        section.card #update aria-labelledby="update-h" {
            h2 #update-h { "Update replication" }
            @if let Some(l) = &located && l.field.is_none() { (error_banner(l.failure)) }
            form method="post" action=(format!("/portal/update/version?id={}", urlencode(&id))) {
                (csrf_field(&signed.session))
                (region_rows::table(s.regions(), &rows, None, on("regions")))
                fieldset.field {
                    legend { "Exclude from latest" }
                    label.inline { input type="radio" name="excludeFromLatest" value="false" checked[!exclude]; " No" }
                    label.inline { input type="radio" name="excludeFromLatest" value="true" checked[exclude]; " Yes" }
                }
                div.field {
                    label.inline {
                        input type="checkbox" name="allowDeletionOfReplicatedLocations" value="true" checked[allow_deletion];
                        " Allow deletion of replicated locations"
                    }
                    div.hint { "Needed to remove a region this version has already been replicated to." }
                }
                (Input { kind: "date", required: false, error: on("endOfLifeDate"), ..Input::text("endOfLifeDate", "End of life date", &eol) }.render())
                div.actions { button.primary type="submit" { "Save" } }
            }
        }
    }
}

/// The content of a version's page.
pub(super) fn version_page(s: &PortalState, _id: &str, v: &Value, signed: &Signed) -> Markup {
    version_content(s, v, signed, None, None)
}

fn version_content(
    s: &PortalState,
    v: &Value,
    signed: &Signed,
    form: Option<&Form>,
    error: Option<&ArmFailure>,
) -> Markup {
    let id = text(&v["id"]);
    let p = &v["properties"];
    let pp = &p["publishingProfile"];
    let os = &p["storageProfile"]["osDiskImage"];
    let regions = pp["targetRegions"].as_array().map(|rs| {
        rs.iter()
            .map(|t| {
                format!(
                    "{} ({} × {})",
                    text(&t["name"]),
                    text(&t["regionalReplicaCount"]),
                    text(&t["storageAccountType"])
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    html! {
        div.commandbar { (delete_button(&id)) }
        (essentials(&[
            ("Source", resource_link(&source_of(p))),
            ("Digest", html! { span #version-digest { (value(text(&os["digest"]))) } }),
            ("OS disk size", html! { span #version-size { (value(size_text(os))) } }),
            ("Data disks", value(p["storageProfile"]["dataDiskImages"].as_array().map_or(0, Vec::len).to_string())),
            ("Location", value(text(&v["location"]))),
            ("Target regions (replicas × storage type)", value(regions.unwrap_or_default())),
            ("Default replica count", value(text(&pp["replicaCount"]))),
            ("Default storage type", value(text(&pp["storageAccountType"]))),
            ("Exclude from latest", value(if pp["excludeFromLatest"].as_bool().unwrap_or(false) { "Yes".into() } else { "No".into() })),
            ("End of life date", value(text(&pp["endOfLifeDate"]))),
            ("Published date", value(text(&pp["publishedDate"]))),
        ]))
        (progress_bars(v))
        (update_form(s, signed, v, form, error))
    }
}

/// `GET /portal/status?id=…`: the version's replication, for the progress bars.
pub(super) async fn status(State(s): State<PortalState>, signed: Signed, Query(t): Query<Target>) -> Response {
    match read(&s.arm(&signed), &format!("{}?{COMPUTE}&$expand=ReplicationStatus", t.id)).await {
        Ok(v) => Json(replication(&v)).into_response(),
        Err(e) => (e.status, Json(json!({ "error": { "code": e.code, "message": e.message } }))).into_response(),
    }
}

/// `POST /portal/update/version?id=…`: a PATCH of the publishing profile.
pub(super) async fn submit(
    State(s): State<PortalState>,
    Query(t): Query<Target>,
    Posted { signed, form }: Posted,
) -> Response {
    let eol = form.text("endOfLifeDate");
    let mut publishing = json!({
        "targetRegions": region_rows::to_wire(&region_rows::parse(&form)),
        "excludeFromLatest": form.get("excludeFromLatest") == Some("true"),
    });
    if !eol.is_empty() {
        publishing["endOfLifeDate"] = json!(format!("{eol}T00:00:00Z"));
    }
    let arm = s.arm(&signed);
    let safety =
        json!({ "allowDeletionOfReplicatedLocations": form.get("allowDeletionOfReplicatedLocations") == Some("true") });
    let body = json!({ "properties": { "publishingProfile": publishing, "safetyProfile": safety } });
    match arm.call(Method::PATCH, &format!("{}?{COMPUTE}", t.id), Some(&body)).await {
        Ok(_) => Redirect::to(&link_to(&t.id)).into_response(),
        Err(e) => {
            let e = ArmFailure::from(e);
            let v = read(&arm, &format!("{}?{COMPUTE}&$expand=ReplicationStatus", t.id)).await.unwrap_or(Value::Null);
            let title = format!("{} (version)", name_of(&t.id));
            let content = html! { (notice("The update was refused; nothing was changed.")) (version_content(&s, &v, &signed, Some(&form), Some(&e))) };
            page(&title, Some(&signed.session), &trail(&t.id), content)
        }
    }
}
