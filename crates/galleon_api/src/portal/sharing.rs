//! A gallery's Sharing page, as the Azure portal has it: the permission (private, shared with
//! subscriptions and tenants, community), who it is shared with, adding and removing them,
//! publishing a community gallery and its public name; and "Shared with me", the galleries other
//! owners shared with the signed-in principal's subscriptions. Every change is an ARM request
//! with the user's token (PATCH of `sharingProfile`, `POST …/share`), so ARM's rules and
//! refusals apply as they are.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PortalState;
use super::arm::{Arm, ArmFailure, COMPUTE, RESOURCE_GRAPH, RESOURCES, complete, items, read};
use super::browse::trail;
use super::forms::Posted;
use super::html::{csrf_field, error_banner, essentials, link_to, name_of, notice, page, text, urlencode, value};
use super::session::Signed;

#[derive(Deserialize)]
pub(super) struct Target {
    id: String,
}

fn sharing_url(id: &str) -> String {
    format!("/portal/sharing?id={}", urlencode(id))
}

fn groups_of(g: &Value, kind: &str) -> Vec<String> {
    g["properties"]["sharingProfile"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|grp| grp["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(kind)))
        .flat_map(|grp| grp["ids"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

async fn render(arm: &Arm, signed: &Signed, id: &str, error: Option<&ArmFailure>, done: Option<&str>) -> Response {
    let title = format!("{} — Sharing", name_of(id));
    let g = match read(arm, &format!("{id}?{COMPUTE}&$expand=SharingProfile/Groups")).await {
        Ok(g) => g,
        Err(e) => return page(&title, Some(&signed.session), &trail(id), error_banner(&e)),
    };
    let profile = &g["properties"]["sharingProfile"];
    let permissions = profile["permissions"].as_str().unwrap_or("Private").to_string();
    let community = &profile["communityGalleryInfo"];
    let action = sharing_url(id);
    let ids = [("Subscriptions", groups_of(&g, "Subscriptions")), ("AADTenants", groups_of(&g, "AADTenants"))];
    let content = html! {
        @if let Some(e) = error { (error_banner(e)) }
        @if let Some(d) = done { (notice(d)) }
        (essentials(&[
            ("Gallery", value(name_of(id).to_string())),
            ("Unique name", value(text(&g["properties"]["identifier"]["uniqueName"]))),
            ("Sharing", value(permissions.clone())),
            ("Public name", value(community["publicNames"][0].as_str().unwrap_or("—").to_string())),
            ("Community published", value(if community["communityGalleryEnabled"].as_bool() == Some(true) { "Yes".into() } else { "No".into() })),
        ]))
        h2 { "Sharing method" }
        form.card method="post" action=(action) {
            (csrf_field(&signed.session))
            input type="hidden" name="op" value="permissions";
            fieldset {
                legend { "Who may see this gallery besides its role assignments" }
                @for (v, label) in [("Private", "Role-based access control only"), ("Groups", "RBAC + share directly with subscriptions and tenants"), ("Community", "RBAC + share to the public community")] {
                    label.radio {
                        input type="radio" name="permissions" value=(v) checked[permissions == v];
                        (label)
                    }
                }
            }
            details open[permissions == "Community"] {
                summary { "Community gallery information" }
                @for (name, label, key) in [("publisherUri", "Publisher URI", "publisherUri"), ("publisherContact", "Publisher contact email", "publisherContact"), ("eula", "Legal agreement (EULA)", "eula"), ("publicNamePrefix", "Public name prefix", "publicNamePrefix")] {
                    div.field {
                        label for=(name) { (label) }
                        input #(name) name=(name) value=(community[key].as_str().unwrap_or(""));
                    }
                }
            }
            div.actions { button.primary type="submit" { "Save" } }
        }
        @if permissions == "Groups" {
            h2 { "Shared with" }
            table.list #shared-with {
                thead { tr { th { "Type" } th { "Id" } th {} } }
                tbody {
                    @for (kind, list) in &ids { @for one in list { tr {
                        td { (if *kind == "Subscriptions" { "Subscription" } else { "Tenant" }) }
                        td { code { (one) } }
                        td { form method="post" action=(action) {
                            (csrf_field(&signed.session))
                            input type="hidden" name="op" value="remove";
                            input type="hidden" name="kind" value=(kind);
                            input type="hidden" name="target" value=(one);
                            button.danger type="submit" { "Remove" }
                        } }
                    } } }
                }
            }
            form.card method="post" action=(action) {
                (csrf_field(&signed.session))
                input type="hidden" name="op" value="add";
                div.field {
                    label for="kind" { "Share with" }
                    select #kind name="kind" {
                        option value="Subscriptions" { "Subscription" }
                        option value="AADTenants" { "Tenant" }
                    }
                }
                div.field {
                    label for="target" { "Subscription or tenant id" }
                    input #target name="target" required pattern="[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}" placeholder="00000000-0000-0000-0000-000000000000";
                }
                div.actions { button.primary type="submit" { "Add" } }
            }
        }
        @if permissions == "Community" && community["communityGalleryEnabled"].as_bool() != Some(true) {
            form.card method="post" action=(action) {
                (csrf_field(&signed.session))
                input type="hidden" name="op" value="enable-community";
                p { "Publishing makes the gallery, its definitions and versions readable by everyone signed in to this galleon." }
                div.actions { button.primary type="submit" { "Publish to the community" } }
            }
        }
        @if permissions != "Private" {
            form method="post" action=(action) {
                (csrf_field(&signed.session))
                input type="hidden" name="op" value="reset";
                button.danger type="submit" { "Stop sharing (reset)" }
            }
        }
        p { a href=(link_to(id)) { "Back to the gallery" } }
    };
    page(&title, Some(&signed.session), &trail(id), content)
}

pub(super) async fn form(State(s): State<PortalState>, signed: Signed, Query(t): Query<Target>) -> Response {
    let arm = s.arm(&signed);
    render(&arm, &signed, &t.id, None, None).await
}

pub(super) async fn submit(
    State(s): State<PortalState>,
    Query(t): Query<Target>,
    Posted { signed, form }: Posted,
) -> Response {
    let arm = s.arm(&signed);
    let id = t.id.clone();
    let share = |op: &str, kind: &str, target: &str| {
        let groups = if target.is_empty() { json!([]) } else { json!([{ "type": kind, "ids": [target] }]) };
        json!({ "operationType": op, "groups": groups })
    };
    let (method, path, body, done) = match form.text("op").as_str() {
        "permissions" => {
            let permissions = form.text("permissions");
            let mut profile = json!({ "permissions": permissions });
            if permissions == "Community" {
                let mut info = serde_json::Map::new();
                for key in ["publisherUri", "publisherContact", "eula", "publicNamePrefix"] {
                    info.insert(key.into(), json!(form.text(key)));
                }
                profile["communityGalleryInfo"] = Value::Object(info);
            }
            let body = json!({ "properties": { "sharingProfile": profile } });
            (Method::PATCH, format!("{id}?{COMPUTE}"), body, "Sharing method saved.")
        }
        "add" => (
            Method::POST,
            format!("{id}/share?{COMPUTE}"),
            share("Add", &form.text("kind"), form.text("target").trim()),
            "Shared.",
        ),
        "remove" => (
            Method::POST,
            format!("{id}/share?{COMPUTE}"),
            share("Remove", &form.text("kind"), &form.text("target")),
            "Removed.",
        ),
        "enable-community" => (
            Method::POST,
            format!("{id}/share?{COMPUTE}"),
            share("EnableCommunity", "", ""),
            "Published to the community.",
        ),
        "reset" => (
            Method::POST,
            format!("{id}/share?{COMPUTE}"),
            share("Reset", "", ""),
            "Sharing reset: the gallery is private.",
        ),
        _ => return Redirect::to(&sharing_url(&id)).into_response(),
    };
    // A share is done when it is answered; a change of the sharing method is accepted at once
    // and finishes in the background (the page shows it as saved).
    let wait = method == Method::POST;
    let result = if wait {
        complete(&arm, method, &path, Some(&body), Duration::from_secs(60)).await.map(drop)
    } else {
        arm.call(method, &path, Some(&body)).await.map(drop).map_err(ArmFailure::from)
    };
    match result {
        Ok(()) => render(&arm, &signed, &id, None, Some(done)).await,
        Err(e) => render(&arm, &signed, &id, Some(&e), None).await,
    }
}

/// "Shared with me": the galleries shared with each of the principal's subscriptions, in every
/// region this galleon serves.
pub(super) async fn shared_with_me(State(s): State<PortalState>, signed: Signed) -> Response {
    let arm = s.arm(&signed);
    let subscriptions = items(&arm, &format!("/subscriptions?{RESOURCES}")).await.unwrap_or_default();
    let mut rows: Vec<(String, Value)> = Vec::new();
    for sub in subscriptions.iter().filter_map(|s| s["subscriptionId"].as_str()) {
        for region in s.regions() {
            let path = format!(
                "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{region}/sharedGalleries?{COMPUTE}"
            );
            for g in items(&arm, &path).await.unwrap_or_default() {
                rows.push((sub.to_string(), g));
            }
        }
    }
    let query = json!({ "query": "communitygalleryresources | where type == 'microsoft.compute/locations/communitygalleries'" });
    let community = match arm
        .call(Method::POST, &format!("/providers/Microsoft.ResourceGraph/resources?{RESOURCE_GRAPH}"), Some(&query))
        .await
    {
        Ok(reply) => reply.body["data"].as_array().cloned().unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let content: Markup = html! {
        p { "Galleries other owners share with your subscriptions. You can read them and create disks and VMs from their versions." }
        @if rows.is_empty() {
            p.empty { "Nothing is shared with you." }
        } @else {
            table.list #shared-with-me {
                thead { tr { th { "Gallery" } th { "Region" } th { "Shared with subscription" } } }
                tbody { @for (sub, g) in &rows { tr {
                    td { code { (text(&g["name"])) } }
                    td { (text(&g["location"])) }
                    td { code { (sub) } }
                } } }
            }
        }
        h2 { "Community galleries" }
        @if community.is_empty() {
            p.empty { "No community gallery is published." }
        } @else {
            table.list #community {
                thead { tr { th { "Public name" } th { "Region" } th { "Publisher" } th { "Contact" } } }
                tbody { @for c in &community {
                    @let meta = &c["properties"]["properties"]["communityMetadata"];
                    tr {
                        td { code { (text(&c["name"])) } }
                        td { (text(&c["location"])) }
                        td { (text(&meta["publisherUri"])) }
                        td { (text(&meta["publisherContact"])) }
                    }
                } }
            }
        }
    };
    page("Shared with me", Some(&signed.session), &[], content)
}
