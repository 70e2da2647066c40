//! The consumer's view of a directly shared gallery (`Microsoft.Compute/locations/sharedGalleries`)
//! and of a community gallery (`…/communityGalleries`): `name`, `location`,
//! `identifier.uniqueId` and the properties a consumer may see, with no `id`, `type` or tags
//! (nothing that names the publisher's resource group).

use galleon_model::gallery::Gallery;
use galleon_model::image_definition::ImageDefinition;
use galleon_model::image_version::ImageVersion;
use galleon_model::resource::Tracked;
use serde_json::{Map, Value, json};

/// `/SharedGalleries/{u}`: the prefix of a shared gallery's ids.
pub fn gallery_unique_id(unique_name: &str) -> String {
    format!("/SharedGalleries/{unique_name}")
}

/// `/CommunityGalleries/{p}`: the prefix of a community gallery's ids.
pub fn community_unique_id(public_name: &str) -> String {
    format!("/CommunityGalleries/{public_name}")
}

/// The fixed disclaimer community galleries carry.
pub const DISCLAIMER: &str = "https://aka.ms/community-gallery-disclaimer";

/// A community gallery (its public name in place of the unique name).
pub fn community_gallery(public_name: &str, g: &Tracked<Gallery>) -> Value {
    let c = g.properties.sharing.community.as_ref();
    let metadata = json!({
        "publisherUri": c.map(|c| c.publisher_uri.as_str()),
        "publisherContact": c.map(|c| c.publisher_contact.as_str()),
        "eula": c.map(|c| c.eula.as_str()),
        "publicNames": c.map(|c| c.public_names.clone()).unwrap_or_default(),
    });
    let mut v = envelope(
        public_name,
        &g.location,
        community_unique_id(public_name),
        json!({ "disclaimer": DISCLAIMER, "communityMetadata": metadata }),
    );
    v["communityMetadata"] = metadata;
    v
}

/// A shared view (made with a community prefix) as the community path shows it: with the
/// disclaimer, without artifact tags.
pub fn community(mut view: Value) -> Value {
    if let Some(p) = view["properties"].as_object_mut() {
        p.remove("artifactTags");
        p.insert("disclaimer".into(), DISCLAIMER.into());
    }
    view
}

fn envelope(name: &str, location: &str, unique_id: String, properties: Value) -> Value {
    json!({ "name": name, "location": location, "identifier": { "uniqueId": unique_id }, "properties": properties })
}

/// A shared gallery.
pub fn gallery(g: &Tracked<Gallery>) -> Value {
    let u = &g.properties.unique_name;
    envelope(u, &g.location, gallery_unique_id(u), json!({ "artifactTags": {} }))
}

/// Keeps the named properties of a private wire body.
fn pick(properties: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter().filter_map(|k| properties.get(*k).map(|v| (k.to_string(), v.clone()))).collect()
}

/// A definition of a shared (or community) gallery whose ids start with `prefix`.
pub fn image(prefix: &str, d: &Tracked<ImageDefinition>) -> Value {
    let private = serde_json::to_value(crate::image::to_wire(d)).unwrap_or_default();
    let mut p = pick(
        &private["properties"],
        &[
            "osType",
            "osState",
            "identifier",
            "endOfLifeDate",
            "hyperVGeneration",
            "features",
            "architecture",
            "purchasePlan",
            "recommended",
            "disallowed",
            "eula",
            "privacyStatementUri",
        ],
    );
    p.insert("artifactTags".into(), json!({}));
    let id = format!("{prefix}/Images/{}", d.name);
    envelope(&d.name, &d.location, id, Value::Object(p))
}

/// A version of a shared (or community) definition whose ids start with `prefix` (`diskSizeGB`
/// where the private view says `sizeInGB`).
pub fn version(prefix: &str, image: &str, v: &Tracked<ImageVersion>) -> Value {
    let private = serde_json::to_value(crate::version::to_wire(v, "2024-03-03", false)).unwrap_or_default();
    let publishing = &private["properties"]["publishingProfile"];
    let mut p = pick(publishing, &["publishedDate", "endOfLifeDate", "excludeFromLatest"]);
    let disk = |d: &Value| {
        let mut out = pick(d, &["lun", "hostCaching"]);
        if let Some(size) = d.get("sizeInGB") {
            out.insert("diskSizeGB".into(), size.clone());
        }
        Value::Object(out)
    };
    let storage = &private["properties"]["storageProfile"];
    let mut sp = Map::new();
    if storage["osDiskImage"].is_object() {
        sp.insert("osDiskImage".into(), disk(&storage["osDiskImage"]));
    }
    if let Some(data) = storage["dataDiskImages"].as_array() {
        sp.insert("dataDiskImages".into(), Value::Array(data.iter().map(disk).collect()));
    }
    p.insert("storageProfile".into(), Value::Object(sp));
    p.insert("artifactTags".into(), json!({}));
    let id = format!("{prefix}/Images/{image}/Versions/{}", v.name);
    envelope(&v.name, &v.location, id, Value::Object(p))
}
