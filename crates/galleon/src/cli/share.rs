//! `galleon sig share …` and the `…-shared` commands: a gallery shared with subscriptions and
//! tenants, and the consumer's read-only view of it, with az's arguments and output.

use galleon_client::api_version::{RESOURCE_GRAPH, SHARE};
use hyper::Method;
use serde_json::{Value, json};

use super::args::{CommunityArgs, CommunityGalleryRef, ShareCommand, ShareIds, SharedAt, SharedGalleryRef};
use super::{COMPUTE, Session};

fn shared_path(s: &Session, location: &str) -> String {
    format!("/subscriptions/{}/providers/Microsoft.Compute/locations/{location}/sharedGalleries", s.subscription)
}

/// `sharedTo=tenant` when asked (az maps its legacy `subscription` to nothing).
fn shared_to(api: &str, to: Option<&str>) -> String {
    match to {
        Some(t) if t.eq_ignore_ascii_case("tenant") => format!("{api}&sharedTo=tenant"),
        _ => api.to_string(),
    }
}

fn groups(ids: &ShareIds) -> anyhow::Result<Value> {
    anyhow::ensure!(
        !ids.subscription_ids.is_empty() || !ids.tenant_ids.is_empty(),
        "usage error: --subscription-ids or --tenant-ids is required"
    );
    let mut groups = Vec::new();
    if !ids.subscription_ids.is_empty() {
        groups.push(json!({ "type": "Subscriptions", "ids": ids.subscription_ids }));
    }
    if !ids.tenant_ids.is_empty() {
        groups.push(json!({ "type": "AADTenants", "ids": ids.tenant_ids }));
    }
    Ok(Value::Array(groups))
}

/// `sig share add|remove|reset`: a POST that is long-running; az prints the empty result.
pub(super) async fn share(s: &Session, command: ShareCommand) -> anyhow::Result<Value> {
    let (gallery, body) = match command {
        ShareCommand::Wait { gallery, condition, timing } => {
            let path = s.gallery_path(&gallery.resource_group, &gallery.gallery_name);
            s.wait_for(&path, &format!("{COMPUTE}&$select=Permissions"), &timing, |found| condition.met(found)).await?;
            return Ok(Value::Null);
        }
        ShareCommand::Add(ids) => {
            let body = json!({ "operationType": "Add", "groups": groups(&ids)? });
            (ids.gallery, body)
        }
        ShareCommand::Remove(ids) => {
            let body = json!({ "operationType": "Remove", "groups": groups(&ids)? });
            (ids.gallery, body)
        }
        ShareCommand::Reset { gallery } => (gallery, json!({ "operationType": "Reset", "groups": [] })),
        ShareCommand::EnableCommunity { gallery } => {
            (gallery, json!({ "operationType": "EnableCommunity", "groups": [] }))
        }
    };
    let path = format!("{}/share", s.gallery_path(&gallery.resource_group, &gallery.gallery_name));
    let reply = s.client.call(Method::POST, &format!("{path}?{SHARE}"), Some(&body)).await?;
    s.client.wait(&reply).await?;
    Ok(json!({}))
}

/// `sig list-shared`.
pub(super) async fn list_galleries(s: &Session, at: SharedAt) -> anyhow::Result<Value> {
    Ok(s.list(&shared_path(s, &at.location), &shared_to(SHARE, at.shared_to.as_deref())).await?)
}

/// `sig show-shared`.
pub(super) async fn show_gallery(s: &Session, g: SharedGalleryRef) -> anyhow::Result<Value> {
    Ok(s.get(&format!("{}/{}", shared_path(s, &g.location), g.gallery_unique_name), COMPUTE).await?)
}

/// `sig image-definition list-shared`.
pub(super) async fn list_images(s: &Session, g: SharedGalleryRef, to: Option<String>) -> anyhow::Result<Value> {
    let path = format!("{}/{}/images", shared_path(s, &g.location), g.gallery_unique_name);
    Ok(s.list(&path, &shared_to(SHARE, to.as_deref())).await?)
}

/// `sig image-definition show-shared`.
pub(super) async fn show_image(s: &Session, g: SharedGalleryRef, image: &str) -> anyhow::Result<Value> {
    let path = format!("{}/{}/images/{image}", shared_path(s, &g.location), g.gallery_unique_name);
    Ok(s.get(&path, COMPUTE).await?)
}

