//! `--target-regions` values as az reads them: `region`, `region=count`, `region=type`,
//! `region=count=type`. Checked before any request is sent.

use serde_json::{Value, json};

use galleon_model::image_version::{MAX_REPLICA_COUNT, StorageAccountType};

/// The storage types, as the model has them.
const TYPES: &[&str] = StorageAccountType::ALL;

/// One parsed `--target-regions` value as an ARM `targetRegions` entry.
pub(crate) fn parse(value: &str) -> Result<Value, String> {
    let parts: Vec<&str> = value.split('=').collect();
    let storage = |s: &str| {
        TYPES.iter().find(|t| t.eq_ignore_ascii_case(s)).map(|t| t.to_string()).ok_or_else(|| {
            format!(
                "usage error: '{s}' in --target-regions '{value}' is not a storage account type ({})",
                TYPES.join(", ")
            )
        })
    };
    let count = |s: &str| {
        s.parse::<u32>().ok().filter(|c| (1..=MAX_REPLICA_COUNT as u32).contains(c)).ok_or_else(|| {
            format!(
                "usage error: '{s}' in --target-regions '{value}' must be an integer replica count from 1 to {MAX_REPLICA_COUNT}"
            )
        })
    };
    let region = parts[0].trim();
    if region.is_empty() {
        return Err(format!("usage error: --target-regions '{value}' names no region"));
    }
    let mut entry = json!({ "name": region });
    match parts[1..] {
        [] => {}
        [one] if one.parse::<i64>().is_ok() => entry["regionalReplicaCount"] = json!(count(one)?),
        [one] => entry["storageAccountType"] = json!(storage(one)?),
        [n, t] => {
            entry["regionalReplicaCount"] = json!(count(n)?);
            entry["storageAccountType"] = json!(storage(t)?);
        }
        _ => return Err(format!("usage error: --target-regions '{value}' has more than region=count=type")),
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_four_forms() {
        assert_eq!(parse("westus").unwrap(), json!({ "name": "westus" }));
        assert_eq!(parse("eastus=2").unwrap(), json!({ "name": "eastus", "regionalReplicaCount": 2 }));
        assert_eq!(
            parse("eastus=standard_zrs").unwrap(),
            json!({ "name": "eastus", "storageAccountType": "Standard_ZRS" })
        );
        assert_eq!(
            parse("eastus=1=premium_lrs").unwrap(),
            json!({ "name": "eastus", "regionalReplicaCount": 1, "storageAccountType": "Premium_LRS" })
        );
    }

    #[test]
    fn the_count_comes_before_the_type() {
        let e = parse("eastus=standard_zrs=1").unwrap_err();
        assert!(e.contains("'standard_zrs'") && e.contains("integer replica count"), "{e}");
        assert!(parse("eastus=0").unwrap_err().contains("replica count"));
        assert!(parse("eastus=fast").unwrap_err().contains("storage account type"));
        assert!(parse("=2").is_err());
        assert!(parse("a=1=standard_lrs=2").is_err());
    }
}
