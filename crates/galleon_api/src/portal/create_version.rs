//! "Create a VM image version": the Basics tab (region, version number, source, exclude from
//! latest, end of life) and the Replication tab (storage type, default replica count, target
//! regions with the source region first), then the ARM PUT. The version page then shows the
//! replication as it runs.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PortalState;
use super::arm::{Arm, ArmFailure, COMPUTE, DISKS, IMAGES, create, items, read};
use super::browse::{segment, trail};
use super::create_definition::required;
use super::forms::{FieldError, Form, Input, Posted, select, values, wizard_end};
use super::html::{csrf_field, link_to, name_of, page, text, urlencode};
use super::region_rows::{self, STORAGE_TYPES};
use super::session::Signed;

#[derive(Deserialize)]
pub(super) struct Target {
    definition: String,
}

/// Form field → the ARM property its errors name (most specific first).
const FIELDS: [(&str, &str); 9] = [
    ("name", "galleryImageVersionName"),
    ("regions", "targetRegions"),
    ("replicaCount", "replicaCount"),
    ("storageAccountType", "storageAccountType"),
    ("endOfLifeDate", "endOfLifeDate"),
    ("excludeFromLatest", "excludeFromLatest"),
    ("dataDisks", "dataDiskImages"),
    ("source", "storageProfile"),
    ("location", "location"),
];

/// What the source dropdowns offer, from the definition's subscription.
struct Sources {
    disks: Vec<(String, String)>,
    images: Vec<(String, String)>,
    versions: Vec<Value>,
}

async fn sources(arm: &Arm, sub: &str) -> Sources {
    let base = format!("/subscriptions/{sub}/providers/Microsoft.Compute");
    let label =
        |r: &Value, kind: &str| (text(&r["id"]), format!("{} ({kind}, {})", text(&r["name"]), text(&r["location"])));
    let mut disks = vec![];
    for (path, kind) in [("disks", "disk"), ("snapshots", "snapshot")] {
        for r in items(arm, &format!("{base}/{path}?{DISKS}")).await.unwrap_or_default() {
            disks.push(label(&r, kind));
        }
    }
    let images = arm
        .list(&format!("{base}/images?{IMAGES}"))
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| label(r, "managed image"))
        .collect();
    let mut versions = vec![];
    for g in items(arm, &format!("{base}/galleries?{COMPUTE}")).await.unwrap_or_default() {
        for d in items(arm, &format!("{}/images?{COMPUTE}", text(&g["id"]))).await.unwrap_or_default() {
            versions.extend(items(arm, &format!("{}/versions?{COMPUTE}", text(&d["id"]))).await.unwrap_or_default());
        }
    }
    Sources { disks, images, versions }
}

fn with_none(options: &[(String, String)], none: &str) -> Vec<(String, String)> {
    let mut all = vec![(String::new(), none.to_string())];
    all.extend(options.iter().cloned());
    all
}