/// `sig image-version list-shared`.
pub(super) async fn list_versions(
    s: &Session,
    g: SharedGalleryRef,
    image: &str,
    to: Option<String>,
) -> anyhow::Result<Value> {
    let path = format!("{}/{}/images/{image}/versions", shared_path(s, &g.location), g.gallery_unique_name);
    Ok(s.list(&path, &shared_to(SHARE, to.as_deref())).await?)
}

/// `sig image-version show-shared`.
pub(super) async fn show_version(
    s: &Session,
    g: SharedGalleryRef,
    image: &str,
    version: &str,
) -> anyhow::Result<Value> {
    let path = format!("{}/{}/images/{image}/versions/{version}", shared_path(s, &g.location), g.gallery_unique_name);
    Ok(s.get(&path, COMPUTE).await?)
}

fn community_path(s: &Session, g: &CommunityGalleryRef) -> String {
    format!(
        "/subscriptions/{}/providers/Microsoft.Compute/locations/{}/communityGalleries/{}",
        s.subscription, g.location, g.public_gallery_name
    )
}

/// `sig list-community`: as az, through Resource Graph; az prints id, location, name,
/// communityMetadata and uniqueId of each.
pub(super) async fn list_community(s: &Session, location: Option<&str>) -> anyhow::Result<Value> {
    let mut query =
        "communitygalleryresources| where type == 'microsoft.compute/locations/communitygalleries'".to_string();
    if let Some(l) = location {
        query.push_str(&format!(" | where location == '{}'", l.replace('\'', "")));
    }
    let mut out = Vec::new();
    let mut skip: Option<String> = None;
    loop {
        let mut options = json!({ "$top": 100 });
        if let Some(t) = &skip {
            options["$skipToken"] = json!(t);
        }
        let body = json!({ "query": query, "options": options });
        let reply = s
            .client
            .call(Method::POST, &format!("/providers/Microsoft.ResourceGraph/resources?{RESOURCE_GRAPH}"), Some(&body))
            .await?;
        for item in reply.body["data"].as_array().into_iter().flatten() {
            out.push(json!({
                "id": item["id"], "location": item["location"], "name": item["name"],
                "communityMetadata": item["properties"]["properties"]["communityMetadata"],
                "uniqueId": item["properties"]["identifier"]["uniqueId"],
            }));
        }
        match reply.body["$skipToken"].as_str() {
            Some(t) => skip = Some(t.to_string()),
            None => return Ok(Value::Array(out)),
        }
    }
}

/// `sig show-community`.
pub(super) async fn show_community(s: &Session, g: CommunityGalleryRef) -> anyhow::Result<Value> {
    Ok(s.get(&community_path(s, &g), COMPUTE).await?)
}

/// `sig image-definition list-community` / `show-community` (`image` given).
pub(super) async fn community_images(
    s: &Session,
    g: CommunityGalleryRef,
    image: Option<&str>,
) -> anyhow::Result<Value> {
    let base = format!("{}/images", community_path(s, &g));
    Ok(match image {
        Some(i) => s.get(&format!("{base}/{i}"), COMPUTE).await?,
        None => s.list(&base, SHARE).await?,
    })
}

/// `sig image-version list-community` / `show-community` (`version` given).
pub(super) async fn community_versions(
    s: &Session,
    g: CommunityGalleryRef,
    image: &str,
    version: Option<&str>,
) -> anyhow::Result<Value> {
    let base = format!("{}/images/{image}/versions", community_path(s, &g));
    Ok(match version {
        Some(v) => s.get(&format!("{base}/{v}"), COMPUTE).await?,
        None => s.list(&base, SHARE).await?,
    })
}

impl CommunityArgs {
    /// Sets `sharingProfile.communityGalleryInfo` from the flags given (none: unchanged). az
    /// asks for all four with `--permissions Community`; the server says which is missing.
    pub(super) fn apply(&self, body: &mut Value) {
        let fields = [
            ("publisherUri", &self.publisher_uri),
            ("publisherContact", &self.publisher_email),
            ("eula", &self.eula),
            ("publicNamePrefix", &self.public_name_prefix),
        ];
        if fields.iter().all(|(_, v)| v.is_none()) {
            return;
        }
        let mut info = serde_json::Map::new();
        for (k, v) in fields {
            if let Some(v) = v {
                info.insert(k.into(), json!(v));
            }
        }
        body["properties"]["sharingProfile"]["communityGalleryInfo"] = Value::Object(info);
    }
}
