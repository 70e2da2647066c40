//! Direct sharing of a gallery (`sharingProfile`): who besides the gallery's own role
//! assignments may read it, and the `share` operations that change it.
//!
//! A gallery whose permissions are `Groups` is visible, read-only, to the subscriptions and
//! tenants in its groups through `…/locations/{l}/sharedGalleries/{uniqueName}`; they can make
//! disks and VMs from its versions. Sharing never grants writes.

use crate::Invalid;
use crate::enums::arm_enum;

arm_enum!(
    /// `sharingProfile.permissions`.
    Permission {
        /// Only role assignments give access (the default).
        Private => "Private",
        /// Shared with the subscriptions and tenants in `groups`.
        Groups => "Groups",
        /// Shared with everyone (community galleries).
        Community => "Community",
    }
);

arm_enum!(
    /// `sharingProfile.groups[].type`.
    GroupType {
        /// Subscription ids.
        Subscriptions => "Subscriptions",
        /// Tenant ids.
        AadTenants => "AADTenants",
    }
);

arm_enum!(
    /// `SharingUpdate.operationType`.
    ShareOperation {
        /// Adds ids to the groups.
        Add => "Add",
        /// Removes ids from the groups.
        Remove => "Remove",
        /// Back to private, groups cleared.
        Reset => "Reset",
        /// Publishes a community gallery.
        EnableCommunity => "EnableCommunity",
    }
);

/// Azure's limits on direct sharing.
pub const MAX_SUBSCRIPTIONS: usize = 30;
/// Tenants a gallery may be shared with.
pub const MAX_TENANTS: usize = 5;

/// One group: ids of one type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SharingGroup {
    /// Subscriptions or tenants.
    pub kind: GroupType,
    /// Lowercase GUIDs.
    pub ids: Vec<String>,
}

/// A gallery's sharing state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sharing {
    /// Who may see it.
    pub permissions: Permission,
    /// Changed only by `share` operations.
    #[cfg_attr(feature = "serde", serde(default))]
    pub groups: Vec<SharingGroup>,
}

impl Default for Sharing {
    fn default() -> Self {
        Self { permissions: Permission::Private, groups: Vec::new() }
    }
}

fn guid(target: &str, id: &str) -> Result<String, Invalid> {
    let ok = id.len() == 36
        && id.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    if ok {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(Invalid::param(target, format!("'{id}' is not a subscription or tenant id (a GUID).")))
    }
}

impl Sharing {
    /// The ids of one type.
    pub fn ids(&self, kind: GroupType) -> impl Iterator<Item = &str> {
        self.groups.iter().filter(move |g| g.kind == kind).flat_map(|g| g.ids.iter().map(String::as_str))
    }

    /// Whether a caller in `tenant`, acting in `subscription`, may read the gallery.
    pub fn shared_with(&self, subscription: Option<&str>, tenant: Option<&str>) -> bool {
        self.permissions == Permission::Groups
            && (subscription.is_some_and(|s| self.ids(GroupType::Subscriptions).any(|i| i.eq_ignore_ascii_case(s)))
                || tenant.is_some_and(|t| self.ids(GroupType::AadTenants).any(|i| i.eq_ignore_ascii_case(t))))
    }

    /// Sets `permissions` from a gallery PUT or PATCH. Community galleries are not served yet.
    pub fn set_permissions(&mut self, value: &str) -> Result<(), Invalid> {
        const TARGET: &str = "gallery.properties.sharingProfile.permissions";
        let p = Permission::parse(TARGET, value)?;
        if p == Permission::Community {
            return Err(Invalid::param(
                TARGET,
                "Community galleries are not supported by galleon yet; use Private or Groups.",
            ));
        }
        self.permissions = p;
        Ok(())
    }

