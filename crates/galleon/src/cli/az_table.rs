//! az's table transformers for the commands galleon mirrors: the columns `az … -o table` shows
//! for them (azure-cli's `table_transformer`s, as JMESPath per column, its lenient backtick
//! string literals written as raw strings). Commands without one get
//! az's automatic table. A `--query` turns the transformer off, as in az.

use serde_json::Value;

use super::format::Row;

/// `(column, JMESPath)` pairs.
type Columns = &'static [(&'static str, &'static str)];

const DISK: Columns = &[
    ("Name", "name"),
    ("ResourceGroup", "resourceGroup"),
    ("Location", "location"),
    ("Zones", "(!zones && ' ') || join(' ', zones)"),
    ("Sku", "sku.name"),
    ("OsType", "osType"),
    ("SizeGb", "diskSizeGB"),
    ("ProvisioningState", "provisioningState"),
];

const VM: Columns = &[
    ("Name", "name"),
    ("ResourceGroup", "resourceGroup"),
    ("PowerState", "powerState"),
    ("PublicIps", "publicIps"),
    ("Fqdns", "fqdns"),
    ("Location", "location"),
    ("Zones", "zones && join(',', zones)"),
];

const VERSION: Columns = &[
    ("Name", "name"),
    ("ResourceGroup", "resourceGroup"),
    ("ProvisioningState", "provisioningState"),
    ("TargetRegions", "publishingProfile.targetRegions && join(', ', publishingProfile.targetRegions[*].name)"),
    (
        "EdgeZones",
        "publishingProfile.targetExtendedLocations && join(', ', publishingProfile.targetExtendedLocations[*].name)",
    ),
    ("ReplicationState", "replicationStatus.aggregatedState"),
];

const GROUP: Columns = &[("Name", "name"), ("Location", "location"), ("Status", "properties.provisioningState")];

/// galleon's own: one row per version of `explain-latest`.
const EXPLAIN_LATEST: Columns = &[
    ("Name", "name"),
    ("Latest", "latest"),
    ("Reason", "notLatest.reason"),
    ("Explanation", "explanation"),
    ("EndOfLifePassed", "endOfLifePassed"),
];

/// galleon's own: one row per version of a retention preview or run.
const RETENTION: Columns = &[("Name", "name"), ("Action", "action"), ("Reasons", "join('; ', reasons)")];

/// Which items are the rows.
enum Items {
    /// The printed object.
    One,
    /// Each element of the printed list.
    Each,
    /// Each element of a list under this key.
    Under(&'static str),
}

/// The command's columns, and its rows.
fn transformer(command: &str) -> Option<(Columns, Items)> {
    Some(match command {
        "group list" => (GROUP, Items::Each),
        "disk list" => (DISK, Items::Each),
        "disk show" | "disk create" => (DISK, Items::One),
        "vm list" => (VM, Items::Each),
        "vm show" => (VM, Items::One),
        "sig image-version show" => (VERSION, Items::One),
        "sig image-definition explain-latest" => (EXPLAIN_LATEST, Items::Under("versions")),
        "sig image-definition retention preview" | "sig image-definition retention run" => {
            (RETENTION, Items::Under("versions"))
        }
        _ => return None,
    })
}

/// The rows az's transformer for `command` makes of `value`, if it has one.
pub(super) fn rows(command: &str, value: &Value) -> Option<Vec<Row>> {
    let (columns, items) = transformer(command)?;
    let items = match items {
        Items::One => vec![value.clone()],
        Items::Each => value.as_array()?.clone(),
        Items::Under(key) => value.get(key)?.as_array()?.clone(),
    };
    let compiled: Vec<_> = columns
        .iter()
        .map(|(name, expr)| (*name, jmespath::compile(expr).expect("the transformers are valid JMESPath")))
        .collect();
    let row = |item: &Value| -> Row {
        let data = jmespath::Variable::from_serializable(item).unwrap_or(jmespath::Variable::Null);
        let data = std::rc::Rc::new(data);
        compiled
            .iter()
            .map(|(name, expr)| {
                let found = expr.search(data.clone()).ok().and_then(|v| serde_json::to_value(&*v).ok());
                (name.to_string(), found.unwrap_or(Value::Null))
            })
            .collect()
    };
    Some(items.iter().map(row).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_transformer_compiles_and_picks_its_columns() {
        for command in ["group list", "disk list", "disk show", "vm list", "sig image-version show"] {
            assert!(rows(command, &json!([])).is_some() || rows(command, &json!({})).is_some(), "{command}");
        }
        let v = json!({ "name": "1.0.0", "resourceGroup": "rg", "provisioningState": "Succeeded",
            "publishingProfile": { "targetRegions": [{ "name": "East US" }, { "name": "West US 2" }] },
            "replicationStatus": { "aggregatedState": "Completed" } });
        let row = &rows("sig image-version show", &v).unwrap()[0];
        assert_eq!(row[3], ("TargetRegions".to_string(), json!("East US, West US 2")));
        assert_eq!(row[4], ("EdgeZones".to_string(), Value::Null));
        let disk = &rows("disk list", &json!([{ "name": "d", "sku": { "name": "Premium_LRS" } }])).unwrap()[0];
        assert_eq!(disk[3], ("Zones".to_string(), json!(" ")));
        assert!(rows("sig show", &v).is_none());
    }
}
