//! Browsing: the galleries blade with its search box, subscriptions, resource groups, and one
//! page per resource (gallery, image definition, image version, disk, snapshot, managed image).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::PortalState;
use super::arm::{Arm, ArmFailure, COMPUTE, DISKS, IMAGES, RESOURCES, items, read};
use super::html::{
    Crumb, crumb, error_banner, essentials, link_to, name_of, page, state_badge, text, urlencode, value,
};
use super::session::Signed;

#[derive(Deserialize)]
pub(super) struct Search {
    q: Option<String>,
}

/// Every gallery the principal can read, across its subscriptions, filtered by name.
pub(super) async fn galleries(State(s): State<PortalState>, signed: Signed, Query(q): Query<Search>) -> Response {
    let arm = s.arm(&signed);
    let needle = q.q.unwrap_or_default().trim().to_lowercase();
    let (rows, error) = match all_galleries(&arm).await {
        Ok(g) => (g, None),
        Err(e) => (vec![], Some(e)),
    };
    let rows: Vec<&Value> = rows.iter().filter(|g| text(&g["name"]).to_lowercase().contains(&needle)).collect();
    let content = html! {
        div.commandbar {
            a.button.primary href="/portal/create/gallery" { "+ Create" }
        }
        @if let Some(e) = &error { (error_banner(e)) }
        form.filter role="search" method="get" action="/portal/galleries" {
            label for="q" { "Filter by name" }
            input #q type="search" name="q" value=(needle) placeholder="Search galleries";
            button type="submit" { "Search" }
        }
        @if rows.is_empty() {
            p.empty { @if needle.is_empty() { "No galleries yet. Create one to get started." } @else { "No gallery matches “" (needle) "”." } }
        } @else {
            table.list #galleries {
                caption.visually-hidden { "Galleries" }
                thead { tr { th { "Name" } th { "Resource group" } th { "Location" } th { "Subscription" } th { "Description" } } }
                tbody {
                    @for g in &rows {
                        @let id = text(&g["id"]);
                        tr {
                            td { a href=(link_to(&id)) { (text(&g["name"])) } }
                            td { (segment(&id, "resourceGroups")) }
                            td { (text(&g["location"])) }
                            td { (segment(&id, "subscriptions")) }
                            td { (text(&g["properties"]["description"])) }
                        }
                    }
                }
            }
        }
    };
    page("Azure Compute Galleries", Some(&signed.session), &[crumb("Home", "/portal")], content)
}

async fn all_galleries(arm: &Arm) -> Result<Vec<Value>, ArmFailure> {
    let mut all = vec![];
    for sub in items(arm, &format!("/subscriptions?{RESOURCES}")).await? {
        let id = text(&sub["subscriptionId"]);
        all.extend(items(arm, &format!("/subscriptions/{id}/providers/Microsoft.Compute/galleries?{COMPUTE}")).await?);
    }
    all.sort_by_key(|g| text(&g["name"]).to_lowercase());
    Ok(all)
}

pub(super) async fn subscriptions(State(s): State<PortalState>, signed: Signed) -> Response {
    let arm = s.arm(&signed);
    let result = items(&arm, &format!("/subscriptions?{RESOURCES}")).await;
    let content = html! {
        @match &result {
            Err(e) => (error_banner(e)),
            Ok(subs) => table.list {
                thead { tr { th { "Subscription name" } th { "Subscription id" } th { "State" } } }
                tbody { @for sub in subs {
                    tr {
                        td { a href=(link_to(&text(&sub["id"]))) { (text(&sub["displayName"])) } }
                        td { code { (text(&sub["subscriptionId"])) } }
                        td { (text(&sub["state"])) }
                    }
                } }
            }
        }
    };
    page("Subscriptions", Some(&signed.session), &[crumb("Home", "/portal")], content)
}

/// The value after `key` in an ARM id (`segment(id, "resourceGroups")` → the group name).
pub(crate) fn segment(id: &str, key: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    parts.windows(2).find(|w| w[0].eq_ignore_ascii_case(key)).map(|w| w[1].to_string()).unwrap_or_default()
}