    /// Applies a `share` operation: the groups after it, or why it is refused.
    pub fn apply(&mut self, op: ShareOperation, groups: &[(String, Vec<String>)]) -> Result<(), Invalid> {
        const TARGET: &str = "sharingUpdate.groups";
        let mut parsed: Vec<(GroupType, Vec<String>)> = Vec::new();
        for (kind, ids) in groups {
            let kind = GroupType::parse(&format!("{TARGET}.type"), kind)?;
            let ids = ids.iter().map(|id| guid(&format!("{TARGET}.ids"), id)).collect::<Result<Vec<_>, _>>()?;
            parsed.push((kind, ids));
        }
        match op {
            ShareOperation::Reset => {
                *self = Self::default();
                return Ok(());
            }
            ShareOperation::EnableCommunity => {
                return Err(Invalid::param(
                    "sharingUpdate.operationType",
                    "Community galleries are not supported by galleon yet.",
                ));
            }
            ShareOperation::Add | ShareOperation::Remove if parsed.iter().all(|(_, ids)| ids.is_empty()) => {
                return Err(Invalid::param(TARGET, "Give at least one subscription or tenant id to add or remove."));
            }
            ShareOperation::Add if self.permissions != Permission::Groups => {
                return Err(Invalid::param(
                    "gallery.properties.sharingProfile.permissions",
                    format!(
                        "The gallery's sharing permissions are '{}': set them to 'Groups' before sharing it with subscriptions or tenants.",
                        self.permissions.as_str()
                    ),
                ));
            }
            ShareOperation::Add | ShareOperation::Remove => {}
        }
        // Worked on a copy: a refused share changes nothing.
        let mut next = self.clone();
        for kind in [GroupType::Subscriptions, GroupType::AadTenants] {
            let mut current: Vec<String> = next.ids(kind).map(str::to_string).collect();
            for (_, ids) in parsed.iter().filter(|(k, _)| *k == kind) {
                for id in ids {
                    let present = current.contains(id);
                    match op {
                        ShareOperation::Add if !present => current.push(id.clone()),
                        ShareOperation::Remove => current.retain(|c| c != id),
                        _ => {}
                    }
                }
            }
            let (max, what) = match kind {
                GroupType::Subscriptions => (MAX_SUBSCRIPTIONS, "subscriptions"),
                GroupType::AadTenants => (MAX_TENANTS, "tenants"),
            };
            if current.len() > max {
                return Err(Invalid::param(TARGET, format!("A gallery can be shared with at most {max} {what}.")));
            }
            next.groups.retain(|g| g.kind != kind);
            if !current.is_empty() {
                next.groups.push(SharingGroup { kind, ids: current });
            }
        }
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: &str = "11111111-1111-1111-1111-111111111111";
    const T1: &str = "22222222-2222-2222-2222-222222222222";

    fn add(ids: &[&str], kind: &str) -> Vec<(String, Vec<String>)> {
        vec![(kind.to_string(), ids.iter().map(|s| s.to_string()).collect())]
    }

    #[test]
    fn sharing_follows_the_groups_and_the_permission() {
        let mut s = Sharing::default();
        assert!(s.apply(ShareOperation::Add, &add(&[S1], "Subscriptions")).is_err(), "Private: no groups");
        s.set_permissions("groups").unwrap();
        s.apply(ShareOperation::Add, &add(&[&S1.to_ascii_uppercase()], "Subscriptions")).unwrap();
        s.apply(ShareOperation::Add, &add(&[S1], "Subscriptions")).unwrap();
        s.apply(ShareOperation::Add, &add(&[T1], "aadtenants")).unwrap();
        assert_eq!(s.ids(GroupType::Subscriptions).collect::<Vec<_>>(), vec![S1], "once, lowercase");
        assert!(s.shared_with(Some(S1), None) && s.shared_with(None, Some(T1)));
        assert!(!s.shared_with(Some(T1), Some(S1)), "a subscription id is not a tenant id");
        s.apply(ShareOperation::Remove, &add(&[S1], "Subscriptions")).unwrap();
        assert!(!s.shared_with(Some(S1), None));
        s.set_permissions("Private").unwrap();
        assert!(!s.shared_with(None, Some(T1)), "private hides the groups");
        s.apply(ShareOperation::Reset, &[]).unwrap();
        assert_eq!(s, Sharing::default());
    }

    #[test]
    fn bad_shares_are_refused() {
        let mut s = Sharing { permissions: Permission::Groups, groups: vec![] };
        assert!(s.apply(ShareOperation::Add, &add(&["not-a-guid"], "Subscriptions")).is_err());
        assert!(s.apply(ShareOperation::Add, &add(&[S1], "Users")).is_err());
        assert!(s.apply(ShareOperation::Add, &[]).is_err());
        assert!(s.apply(ShareOperation::EnableCommunity, &[]).is_err());
        assert!(s.set_permissions("Community").is_err());
        let many: Vec<String> = (0..31).map(|i| format!("{i:08x}-0000-0000-0000-000000000000")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(s.apply(ShareOperation::Add, &add(&refs, "Subscriptions")).is_err(), "over 30");
        assert_eq!(s.groups, vec![], "a refused share changes nothing");
    }
}