/// The source fields: one group per source type; the script shows the chosen one.
fn source_fields(src: &Sources, form: &Form, on: &dyn Fn(&str) -> Option<String>) -> Markup {
    let kind = form.get("sourceType").unwrap_or("disk");
    let kinds = [
        ("disk", "Disks and/or snapshots"),
        ("version", "Image version"),
        ("image", "Managed image"),
        ("vhd", "VHD in a storage account"),
    ];
    let kinds: Vec<(String, String)> = kinds.iter().map(|(v, t)| (v.to_string(), t.to_string())).collect();
    let luns = form.all("dataLun");
    let data = form.all("dataDisk");
    let data_rows: Vec<(String, String)> = if data.is_empty() {
        vec![(String::new(), String::new())]
    } else {
        data.iter().enumerate().map(|(i, d)| (luns.get(i).unwrap_or(&"").to_string(), d.to_string())).collect()
    };
    let galleries: std::collections::BTreeSet<String> =
        src.versions.iter().map(|v| segment(&text(&v["id"]), "galleries")).collect();
    let chosen = form.get("sourceVersion").unwrap_or_default();
    html! {
        (select("sourceType", "Source", &kinds, kind, None))
        div.source-group data-source="disk" hidden[kind != "disk"] {
            (select("osDisk", "OS disk", &with_none(&src.disks, "Select a disk or snapshot"), form.get("osDisk").unwrap_or_default(), on("source")))
            fieldset.datadisks {
                legend { "Data disks" }
                table.list #data-disks {
                    thead { tr { th scope="col" { "LUN" } th scope="col" { "Disk or snapshot" } th { span.visually-hidden { "Actions" } } } }
                    tbody { @for (i, (lun, disk)) in data_rows.iter().enumerate() {
                        tr {
                            td { input type="number" min="0" max="63" name="dataLun" value=(lun) aria-label=(format!("LUN, data disk {}", i + 1)); }
                            td { select name="dataDisk" aria-label=(format!("Data disk {}", i + 1)) {
                                @for (v, t) in with_none(&src.disks, "None") { option value=(v) selected[&v == disk] { (t) } }
                            } }
                            td { button.link type="button" data-remove-row="" { "Remove" } }
                        }
                    } }
                }
                template #data-disks-row { tr {
                    td { input type="number" min="0" max="63" name="dataLun" aria-label="LUN"; }
                    td { select name="dataDisk" aria-label="Data disk" {
                        @for (v, t) in with_none(&src.disks, "None") { option value=(v) { (t) } }
                    } }
                    td { button.link type="button" data-remove-row="" { "Remove" } }
                } }
                button type="button" data-add-row="data-disks" { "+ Add data disk" }
                div.error role="alert" { @if let Some(e) = on("dataDisks") { (e) } }
            }
        }
        div.source-group data-source="version" hidden[kind != "version"] {
            div.field {
                label for="sourceGallery" { "Source gallery" }
                select #sourceGallery data-filters="sourceVersion" data-key="gallery" {
                    option value="" { "All galleries" }
                    @for g in &galleries { option value=(g) { (g) } }
                }
            }
            div.field {
                label for="sourceDefinition" { "Image definition" }
                select #sourceDefinition data-filters="sourceVersion" data-key="definition" {
                    option value="" { "All definitions" }
                    @for d in src.versions.iter().map(|v| segment(&text(&v["id"]), "images")).collect::<std::collections::BTreeSet<_>>() {
                        option value=(d) { (d) }
                    }
                }
            }
            div.field.invalid[kind == "version" && on("source").is_some()] {
                label for="sourceVersion" { "Image version" }
                select #sourceVersion name="sourceVersion" {
                    option value="" { "Select a version" }
                    @for v in &src.versions {
                        @let id = text(&v["id"]);
                        option value=(id) data-gallery=(segment(&id, "galleries")) data-definition=(segment(&id, "images")) selected[id == chosen] {
                            (segment(&id, "galleries")) " / " (segment(&id, "images")) " / " (text(&v["name"]))
                        }
                    }
                }
                div.error role="alert" { @if kind == "version" { @if let Some(e) = on("source") { (e) } } }
            }
        }
        div.source-group data-source="image" hidden[kind != "image"] {
            (select("sourceImage", "Source image", &with_none(&src.images, "Select a managed image"), form.get("sourceImage").unwrap_or_default(), if kind == "image" { on("source") } else { None }))
        }
        div.source-group data-source="vhd" hidden[kind != "vhd"] {
            (Input { required: false, kind: "url", hint: Some("The VHD's URL (page blob) in the storage account."), error: if kind == "vhd" { on("source") } else { None }, ..Input::text("vhdUri", "VHD URI", form.get("vhdUri").unwrap_or_default()) }.render())
            (Input { required: false, hint: Some("The storage account's resource id."), ..Input::text("storageAccount", "Storage account", form.get("storageAccount").unwrap_or_default()) }.render())
        }
    }
}

async fn render(
    s: &PortalState,
    signed: &Signed,
    definition: &str,
    form: &Form,
    error: Option<&ArmFailure>,
) -> Response {
    let arm = s.arm(signed);
    let located = error.map(|e| FieldError::locate(e, &FIELDS));
    let on = |f: &str| located.as_ref().and_then(|l| l.on(f));
    let d = read(&arm, &format!("{definition}?{COMPUTE}")).await.unwrap_or(Value::Null);
    let src = sources(&arm, &segment(definition, "subscriptions")).await;
    let regions = s.region_options();
    let location = form.get("location").map(str::to_string).unwrap_or_else(|| text(&d["location"]));
    let value = |f: &str| form.get(f).unwrap_or_default().to_string();
    let exclude = form.get("excludeFromLatest") == Some("true");
    let rows = region_rows::parse(form);
    let storage = values(STORAGE_TYPES);
    let action = format!("/portal/create/version?definition={}", urlencode(definition));
    let content = html! {
        @if let Some(l) = &located { (l.banner()) }
        form.card.wizard method="post" action=(action) data-review="" {
            (csrf_field(&signed.session))
            div.tabs role="tablist" {
                button type="button" role="tab" aria-selected="true" data-tab="basics" { "Basics" }
                button type="button" role="tab" aria-selected="false" data-tab="replication" { "Replication" }
                button type="button" role="tab" aria-selected="false" data-tab="review" { "Review + create" }
            }
            fieldset.tabpanel data-panel="basics" {
                legend { "Basics" }
                p.muted { "Image definition: " strong { (name_of(definition)) } " (" (text(&d["properties"]["osType"])) ", " (text(&d["properties"]["osState"])) ", " (text(&d["properties"]["hyperVGeneration"])) ")" }
                h2 { "Instance details" }
                (select("location", "Region", &regions, &location, on("location")))
                (Input { pattern: Some(galleon_model::version_number::VERSION_NUMBER_PATTERN), hint: Some("Major.Minor.Patch, whole numbers: for example 1.0.0."), error: on("name"), ..Input::text("name", "Version number", &value("name")) }.render())
                (source_fields(&src, form, &on))
                fieldset.field {
                    legend { "Exclude from latest" }
                    label.inline { input type="radio" name="excludeFromLatest" value="false" checked[!exclude]; " No" }
                    label.inline { input type="radio" name="excludeFromLatest" value="true" checked[exclude]; " Yes" }
                    div.error role="alert" { @if let Some(e) = on("excludeFromLatest") { (e) } }
                }
                (Input { kind: "date", required: false, error: on("endOfLifeDate"), ..Input::text("endOfLifeDate", "End of life date", &value("endOfLifeDate")) }.render())
            }
            fieldset.tabpanel data-panel="replication" {
                legend { "Replication" }
                (select("storageAccountType", "Default storage type", &storage, form.get("storageAccountType").unwrap_or("Standard_LRS"), on("storageAccountType")))
                (Input { kind: "number", hint: Some("Each region's replicas, unless its row says otherwise (1–100)."), error: on("replicaCount"), ..Input::text("replicaCount", "Default replica count", form.get("replicaCount").unwrap_or("1")) }.render())
                (region_rows::table(s.regions(), &rows, Some(&location), on("regions")))
            }
            (wizard_end(&link_to(definition)))
        }
    };
    page("Create a VM image version", Some(&signed.session), &trail(&format!("{definition}/versions/new")), content)
}