/// The id of the parent resource (two segments up; skips `providers/Namespace`).
pub(crate) fn parent_of(id: &str) -> String {
    let parts: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    let mut end = parts.len().saturating_sub(2);
    if end >= 2 && parts[end - 2].eq_ignore_ascii_case("providers") {
        end -= 2;
    }
    parts[..end].join("/")
}

/// The breadcrumb trail of an id: subscription, group, gallery, definition.
pub(crate) fn trail(id: &str) -> Vec<Crumb> {
    let mut crumbs = vec![crumb("Home", "/portal")];
    let mut cur = id.to_string();
    let mut chain = vec![];
    while cur.matches('/').count() >= 2 {
        cur = parent_of(&cur);
        if cur.is_empty() {
            break;
        }
        chain.push(cur.clone());
    }
    for c in chain.iter().rev() {
        crumbs.push(crumb(name_of(c), link_to(c)));
    }
    crumbs
}

/// The kind of resource an id names, by its last type segment.
pub(crate) fn kind(id: &str) -> &'static str {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    let ty = if parts.len() >= 2 { parts[parts.len() - 2].to_ascii_lowercase() } else { String::new() };
    match ty.as_str() {
        "subscriptions" => "subscription",
        "resourcegroups" => "group",
        "galleries" => "gallery",
        "images" if parts.iter().any(|p| p.eq_ignore_ascii_case("galleries")) => "definition",
        "images" => "managed image",
        "versions" => "version",
        "disks" => "disk",
        "snapshots" => "snapshot",
        _ => "",
    }
}

/// The api-version the portal uses for an id's resource type.
pub(crate) fn api_of(id: &str) -> &'static str {
    match kind(id) {
        "subscription" | "group" => RESOURCES,
        "disk" | "snapshot" => DISKS,
        "managed image" => IMAGES,
        _ => COMPUTE,
    }
}

/// `/portal/r/{id}`: the page of one resource.
pub(super) async fn resource(State(s): State<PortalState>, signed: Signed, Path(id): Path<String>) -> Response {
    let id = format!("/{}", id.trim_matches('/'));
    let arm = s.arm(&signed);
    let kind = kind(&id);
    let api = api_of(&id);
    let expand = if kind == "version" { "&$expand=ReplicationStatus" } else { "" };
    let title = if kind.is_empty() { name_of(&id).to_string() } else { format!("{} ({kind})", name_of(&id)) };
    let body = match read(&arm, &format!("{id}?{api}{expand}")).await {
        Err(e) => return page(&title, Some(&signed.session), &trail(&id), error_banner(&e)),
        Ok(body) => body,
    };
    let content = match kind {
        "subscription" => subscription_page(&arm, &id).await,
        "group" => group_page(&arm, &id).await,
        "gallery" => gallery_page(&arm, &id, &body).await,
        "definition" => definition_page(&arm, &id, &body).await,
        "version" => {
            let provenance = provenance_section(&arm, &id).await;
            html! { (super::update_version::version_page(&s, &id, &body, &signed)) (provenance) }
        }
        _ => other_page(&id, &body),
    };
    let activity = super::activity::section(&arm, &id).await;
    page(&title, Some(&signed.session), &trail(&id), html! { (content) (activity) })
}

async fn subscription_page(arm: &Arm, id: &str) -> Markup {
    let groups = items(arm, &format!("{id}/resourcegroups?{RESOURCES}")).await;
    html! {
        h2 { "Resource groups" }
        @match &groups {
            Err(e) => (error_banner(e)),
            Ok(groups) => table.list {
                thead { tr { th { "Name" } th { "Location" } } }
                tbody { @for g in groups { tr {
                    td { a href=(link_to(&text(&g["id"]))) { (text(&g["name"])) } }
                    td { (text(&g["location"])) }
                } } }
            }
        }
    }
}

