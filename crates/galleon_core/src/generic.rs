//! ARM's generic view over every resource type: the `…/resources` lists of a subscription or a
//! resource group, as `az resource list` and inventory tools read them.

use galleon_model::GroupRef;
use galleon_model::resource_id::ResourceId;
use galleon_store::Kind;
use serde_json::Value;

use crate::{Core, CoreResult, Page, PageRequest};

/// The kinds that are ARM resources in a group, in listing order.
pub const LISTED: [Kind; 8] = [
    Kind::Gallery,
    Kind::Image,
    Kind::Version,
    Kind::Disk,
    Kind::Snapshot,
    Kind::ManagedImage,
    Kind::Vm,
    Kind::Network,
];

/// One resource as the generic list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericResource {
    /// ARM id.
    pub id: String,
    /// Name.
    pub name: String,
    /// ARM type, e.g. `Microsoft.Compute/galleries/images`.
    pub resource_type: String,
    /// Region.
    pub location: String,
    /// Tags (a JSON object).
    pub tags: Value,
}

fn generic(body: &Value) -> Option<GenericResource> {
    let id = body.get("id")?.as_str()?.to_string();
    Some(GenericResource {
        resource_type: ResourceId::parse(&id)?.type_name(),
        name: body.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
        location: body.get("location").and_then(Value::as_str).unwrap_or_default().to_string(),
        tags: body.get("tags").cloned().unwrap_or_else(|| Value::Object(Default::default())),
        id,
    })
}

impl Core {
    /// One page of the resources of a subscription (or of one of its groups), optionally of one
    /// type (compared case-insensitively). The cursor is `{key}|{kind index}` (ARM names never
    /// hold `|`).
    pub async fn list_resources(
        &self,
        subscription: &str,
        group: Option<&GroupRef>,
        resource_type: Option<&str>,
        page: &PageRequest,
    ) -> CoreResult<Page<GenericResource>> {
        match group {
            Some(g) => self.require_group(g).await?,
            None => self.require_subscription(subscription).await.map(drop)?,
        }
        let prefix = match group {
            Some(g) => format!("{}/", g.key()),
            None => format!("/subscriptions/{}/", subscription.to_ascii_lowercase()),
        };
        let (start, mut after) = match page.after.as_deref().and_then(|c| c.rsplit_once('|')) {
            Some((key, i)) => (i.parse::<usize>().unwrap_or(LISTED.len()), Some(key.to_string())),
            None => (0, None),
        };
        let size = page.size();
        let mut rows = Vec::new();
        'kinds: for (i, kind) in LISTED.iter().enumerate().skip(start) {
            loop {
                let docs = self.store().list(*kind, &prefix, after.as_deref(), 500).await?;
                let full = docs.len() == 500;
                after = docs.last().map(|d| d.key.clone());
                for doc in docs {
                    if crate::soft_delete::is_soft_key(&doc.key) {
                        continue;
                    }
                    let Some(r) = generic(&doc.body) else { continue };
                    if resource_type.is_some_and(|t| !t.eq_ignore_ascii_case(&r.resource_type)) {
                        continue;
                    }
                    rows.push((format!("{}|{i}", doc.key), r));
                    if rows.len() > size {
                        break 'kinds;
                    }
                }
                if !full {
                    break;
                }
            }
            after = None;
        }
        Ok(Page::from_rows(rows, size))
    }
}