pub(super) async fn form(State(s): State<PortalState>, signed: Signed, Query(t): Query<Target>) -> Response {
    render(&s, &signed, &t.definition, &Form::parse(b""), None).await
}

/// The `storageProfile` the chosen source makes.
fn storage_profile(form: &Form) -> Value {
    match form.get("sourceType").unwrap_or("disk") {
        "version" => json!({ "source": { "id": form.text("sourceVersion") } }),
        "image" => json!({ "source": { "id": form.text("sourceImage") } }),
        "vhd" => {
            let mut source = json!({ "uri": form.text("vhdUri") });
            let account = form.text("storageAccount");
            if !account.is_empty() {
                source["storageAccountId"] = json!(account);
            }
            json!({ "osDiskImage": { "source": source } })
        }
        _ => {
            let mut profile = json!({ "osDiskImage": { "source": { "id": form.text("osDisk") } } });
            let luns = form.all("dataLun");
            let data: Vec<Value> = form
                .all("dataDisk")
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.is_empty())
                .map(|(i, d)| {
                    let lun = luns.get(i).map(|l| l.trim()).unwrap_or_default();
                    json!({ "lun": lun.parse::<i64>().map_or_else(|_| json!(lun), |n| json!(n)), "source": { "id": d } })
                })
                .collect();
            if !data.is_empty() {
                profile["dataDiskImages"] = Value::Array(data);
            }
            profile
        }
    }
}

pub(super) async fn submit(
    State(s): State<PortalState>,
    Query(t): Query<Target>,
    Posted { signed, form }: Posted,
) -> Response {
    let name = form.text("name");
    if name.is_empty() {
        return render(&s, &signed, &t.definition, &form, Some(&required("galleryImageVersionName", "Version number")))
            .await;
    }
    // Paths are built only from names the model accepts.
    let Some(definition) = super::paths::definition_id(&t.definition) else {
        return (axum::http::StatusCode::NOT_FOUND, "No such image definition.").into_response();
    };
    if let Err(e) = super::paths::version_name(&name) {
        return render(&s, &signed, &definition, &form, Some(&e)).await;
    }
    let mut publishing = json!({
        "targetRegions": region_rows::to_wire(&region_rows::parse(&form)),
        "storageAccountType": form.text("storageAccountType"),
        "excludeFromLatest": form.get("excludeFromLatest") == Some("true"),
    });
    let count = form.text("replicaCount");
    if !count.is_empty() {
        publishing["replicaCount"] = count.parse::<i64>().map_or_else(|_| json!(count), |c| json!(c));
    }
    let eol = form.text("endOfLifeDate");
    if !eol.is_empty() {
        publishing["endOfLifeDate"] = json!(format!("{eol}T00:00:00Z"));
    }
    let body = json!({
        "location": form.text("location"),
        "properties": { "publishingProfile": publishing, "storageProfile": storage_profile(&form) },
    });
    let id = format!("{definition}/versions/{name}");
    match create(&s.arm(&signed), &id, COMPUTE, &body, "galleryImageVersionName").await {
        Ok(_) => Redirect::to(&link_to(&id)).into_response(),
        Err(e) => render(&s, &signed, &definition, &form, Some(&e)).await,
    }
}