async fn group_page(arm: &Arm, id: &str) -> Markup {
    let lists = [
        ("Galleries", format!("{id}/providers/Microsoft.Compute/galleries?{COMPUTE}")),
        ("Disks", format!("{id}/providers/Microsoft.Compute/disks?{DISKS}")),
        ("Snapshots", format!("{id}/providers/Microsoft.Compute/snapshots?{DISKS}")),
        ("Managed images", format!("{id}/providers/Microsoft.Compute/images?{IMAGES}")),
    ];
    let mut sections = vec![];
    for (label, path) in lists {
        sections.push((label, items(arm, &path).await));
    }
    html! {
        div.commandbar { a.button href=(format!("/portal/create/gallery?group={}", urlencode(id))) { "+ Create gallery" } }
        @for (label, list) in &sections {
            h2 { (label) }
            @match list {
                Err(e) => (error_banner(e)),
                Ok(items) if items.is_empty() => p.empty { "None." },
                Ok(items) => table.list {
                    thead { tr { th { "Name" } th { "Location" } th { "Provisioning state" } } }
                    tbody { @for r in items { tr {
                        td { a href=(link_to(&text(&r["id"]))) { (text(&r["name"])) } }
                        td { (text(&r["location"])) }
                        td { (state_badge(&text(&r["properties"]["provisioningState"]))) }
                    } } }
                }
            }
        }
    }
}

async fn gallery_page(arm: &Arm, id: &str, g: &Value) -> Markup {
    let defs = items(arm, &format!("{id}/images?{COMPUTE}")).await;
    let hooks = items(arm, &format!("{id}/providers/Galleon.Events/eventSubscriptions?{COMPUTE}")).await;
    let p = &g["properties"];
    html! {
        div.commandbar {
            details.menu {
                summary.button.primary { "+ Add" }
                div.menu-items {
                    a href=(format!("/portal/create/definition?gallery={}", urlencode(id))) { "VM image definition" }
                }
            }
            a.button href=(format!("/portal/sharing?id={}", urlencode(id))) { "Sharing" }
            (delete_button(id))
        }
        (essentials(&[
            ("Resource group", value(segment(id, "resourceGroups"))),
            ("Location", value(text(&g["location"]))),
            ("Subscription", value(segment(id, "subscriptions"))),
            ("Description", value(text(&p["description"]))),
            ("Provisioning state", value(text(&p["provisioningState"]))),
        ]))
        h2 { "Image definitions" }
        @match &defs {
            Err(e) => (error_banner(e)),
            Ok(defs) if defs.is_empty() => p.empty { "No image definitions. Use “+ Add → VM image definition”." },
            Ok(defs) => table.list #definitions {
                thead { tr { th { "Name" } th { "OS type" } th { "OS state" } th { "VM generation" } th { "Publisher" } th { "Offer" } th { "SKU" } } }
                tbody { @for d in defs {
                    @let dp = &d["properties"];
                    tr {
                        td { a href=(link_to(&text(&d["id"]))) { (text(&d["name"])) } }
                        td { (text(&dp["osType"])) }
                        td { (text(&dp["osState"])) }
                        td { (text(&dp["hyperVGeneration"])) }
                        td { (text(&dp["identifier"]["publisher"])) }
                        td { (text(&dp["identifier"]["offer"])) }
                        td { (text(&dp["identifier"]["sku"])) }
                    }
                } }
            }
        }
        // galleon's webhooks on this gallery (`galleon event subscription create -g -r`).
        @if let Ok(hooks) = &hooks && !hooks.is_empty() {
            h2 { "Event subscriptions" }
            table.list #event-subscriptions {
                thead { tr { th { "Name" } th { "Endpoint" } th { "Event types" } th { "Pending" } th { "Dead letters" } } }
                tbody { @for h in hooks {
                    @let hp = &h["properties"];
                    tr {
                        td { (text(&h["name"])) }
                        td { (text(&hp["destination"]["endpointUrl"])) }
                        td { (hp["filter"]["includedEventTypes"].as_array().map(|t| t.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_else(|| "all".into())) }
                        td { (text(&hp["pendingEvents"])) }
                        td { (text(&hp["deadLetters"])) }
                    }
                } }
            }
        }
    }
}

