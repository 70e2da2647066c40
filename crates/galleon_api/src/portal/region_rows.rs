//! The target-region table of the Replication tab (create and update): one row per region with
//! its replica count and storage type. On create, the first row is the source region: shown,
//! required, and not removable.

use maud::{Markup, html};
use serde_json::{Value, json};

use galleon_model::image_version::MAX_REPLICA_COUNT;

use super::forms::Form;

/// The storage types, as the model has them.
pub(crate) const STORAGE_TYPES: &[&str] = galleon_model::image_version::StorageAccountType::ALL;

/// One row as the form holds it.
pub(crate) struct Row {
    pub region: String,
    pub count: String,
    pub storage: String,
}

/// The rows a form sent (`regionName`, `regionCount`, `regionStorage` repeated), empty names
/// skipped.
pub(crate) fn parse(form: &Form) -> Vec<Row> {
    let (names, counts, storages) = (form.all("regionName"), form.all("regionCount"), form.all("regionStorage"));
    names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.trim().is_empty())
        .map(|(i, n)| Row {
            region: n.trim().to_string(),
            count: counts.get(i).map_or(String::new(), |c| c.trim().to_string()),
            storage: storages.get(i).map_or(String::new(), |s| s.trim().to_string()),
        })
        .collect()
}

/// The rows of an existing version's `targetRegions`.
pub(crate) fn from_wire(target_regions: &Value) -> Vec<Row> {
    target_regions
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|t| Row {
                    // ARM answers display names ("East US"); the form uses canonical ones.
                    region: galleon_model::region::canonical(t["name"].as_str().unwrap_or_default()),
                    count: t["regionalReplicaCount"].as_i64().map_or(String::new(), |c| c.to_string()),
                    storage: t["storageAccountType"].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `targetRegions` for ARM. A count or storage type left empty is omitted, so the version's
/// default applies (as in the Azure portal). A count that is not a number is sent as written,
/// and ARM's validation answers it.
pub(crate) fn to_wire(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                let mut t = json!({ "name": r.region });
                if !r.count.is_empty() {
                    t["regionalReplicaCount"] = r.count.parse::<i64>().map_or_else(|_| json!(r.count), |c| json!(c));
                }
                if !r.storage.is_empty() {
                    t["storageAccountType"] = json!(r.storage);
                }
                t
            })
            .collect(),
    )
}

/// The editable table. `source` names the source region (create): it is the first row.
pub(crate) fn table(regions: &[String], rows: &[Row], source: Option<&str>, error: Option<String>) -> Markup {
    let region_select = |selected: &str, label: String| {
        html! {
            select name="regionName" aria-label=(label) {
                option value="" { "Select a region" }
                @for r in regions { option value=(r) selected[r == selected] { (r) } }
            }
        }
    };
    let storage_select = |selected: &str, label: String| {
        html! {
            select name="regionStorage" aria-label=(label) {
                option value="" selected[selected.is_empty()] { "Default" }
                @for t in STORAGE_TYPES { option value=(t) selected[t.eq_ignore_ascii_case(selected)] { (t) } }
            }
        }
    };
    let extra: Vec<&Row> = match source {
        Some(src) => rows.iter().filter(|r| !r.region.eq_ignore_ascii_case(src)).collect(),
        None => rows.iter().collect(),
    };
    let source_row = source.map(|src| rows.iter().find(|r| r.region.eq_ignore_ascii_case(src)));
    html! {
        div.field.invalid[error.is_some()] {
            table.list.regions #target-regions {
                caption { "Target regions" }
                thead { tr { th scope="col" { "Region" } th scope="col" { "Replicas" } th scope="col" { "Storage type" } th scope="col" { span.visually-hidden { "Actions" } } } }
                tbody {
                    @if let Some(src) = source {
                        @let row = source_row.flatten();
                        tr.source-row {
                            td {
                                input type="text" name="regionName" value=(src) readonly aria-label="Source region (required)" data-source-region="";
                                span.tag { "source" }
                            }
                            td { input type="number" min="1" max=(MAX_REPLICA_COUNT) name="regionCount" aria-label="Replicas in the source region" value=(row.map_or("", |r| r.count.as_str())); }
                            td { (storage_select(row.map_or("", |r| r.storage.as_str()), "Storage type in the source region".into())) }
                            td {}
                        }
                    }
                    @for (i, row) in extra.iter().enumerate() {
                        tr {
                            td { (region_select(&row.region, format!("Region {}", i + 2))) }
                            td { input type="number" min="1" max=(MAX_REPLICA_COUNT) name="regionCount" aria-label=(format!("Replicas, row {}", i + 2)) value=(row.count); }
                            td { (storage_select(&row.storage, format!("Storage type, row {}", i + 2))) }
                            td { button.link type="button" data-remove-row="" { "Remove" } }
                        }
                    }
                }
            }
            // Rows added by the script are copies of this (a template is not part of the form).
            template #target-regions-row { tr {
                td { (region_select("", "Region".into())) }
                td { input type="number" min="1" max=(MAX_REPLICA_COUNT) name="regionCount" aria-label="Replicas"; }
                td { (storage_select("", "Storage type".into())) }
                td { button.link type="button" data-remove-row="" { "Remove" } }
            } }
            button type="button" data-add-row="target-regions" { "+ Add target region" }
            div.error #regions-error role="alert" { @if let Some(e) = &error { (e) } }
        }
    }
}
