//! Azure region names. Requests may name a region as `westus2`, `West US 2` or `WESTUS2`;
//! galleon stores the canonical short name and shows the display name where Azure does
//! (target regions and replication status).

/// Azure's regions: (canonical name, display name).
pub const AZURE_REGIONS: &[(&str, &str)] = &[
    ("eastus", "East US"),
    ("eastus2", "East US 2"),
    ("westus", "West US"),
    ("westus2", "West US 2"),
    ("westus3", "West US 3"),
    ("centralus", "Central US"),
    ("northcentralus", "North Central US"),
    ("southcentralus", "South Central US"),
    ("westcentralus", "West Central US"),
    ("canadacentral", "Canada Central"),
    ("canadaeast", "Canada East"),
    ("brazilsouth", "Brazil South"),
    ("northeurope", "North Europe"),
    ("westeurope", "West Europe"),
    ("uksouth", "UK South"),
    ("ukwest", "UK West"),
    ("francecentral", "France Central"),
    ("germanywestcentral", "Germany West Central"),
    ("switzerlandnorth", "Switzerland North"),
    ("norwayeast", "Norway East"),
    ("swedencentral", "Sweden Central"),
    ("polandcentral", "Poland Central"),
    ("italynorth", "Italy North"),
    ("spaincentral", "Spain Central"),
    ("eastasia", "East Asia"),
    ("southeastasia", "Southeast Asia"),
    ("japaneast", "Japan East"),
    ("japanwest", "Japan West"),
    ("koreacentral", "Korea Central"),
    ("centralindia", "Central India"),
    ("southindia", "South India"),
    ("australiaeast", "Australia East"),
    ("australiasoutheast", "Australia Southeast"),
    ("uaenorth", "UAE North"),
    ("southafricanorth", "South Africa North"),
];

/// The canonical form of a region name: lowercase with spaces removed (`West US 2` → `westus2`).
pub fn canonical(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// The display name of a canonical region (`westus2` → `West US 2`); unknown names are returned as given.
pub fn display_name(canonical_name: &str) -> String {
    AZURE_REGIONS
        .iter()
        .find(|(c, _)| *c == canonical_name)
        .map_or_else(|| canonical_name.to_string(), |(_, d)| (*d).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_and_display() {
        assert_eq!(canonical("West US 2"), "westus2");
        assert_eq!(canonical("EASTUS"), "eastus");
        assert_eq!(display_name("eastus2"), "East US 2");
        assert_eq!(display_name("mars1"), "mars1");
    }
}