async fn definition_page(arm: &Arm, id: &str, d: &Value) -> Markup {
    let versions = items(arm, &format!("{id}/versions?{COMPUTE}")).await;
    let latest = latest_by_region(arm, id, versions.as_deref().unwrap_or_default()).await;
    let retention = retention_preview(arm, id).await;
    let p = &d["properties"];
    let create = format!("/portal/create/version?definition={}", urlencode(id));
    html! {
        div.commandbar {
            a.button.primary href=(create) { "+ Create a version" }
            (delete_button(id))
        }
        (essentials(&[
            ("OS type", value(text(&p["osType"]))),
            ("OS state", value(text(&p["osState"]))),
            ("VM generation", value(text(&p["hyperVGeneration"]))),
            ("Publisher", value(text(&p["identifier"]["publisher"]))),
            ("Offer", value(text(&p["identifier"]["offer"]))),
            ("SKU", value(text(&p["identifier"]["sku"]))),
            ("End of life date", value(text(&p["endOfLifeDate"]))),
            ("Location", value(text(&d["location"]))),
            ("Description", value(text(&p["description"]))),
            ("Provisioning state", value(text(&p["provisioningState"]))),
        ]))
        section.getstarted aria-labelledby="getstarted-h" {
            h2 #getstarted-h { "Get started" }
            p { "Create a version of this image from a disk or snapshot, another image version, a managed image or a VHD in a storage account, and replicate it to the regions that need it." }
            a.button href=(create) { "Create a version" }
        }
        h2 { "Versions" }
        @match &versions {
            Err(e) => (error_banner(e)),
            Ok(vs) if vs.is_empty() => p.empty { "No versions yet." },
            Ok(vs) => table.list #versions {
                thead { tr { th { "Version" } th { "Provisioning state" } th { "Target regions" } th { "Exclude from latest" } th { "End of life date" } } }
                tbody { @for v in vs {
                    @let pp = &v["properties"]["publishingProfile"];
                    tr {
                        td { a href=(link_to(&text(&v["id"]))) { (text(&v["name"])) } }
                        td { (state_badge(&text(&v["properties"]["provisioningState"]))) }
                        td { (pp["targetRegions"].as_array().map(|r| r.iter().map(|t| text(&t["name"])).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                        td { (if pp["excludeFromLatest"].as_bool().unwrap_or(false) { "Yes" } else { "No" }) }
                        td { (text(&pp["endOfLifeDate"])) }
                    }
                } }
            }
        }
        @if let Some(retention) = &retention {
            h2 { "Retention policy" }
            @match retention {
                Err(e) => (error_banner(e)),
                Ok(r) => {
                    p #retention-policy {
                        @if let Some(n) = r["policy"]["keepLatest"].as_u64() { "Keep the newest " (n) " versions. " }
                        @if let Some(d) = r["policy"]["deleteAfterEndOfLifeDays"].as_u64() { "Delete versions " (d) " days after their end of life. " }
                        @if r["policy"]["countExcludedFromLatest"] == false { "Versions excluded from latest are kept and not counted." }
                    }
                    table.list #retention {
                        thead { tr { th { "Version" } th { "Now" } th { "Why" } } }
                        tbody { @for v in r["versions"].as_array().into_iter().flatten() {
                            tr {
                                td { (text(&v["name"])) }
                                td { (if v["action"] == "delete" { "Would be deleted" } else { "Kept" }) }
                                td { (v["reasons"].as_array().map(|rs| rs.iter().map(text).collect::<Vec<_>>().join("; ")).unwrap_or_default()) }
                            }
                        } }
                    }
                }
            }
        }
        @if !latest.is_empty() {
            h2 { "Latest by region" }
            table.list #latest {
                thead { tr { th { "Region" } th { "latest" } th { "Why not the others" } } }
                tbody { @for (region, explained) in &latest {
                    tr {
                        td { (region) }
                        @match explained {
                            Err(e) => td colspan="2" { (error_banner(e)) },
                            Ok(x) => {
                                td { (x["latest"].as_str().unwrap_or("none")) }
                                td { ul { @for v in x["versions"].as_array().into_iter().flatten().filter(|v| v["latest"] != true) {
                                    li { (text(&v["name"])) ": " (text(&v["explanation"])) }
                                } } }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// A version's signed provenance: who and when, the key, and the JWS to check elsewhere.
async fn provenance_section(arm: &Arm, id: &str) -> Markup {
    let Ok(p) = read(arm, &format!("{id}/provenance?{COMPUTE}")).await else {
        return html! { section #provenance { h2 { "Signed provenance" } p.empty { "Not signed yet: a version is signed when its build succeeds." } } };
    };
    let st = &p["statement"];
    html! {
        section #provenance {
            h2 { "Signed provenance" }
            (essentials(&[
                ("Signed by gallery key", value(text(&p["keyId"]))),
                ("Created by", value(text(&st["createdBy"]))),
                ("Created at", value(text(&st["createdAt"]))),
                ("galleon version", value(text(&st["galleonVersion"]))),
                ("Sources", value(st["sources"].as_array().map(|s| s.iter().map(|x| text(&x["id"])).collect::<Vec<_>>().join(", ")).unwrap_or_default())),
            ]))
            details {
                summary { "JWS (check it with the keys at /.well-known/galleon/provenance-keys)" }
                pre { code { (text(&p["jws"])) } }
            }
        }
    }
}

/// The definition's retention policy and what it would delete now (galleon's preview), or
/// `None` when it has none.
async fn retention_preview(arm: &Arm, id: &str) -> Option<Result<Value, ArmFailure>> {
    read(arm, &format!("{id}/retentionPolicy?{COMPUTE}")).await.ok()?;
    let preview = arm.call(axum::http::Method::POST, &format!("{id}/retentionPolicy/preview?{COMPUTE}"), None).await;
    Some(preview.map(|r| r.body).map_err(ArmFailure::from))
}

/// `latest` in every region the versions target, with the reason each other version is not
/// it (galleon's `explainLatest`, asked through the router as the caller).
async fn latest_by_region(arm: &Arm, id: &str, versions: &[Value]) -> Vec<(String, Result<Value, ArmFailure>)> {
    let mut regions: Vec<String> = Vec::new();
    for v in versions {
        for t in v["properties"]["publishingProfile"]["targetRegions"].as_array().into_iter().flatten() {
            let name = text(&t["name"]);
            if !regions.contains(&name) {
                regions.push(name);
            }
        }
    }
    let mut out = Vec::new();
    for region in regions {
        let explained = read(arm, &format!("{id}/explainLatest?region={}&{COMPUTE}", urlencode(&region))).await;
        out.push((region, explained));
    }
    out
}

fn other_page(id: &str, r: &Value) -> Markup {
    let p = &r["properties"];
    let size = p["diskSizeBytes"].as_u64().map(|b| format!("{b} bytes")).unwrap_or_else(|| text(&p["diskSizeGB"]));
    html! {
        div.commandbar { (delete_button(id)) }
        (essentials(&[
            ("Location", value(text(&r["location"]))),
            ("Resource group", value(segment(id, "resourceGroups"))),
            ("OS type", value(text(&p["osType"]))),
            ("Size", value(size)),
            ("Disk state", value(text(&p["diskState"]))),
            ("Digest", value(text(&p["digest"]))),
            ("Provisioning state", value(text(&p["provisioningState"]))),
        ]))
    }
}

/// The "Delete" command, which asks for confirmation first.
pub(crate) fn delete_button(id: &str) -> Markup {
    html! { a.button.danger href=(format!("/portal/delete?id={}", urlencode(id))) { "Delete" } }
}
