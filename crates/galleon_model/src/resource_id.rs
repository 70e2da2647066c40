//! Parsing ARM resource ids given as sources (managed images, VMs, disks, snapshots, versions,
//! storage accounts). Segment names such as `resourceGroups` and `providers` match in any case.

use crate::names::key;

/// A parsed `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId {
    /// Subscription id.
    pub subscription: String,
    /// Resource group name.
    pub resource_group: String,
    /// Provider namespace, e.g. `Microsoft.Compute`.
    pub namespace: String,
    /// `(type, name)` pairs, outermost first.
    pub segments: Vec<(String, String)>,
}

/// The kinds of resource galleon understands as a source or a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `Microsoft.Compute/images`
    ManagedImage,
    /// `Microsoft.Compute/virtualMachines`
    VirtualMachine,
    /// `Microsoft.Compute/disks`
    Disk,
    /// `Microsoft.Compute/snapshots`
    Snapshot,
    /// `Microsoft.Compute/galleries/images/versions`
    GalleryImageVersion,
    /// `Microsoft.Storage/storageAccounts`
    StorageAccount,
}

impl ResourceKind {
    /// The ARM type, as used in error messages.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::ManagedImage => "Microsoft.Compute/images",
            Self::VirtualMachine => "Microsoft.Compute/virtualMachines",
            Self::Disk => "Microsoft.Compute/disks",
            Self::Snapshot => "Microsoft.Compute/snapshots",
            Self::GalleryImageVersion => "Microsoft.Compute/galleries/images/versions",
            Self::StorageAccount => "Microsoft.Storage/storageAccounts",
        }
    }
}

impl ResourceId {
    /// Parses an id; `None` when it is not a well-formed resource id.
    pub fn parse(id: &str) -> Option<Self> {
        let rest = id.strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() < 8 || !parts.len().is_multiple_of(2) || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        if key(parts[0]) != "subscriptions" || key(parts[2]) != "resourcegroups" || key(parts[4]) != "providers" {
            return None;
        }
        let segments = parts[6..].chunks(2).map(|c| (c[0].to_string(), c[1].to_string())).collect();
        Some(Self {
            subscription: parts[1].to_string(),
            resource_group: parts[3].to_string(),
            namespace: parts[5].to_string(),
            segments,
        })
    }

    /// What kind of resource the id names, if galleon knows it.
    pub fn kind(&self) -> Option<ResourceKind> {
        let types: Vec<String> = self.segments.iter().map(|(t, _)| key(t)).collect();
        let types: Vec<&str> = types.iter().map(String::as_str).collect();
        match (key(&self.namespace).as_str(), types.as_slice()) {
            ("microsoft.compute", ["images"]) => Some(ResourceKind::ManagedImage),
            ("microsoft.compute", ["virtualmachines"]) => Some(ResourceKind::VirtualMachine),
            ("microsoft.compute", ["disks"]) => Some(ResourceKind::Disk),
            ("microsoft.compute", ["snapshots"]) => Some(ResourceKind::Snapshot),
            ("microsoft.compute", ["galleries", "images", "versions"]) => Some(ResourceKind::GalleryImageVersion),
            ("microsoft.storage", ["storageaccounts"]) => Some(ResourceKind::StorageAccount),
            _ => None,
        }
    }

    /// The ARM type it names, e.g. `Microsoft.Compute/galleries/images`.
    pub fn type_name(&self) -> String {
        let types: Vec<&str> = self.segments.iter().map(|(t, _)| t.as_str()).collect();
        format!("{}/{}", self.namespace, types.join("/"))
    }

    /// The last segment's name.
    pub fn name(&self) -> &str {
        &self.segments.last().expect("parse guarantees one segment").1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_kinds_in_any_case() {
        let id = ResourceId::parse("/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/Images/mi").unwrap();
        assert_eq!(id.kind(), Some(ResourceKind::ManagedImage));
        assert_eq!(id.name(), "mi");
        let v = ResourceId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0",
        )
        .unwrap();
        assert_eq!(v.kind(), Some(ResourceKind::GalleryImageVersion));
        let sa =
            ResourceId::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct")
                .unwrap();
        assert_eq!(sa.kind(), Some(ResourceKind::StorageAccount));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "images/x",
            "/subscriptions/s/resourceGroups/rg",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images",
            "/subscriptions//resourceGroups/rg/providers/Microsoft.Compute/images/x",
            "/subs/s/resourceGroups/rg/providers/Microsoft.Compute/images/x",
        ] {
            assert!(ResourceId::parse(bad).is_none(), "{bad}");
        }
        let other =
            ResourceId::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/vnets/x").unwrap();
        assert_eq!(other.kind(), None);
    }

    #[test]
    fn type_names_join_the_namespace_and_every_type() {
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0";
        assert_eq!(ResourceId::parse(id).unwrap().type_name(), "Microsoft.Compute/galleries/images/versions");
    }
}
