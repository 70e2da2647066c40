//! A resource's activity log, as the Azure portal shows it on every resource: the writes of the
//! last week on it and on what it holds, newest first, read through the same ARM route
//! `az monitor activity-log list` uses (so the caller sees only what it may read).

use maud::{Markup, html};
use serde_json::Value;

use super::arm::{Arm, INSIGHTS, items};
use super::html::{error_banner, state_badge, text, urlencode};

/// How far back the section looks.
const DAYS: i64 = 7;
/// How many events it shows.
const SHOWN: usize = 25;

/// The "Activity log" section of the page of `id` (a subscription shows all of its events).
pub(super) async fn section(arm: &Arm, id: &str) -> Markup {
    let Some(sub) = id.strip_prefix("/subscriptions/").and_then(|r| r.split('/').next()) else {
        return html! {};
    };
    let since = time::OffsetDateTime::now_utc() - time::Duration::days(DAYS);
    let mut filter = format!("eventTimestamp ge '{}'", galleon_api_types::dates::format(since));
    if id.trim_end_matches('/').matches('/').count() > 2 {
        filter.push_str(&format!(" and resourceUri eq '{}'", id.replace('\'', "")));
    }
    let path = format!(
        "/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values?{INSIGHTS}&$filter={}",
        urlencode(&filter)
    );
    let events = items(arm, &path).await;
    html! {
        details.activity #activity {
            summary { h2 { "Activity log" } }
            @match &events {
                Err(e) => (error_banner(e)),
                Ok(events) if events.is_empty() => p.empty { "No writes in the last " (DAYS) " days." },
                Ok(events) => table.list {
                    thead { tr { th { "Operation name" } th { "Status" } th { "Time stamp" } th { "Resource" } th { "Event initiated by" } } }
                    tbody { @for e in events.iter().take(SHOWN) { (row(e)) } }
                }
            }
        }
    }
}

fn row(e: &Value) -> Markup {
    let resource = text(&e["resourceId"]);
    let name = resource.rsplit('/').next().unwrap_or_default().to_string();
    html! {
        tr {
            td { (text(&e["operationName"]["value"])) }
            td { (state_badge(&text(&e["status"]["value"]))) }
            td { time datetime=(text(&e["eventTimestamp"])) { (text(&e["eventTimestamp"])) } }
            td title=(resource) { (name) }
            td { (text(&e["caller"])) }
        }
    }
}
