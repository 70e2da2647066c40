//! az's generic update arguments: `--set path=value`, `--add path value|key=value…`,
//! `--remove path [index]`, applied to the resource as read, which is then PUT back. Paths are
//! az's: `properties.` may be left out, and snake_case segments mean their camelCase names.

use serde_json::{Map, Value};

/// The three argument lists, in az's order of application (set, add, remove).
#[derive(clap::Args, Debug, Default)]
pub(crate) struct GenericUpdate {
    /// `path=value`: set a property (the value is JSON when it parses, else a string).
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// `list-path value|key=value…`: append to a list.
    #[arg(long, num_args = 1.., value_name = "LIST KEY=VALUE")]
    pub add: Vec<String>,
    /// `list-path index` or `path`: remove an element or a property.
    #[arg(long, num_args = 1.., value_name = "LIST INDEX")]
    pub remove: Vec<String>,
}

impl GenericUpdate {
    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }

    /// Applies the arguments to `resource`; errors are usage errors naming the argument.
    pub(crate) fn apply(&self, resource: &mut Value) -> Result<(), String> {
        for pair in &self.set {
            let (path, value) =
                pair.split_once('=').ok_or_else(|| format!("usage error: --set '{pair}' must be path=value"))?;
            let (parent, last) = locate(resource, path, "--set")?;
            match (parent, last) {
                (Value::Object(map), Step::Key(key)) => {
                    map.insert(key, parse_value(value));
                }
                (Value::Array(list), Step::Index(i)) if i < list.len() => list[i] = parse_value(value),
                _ => return Err(format!("usage error: --set: '{path}' does not name a property")),
            }
        }
        if !self.add.is_empty() {
            let path = &self.add[0];
            let (parent, last) = locate(resource, path, "--add")?;
            let list = child(parent, &last)
                .and_then(|v| {
                    if v.is_null() {
                        *v = Value::Array(Vec::new());
                    }
                    v.as_array_mut()
                })
                .ok_or_else(|| format!("usage error: --add: '{path}' is not a list"))?;
            let rest = &self.add[1..];
            if rest.iter().all(|a| a.contains('=')) && !rest.is_empty() {
                let mut item = Map::new();
                for pair in rest {
                    let (k, v) = pair.split_once('=').expect("checked above");
                    item.insert(camel(k), parse_value(v));
                }
                list.push(Value::Object(item));
            } else {
                for value in rest {
                    list.push(parse_value(value));
                }
            }
        }
        if !self.remove.is_empty() {
            let path = &self.remove[0];
            let (parent, last) = locate(resource, path, "--remove")?;
            match self.remove.get(1) {
                Some(index) => {
                    let i: usize =
                        index.parse().map_err(|_| format!("usage error: --remove: '{index}' is not an index"))?;
                    let list = child(parent, &last)
                        .and_then(Value::as_array_mut)
                        .ok_or_else(|| format!("usage error: --remove: '{path}' is not a list"))?;
                    if i >= list.len() {
                        return Err(format!("usage error: --remove: index {i} is out of range for '{path}'"));
                    }
                    list.remove(i);
                }
                None => match (parent, last) {
                    (Value::Object(map), Step::Key(key)) => {
                        map.remove(&key);
                    }
                    (Value::Array(list), Step::Index(i)) if i < list.len() => {
                        list.remove(i);
                    }
                    _ => return Err(format!("usage error: --remove: '{path}' does not name a property")),
                },
            }
        }
        Ok(())
    }
}

enum Step {
    Key(String),
    Index(usize),
}

/// `aB_cD` → `aBCD`: az users may write snake_case.
fn camel(segment: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in segment.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// `a.b[0].c` → steps.
fn steps(path: &str, arg: &str) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Step::Key(camel(name)));
        }
        while !rest.is_empty() {
            let (index, after) =
                rest.split_once(']').ok_or_else(|| format!("usage error: {arg}: '{path}' has an unclosed '['"))?;
            out.push(Step::Index(index.parse().map_err(|_| format!("usage error: {arg}: '{index}' is not an index"))?));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    if out.is_empty() {
        return Err(format!("usage error: {arg} needs a path"));
    }
    Ok(out)
}

