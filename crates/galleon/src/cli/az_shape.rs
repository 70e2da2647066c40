//! The objects `az` prints: the SDK models, not ARM's wire shape. A resource's `properties` are
//! lifted to the top level (nested sub-resources too), keys take the SDK's attribute names in
//! camelCase (`diskSizeGB` → `disk_size_gb` → `diskSizeGb`), and `resourceGroup` is added from the
//! id. Scripts written for `az`, `--query` expressions included, then run unchanged.

use serde_json::{Map, Value};

/// ARM's wire JSON as `az` prints the same object (arrays element by element).
pub(crate) fn az_shape(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(az_shape).collect()),
        Value::Object(map) if is_resource(map) => resource(map),
        Value::Object(map) if is_shared(map) => shared(map),
        Value::Object(map) if is_group(map) => {
            // The SDK's ResourceGroup model, which az prints with every attribute.
            let mut out = map.clone();
            out.entry("managedBy").or_insert(Value::Null);
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// A resource group (`/subscriptions/{s}/resourceGroups/{g}`).
fn is_group(map: &Map<String, Value>) -> bool {
    map.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups"))
}

/// A shared or community gallery resource: no id, an `identifier.uniqueId` (`/SharedGalleries/…`).
fn is_shared(map: &Map<String, Value>) -> bool {
    let unique = map.get("identifier").and_then(|i| i.get("uniqueId")).and_then(Value::as_str).unwrap_or_default();
    !map.contains_key("id")
        && map.get("properties").is_some_and(Value::is_object)
        && (unique.starts_with("/SharedGalleries/") || unique.starts_with("/CommunityGalleries/"))
}

/// Its SDK model, as az prints it: `properties` and `identifier` lifted, SDK attribute names.
fn shared(map: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (k, v) in map {
        match k.as_str() {
            "properties" | "identifier" => {
                for (pk, pv) in v.as_object().into_iter().flatten() {
                    out.insert(sdk_key(pk), nested(pk, pv, Keys::Sdk));
                }
            }
            _ => {
                out.insert(sdk_key(k), nested(k, v, Keys::Sdk));
            }
        }
    }
    Value::Object(out)
}

/// A provider resource (or sub-resource) whose model lifts `properties`: an id under a
/// provider and a `properties` object. Resource groups and deployments keep `properties`, as
/// their SDK models (and so az) do.
fn is_resource(map: &Map<String, Value>) -> bool {
    let id = map.get("id").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    map.get("properties").is_some_and(Value::is_object)
        && id.starts_with("/subscriptions/")
        && id.contains("/providers/")
        && !id.contains("/providers/microsoft.resources/")
}

/// Which names az prints: the wire's (its generated `aaz` commands, which 2.91 uses for the
/// compute resources galleon serves) or the Python SDK's attribute names in camelCase (the
/// shared and community gallery commands).
#[derive(Clone, Copy)]
enum Keys {
    Wire,
    Sdk,
}

impl Keys {
    fn name(self, key: &str) -> String {
        match self {
            Keys::Wire => key.to_string(),
            Keys::Sdk => sdk_key(key),
        }
    }
}

/// A resource as az prints it: `properties` lifted, wire names, resource groups added.
fn resource(map: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (k, v) in map {
        if k == "properties" {
            for (pk, pv) in v.as_object().into_iter().flatten() {
                out.insert(pk.clone(), nested(pk, pv, Keys::Wire));
            }
        } else {
            out.insert(k.clone(), nested(k, v, Keys::Wire));
        }
    }
    add_resource_group(&mut out);
    Value::Object(out)
}

/// A value inside a resource: sub-resources are lifted too, and every object with a resource
/// id gets its `resourceGroup` (as az's output does). User maps (tags) keep their keys, and az
/// leaves `sourceVault` alone.
fn nested(key: &str, value: &Value, keys: Keys) -> Value {
    if key == "tags" || key == "sourceVault" {
        return value.clone();
    }
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| nested("", v, keys)).collect()),
        Value::Object(map) if is_resource(map) => resource(map),
        Value::Object(map) => {
            let mut out: Map<String, Value> = map.iter().map(|(k, v)| (keys.name(k), nested(k, v, keys))).collect();
            if let Keys::Wire = keys {
                add_resource_group(&mut out);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// `resourceGroup` from the object's `id`, unless it has one.
fn add_resource_group(out: &mut Map<String, Value>) {
    if out.keys().any(|k| k.eq_ignore_ascii_case("resourceGroup")) {
        return;
    }
    if let Some(group) = out.get("id").and_then(Value::as_str).and_then(resource_group) {
        out.insert("resourceGroup".into(), Value::String(group));
    }
}

/// The resource group an id names, as az adds it.
pub(super) fn resource_group(id: &str) -> Option<String> {
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("resourceGroups") {
            return parts.next().map(str::to_string);
        }
    }
    None
}

/// A wire key as the SDK's attribute in camelCase: split as the SDK's generator splits
/// (`hyperVGeneration` → hyper_v_generation, `diskIOPSReadWrite` → disk_iops_read_write), then
/// rejoined (`hyperVGeneration`, `diskIopsReadWrite`).
fn sdk_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase() || p.is_ascii_digit() || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let lower = w.to_lowercase();
            if i == 0 {
                return lower;
            }
            let mut cs = lower.chars();
            cs.next().map(|f| f.to_uppercase().chain(cs).collect()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_take_the_sdk_names() {
        for (wire, az) in [
            ("diskSizeGB", "diskSizeGb"),
            ("hyperVGeneration", "hyperVGeneration"),
            ("diskIOPSReadWrite", "diskIopsReadWrite"),
            ("sizeInGB", "sizeInGb"),
            ("accessSAS", "accessSas"),
            ("osType", "osType"),
            ("provisioningState", "provisioningState"),
            ("id", "id"),
            ("uniqueId", "uniqueId"),
            ("replicaCount", "replicaCount"),
        ] {
            assert_eq!(sdk_key(wire), az, "{wire}");
        }
    }

    #[test]
    fn shared_galleries_print_as_az_prints_them() {
        // What `az sig list-shared` printed for galleon's answer (recorded with az 2.91).
        let wire = json!({ "name": "s-G", "location": "westcentralus", "identifier": { "uniqueId": "/SharedGalleries/s-G" },
            "properties": { "artifactTags": {} } });
        assert_eq!(
            az_shape(&json!([wire])),
            json!([{ "artifactTags": {}, "location": "westcentralus", "name": "s-G", "uniqueId": "/SharedGalleries/s-G" }])
        );
        let version = json!({ "name": "1.0.0", "location": "w", "identifier": { "uniqueId": "/SharedGalleries/s-G/Images/i/Versions/1.0.0" },
            "properties": { "storageProfile": { "osDiskImage": { "diskSizeGB": 1 } } } });
        assert_eq!(az_shape(&version)["storageProfile"]["osDiskImage"]["diskSizeGb"], 1);
    }

    #[test]
    fn resources_print_as_az_prints_them() {
        let id = "/subscriptions/s/resourceGroups/myRG/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0";
        let wire = json!({ "id": id, "name": "1.0.0", "location": "eastus", "tags": { "diskSizeGB": "kept" },
            "properties": { "provisioningState": "Succeeded",
                "publishingProfile": { "replicaCount": 1, "targetRegions": [{ "name": "East US", "regionalReplicaCount": 1 }] },
                "storageProfile": { "osDiskImage": { "sizeInGB": 1, "hostCaching": "None" } },
                "replicationStatus": { "aggregatedState": "Completed", "summary": [] } } });
        let az = az_shape(&json!([wire]));
        let v = &az[0];
        assert_eq!(v["replicationStatus"]["aggregatedState"], "Completed");
        assert_eq!(v["provisioningState"], "Succeeded");
        assert_eq!(v["storageProfile"]["osDiskImage"]["sizeInGB"], 1, "wire names, as az 2.91's aaz commands");
        assert_eq!(v["resourceGroup"], "myRG");
        assert_eq!(v["tags"]["diskSizeGB"], "kept", "user keys are not renamed");
        assert!(v.get("properties").is_none());
        // Things that are not resources print as they are; so do groups and deployments.
        assert_eq!(az_shape(&json!({ "status": "Succeeded" })), json!({ "status": "Succeeded" }));
        let group =
            json!({ "id": "/subscriptions/s/resourceGroups/rg", "properties": { "provisioningState": "Succeeded" } });
        assert_eq!(az_shape(&group), group);
        // Objects with a resource id inside a resource get their group.
        let vm = json!({ "id": "/subscriptions/s/resourceGroups/a/providers/Microsoft.Compute/virtualMachines/v",
            "properties": { "storageProfile": { "imageReference": { "id": "/subscriptions/s/resourceGroups/b/providers/x/y/z" } } } });
        assert_eq!(az_shape(&vm)["storageProfile"]["imageReference"]["resourceGroup"], "b");
    }
}
