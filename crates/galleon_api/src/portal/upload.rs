//! "Upload a VHD" from the browser into a new managed disk, as `az disk create
//! --upload-type Upload` then `azcopy` do: the server creates the disk and grants write
//! access; the script sends 4 MiB page writes straight to the access URL (same origin), skipping
//! all-zero pages, with a progress bar; the server then ends the access, which seals the disk.
//! Meant for small and medium images; the CLI (`galleon disk upload`) resumes large ones.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PortalState;
use super::arm::{ArmFailure, DISKS, RESOURCES, complete, items, read};
use super::forms::{select, values};
use super::html::{crumb, page, text};
use super::session::Signed;

pub(super) async fn form(State(s): State<PortalState>, signed: Signed) -> Response {
    let arm = s.arm(&signed);
    let mut groups = vec![];
    for sub in items(&arm, &format!("/subscriptions?{RESOURCES}")).await.unwrap_or_default() {
        for g in items(&arm, &format!("{}/resourcegroups?{RESOURCES}", text(&sub["id"]))).await.unwrap_or_default() {
            groups.push((text(&g["id"]), format!("{} ({})", text(&g["name"]), text(&sub["displayName"]))));
        }
    }
    let regions = s.region_options();
    let content = html! {
        p { "Creates a managed disk from a fixed-size VHD on this computer. For large images use " code { "galleon disk upload" } ", which resumes." }
        form.card #upload-form data-upload="" {
            (select("group", "Resource group", &groups, "", None))
            div.field {
                label for="disk-name" { "Disk name" }
                input #disk-name name="name" required pattern=(galleon_model::names::DISK_NAME_PATTERN);
                div.error #name-error role="alert" {}
            }
            (select("location", "Region", &regions, regions.first().map_or("", |r| r.0.as_str()), None))
            (select("osType", "OS type", &os_types(), "", None))
            div.field {
                label for="vhd-file" { "VHD file" }
                input #vhd-file name="file" type="file" accept=".vhd" required aria-describedby="vhd-hint";
                div.hint #vhd-hint { "A fixed-size VHD of at least 20 MiB: its size is a whole number of MiB plus the 512-byte footer." }
                div.error #file-error role="alert" {}
            }
            div.actions { button.primary type="submit" { "Upload" } }
            div.upload-progress hidden {
                progress #upload-bar max="100" value="0" aria-label="Upload progress" {}
                span #upload-text role="status" {}
            }
            div.banner.error #upload-error role="alert" hidden {}
        }
    };
    page("Upload a VHD", Some(&signed.session), &[crumb("Home", "/portal")], content)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Start {
    group: String,
    name: String,
    location: String,
    #[serde(default)]
    os_type: String,
    size: u64,
}

/// The OS types the model accepts, and none for a data disk.
fn os_types() -> Vec<(String, String)> {
    let mut all = vec![(String::new(), "None (data disk)".to_string())];
    all.extend(values(galleon_model::image_definition::OsType::ALL));
    all
}

fn failed(e: &ArmFailure) -> Response {
    let status = if e.status.is_success() { StatusCode::BAD_REQUEST } else { e.status };
    (status, Json(json!({ "error": { "code": e.code, "message": e.message } }))).into_response()
}

fn csrf(signed: &Signed, headers: &HeaderMap) -> Result<(), super::session::CsrfRefused> {
    signed.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
}

/// Creates the disk for upload and grants write access; answers `{id, url}`.
pub(super) async fn start(State(s): State<PortalState>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = csrf(&signed, &headers) {
        return refused.into_response();
    }
    let Ok(req) = serde_json::from_slice::<Start>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": { "code": "InvalidRequestContent", "message": "The request is not valid." } })),
        )
            .into_response();
    };
    let arm = s.arm(&signed);
    let id = format!("{}/providers/Microsoft.Compute/disks/{}", req.group, req.name);
    let mut props = json!({ "creationData": { "createOption": "Upload", "uploadSizeBytes": req.size } });
    if !req.os_type.is_empty() {
        props["osType"] = json!(req.os_type);
    }
    let disk = json!({ "location": req.location, "properties": props });
    let created = complete(&arm, Method::PUT, &format!("{id}?{DISKS}"), Some(&disk), Duration::from_secs(30)).await;
    if let Err(e) = created {
        return failed(&e);
    }
    let grant = json!({ "access": "Write", "durationInSeconds": 86400 });
    let path = format!("{id}/beginGetAccess?{DISKS}");
    match complete(&arm, Method::POST, &path, Some(&grant), Duration::from_secs(30)).await {
        Ok(output) => Json(json!({ "id": id, "url": output["accessSAS"] })).into_response(),
        Err(e) => failed(&e),
    }
}

#[derive(Deserialize)]
pub(super) struct Finish {
    id: String,
}

/// Ends the write access (the disk's content is sealed and hashed); answers the disk.
pub(super) async fn finish(State(s): State<PortalState>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = csrf(&signed, &headers) {
        return refused.into_response();
    }
    let Ok(req) = serde_json::from_slice::<Finish>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": { "code": "InvalidRequestContent", "message": "The request is not valid." } })),
        )
            .into_response();
    };
    let arm = s.arm(&signed);
    let path = format!("{}/endGetAccess?{DISKS}", req.id);
    match complete(&arm, Method::POST, &path, None, Duration::from_secs(120)).await {
        Ok(_) => Json(read(&arm, &format!("{}?{DISKS}", req.id)).await.unwrap_or(Value::Null)).into_response(),
        Err(e) => failed(&e),
    }
}