/// The keys of ARM's resource envelope, outside `properties`.
const ENVELOPE: &[&str] = &[
    "id",
    "name",
    "type",
    "location",
    "tags",
    "etag",
    "sku",
    "identity",
    "plan",
    "zones",
    "kind",
    "extendedLocation",
    "managedBy",
    "systemData",
];

fn child<'a>(value: &'a mut Value, step: &Step) -> Option<&'a mut Value> {
    match (value, step) {
        (Value::Object(map), Step::Key(k)) => Some(map.entry(k.clone()).or_insert(Value::Null)),
        (Value::Array(list), Step::Index(i)) => list.get_mut(*i),
        _ => None,
    }
}

/// The parent of the path's last step (creating objects on the way), and that step.
fn locate<'a>(resource: &'a mut Value, path: &str, arg: &str) -> Result<(&'a mut Value, Step), String> {
    let mut steps = steps(path, arg)?;
    // az flattens `properties`: `publishingProfile.x` means `properties.publishingProfile.x`,
    // and so does a property not set yet (`--set description=…` on a resource without one);
    // only ARM's envelope keys stay at the top.
    if let Some(Step::Key(first)) = steps.first()
        && resource.get(first).is_none()
        && resource.get("properties").is_some_and(Value::is_object)
        && !ENVELOPE.iter().any(|k| k.eq_ignore_ascii_case(first))
    {
        steps.insert(0, Step::Key("properties".into()));
    }
    let last = steps.pop().expect("at least one step");
    let mut at = resource;
    for step in &steps {
        let next = child(at, step).ok_or_else(|| format!("usage error: {arg}: '{path}' does not exist"))?;
        if next.is_null() {
            *next = Value::Object(Map::new());
        }
        at = next;
    }
    Ok((at, last))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn update(set: &[&str], add: &[&str], remove: &[&str]) -> GenericUpdate {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        GenericUpdate { set: owned(set), add: owned(add), remove: owned(remove) }
    }

    #[test]
    fn set_add_and_remove_as_az_does() {
        let mut v = json!({ "location": "eastus", "tags": {}, "properties": {
            "publishingProfile": { "targetRegions": [{ "name": "eastus" }], "excludeFromLatest": false } } });
        update(&["publishing_profile.exclude_from_latest=true", "tags.team=images"], &[], &[]).apply(&mut v).unwrap();
        assert_eq!(v["properties"]["publishingProfile"]["excludeFromLatest"], true);
        assert_eq!(v["tags"]["team"], "images");
        update(&[], &["publishingProfile.targetRegions", "name=westus2", "regionalReplicaCount=2"], &[])
            .apply(&mut v)
            .unwrap();
        assert_eq!(
            v["properties"]["publishingProfile"]["targetRegions"][1],
            json!({ "name": "westus2", "regionalReplicaCount": 2 })
        );
        update(&["publishingProfile.targetRegions[1].regionalReplicaCount=3"], &[], &[]).apply(&mut v).unwrap();
        assert_eq!(v["properties"]["publishingProfile"]["targetRegions"][1]["regionalReplicaCount"], 3);
        update(&[], &[], &["publishingProfile.targetRegions", "0"]).apply(&mut v).unwrap();
        assert_eq!(v["properties"]["publishingProfile"]["targetRegions"].as_array().unwrap().len(), 1);
        update(&[], &[], &["tags.team"]).apply(&mut v).unwrap();
        assert_eq!(v["tags"], json!({}));
        // A property not set yet goes into `properties` too; envelope keys stay outside.
        update(&["description=updated", "location=westus"], &[], &[]).apply(&mut v).unwrap();
        assert_eq!(v["properties"]["description"], "updated");
        assert_eq!(v["location"], "westus");
        assert!(v.get("description").is_none());
    }

    #[test]
    fn bad_paths_are_usage_errors() {
        let mut v = json!({ "properties": { "a": 1 } });
        assert!(update(&["nopair"], &[], &[]).apply(&mut v).unwrap_err().contains("path=value"));
        assert!(update(&[], &["a", "x=1"], &[]).apply(&mut v).unwrap_err().contains("not a list"));
        assert!(update(&[], &[], &["a", "x"]).apply(&mut v).unwrap_err().contains("not an index"));
        assert!(update(&["b[x=1"], &[], &[]).apply(&mut v).is_err());
    }
}
