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
    /// `communityGalleryInfo`, for a community gallery.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub community: Option<Community>,
}

impl Default for Sharing {
    fn default() -> Self {
        Self { permissions: Permission::Private, groups: Vec::new(), community: None }
    }
}

/// What a community gallery shows everyone about its publisher, and its public name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Community {
    /// `publisherUri`.
    pub publisher_uri: String,
    /// `publisherContact` (an email address).
    pub publisher_contact: String,
    /// `eula`.
    pub eula: String,
    /// `publicNamePrefix`.
    pub public_name_prefix: String,
    /// Generated at creation: the prefix, a dash and a GUID.
    pub public_names: Vec<String>,
    /// Set by `EnableCommunity`: only then can anyone see it.
    pub enabled: bool,
}

/// `communityGalleryInfo` as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct CommunityRequest {
    /// `publisherUri`.
    pub publisher_uri: Option<String>,
    /// `publisherContact`.
    pub publisher_contact: Option<String>,
    /// `eula`.
    pub eula: Option<String>,
    /// `publicNamePrefix`.
    pub public_name_prefix: Option<String>,
}

const COMMUNITY: &str = "gallery.properties.sharingProfile.communityGalleryInfo";

impl Community {
    /// Validates the publisher's information; `public_name` is `{prefix}-{guid}`, made from a
    /// fresh GUID the caller supplies (this crate does no I/O).
    pub fn create(req: &CommunityRequest, guid: &str) -> Result<Self, Invalid> {
        let field = |name: &str, v: &Option<String>| -> Result<String, Invalid> {
            match v.as_deref().map(str::trim) {
                Some(v) if !v.is_empty() => Ok(v.to_string()),
                _ => Err(Invalid::param(
                    format!("{COMMUNITY}.{name}"),
                    format!("'{COMMUNITY}.{name}' is required for a community gallery."),
                )),
            }
        };
        let prefix = field("publicNamePrefix", &req.public_name_prefix)?;
        if prefix.len() > 16 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Invalid::param(
                format!("{COMMUNITY}.publicNamePrefix"),
                "'publicNamePrefix' is 1 to 16 letters and digits.",
            ));
        }
        let contact = field("publisherContact", &req.publisher_contact)?;
        if !contact.contains('@') {
            return Err(Invalid::param(
                format!("{COMMUNITY}.publisherContact"),
                "'publisherContact' is an email address.",
            ));
        }
        Ok(Self {
            publisher_uri: field("publisherUri", &req.publisher_uri)?,
            publisher_contact: contact,
            eula: field("eula", &req.eula)?,
            public_names: vec![format!("{}-{}", prefix.to_ascii_lowercase(), guid.to_ascii_lowercase())],
            public_name_prefix: prefix,
            enabled: false,
        })
    }

    /// Whether `name` is one of its public names.
    pub fn named(&self, name: &str) -> bool {
        self.public_names.iter().any(|n| n.eq_ignore_ascii_case(name))
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

    /// Sets `permissions` (and, for `Community`, the publisher's information) from a gallery PUT
    /// or PATCH. A community gallery keeps its public name; making one needs all of
    /// `communityGalleryInfo`. `guid` names a new community gallery.
    pub fn set_permissions(
        &mut self,
        value: &str,
        community: Option<&CommunityRequest>,
        guid: &str,
    ) -> Result<(), Invalid> {
        const TARGET: &str = "gallery.properties.sharingProfile.permissions";
        let p = Permission::parse(TARGET, value)?;
        match (p, community, &mut self.community) {
            (Permission::Community, Some(req), Some(current)) => {
                let next = Community::create(req, guid)?;
                *current = Community { public_names: current.public_names.clone(), enabled: current.enabled, ..next };
            }
            (Permission::Community, Some(req), None) => self.community = Some(Community::create(req, guid)?),
            (Permission::Community, None, Some(_)) => {}
            (Permission::Community, None, None) => {
                return Err(Invalid::param(
                    COMMUNITY,
                    "A community gallery needs 'communityGalleryInfo': publisherUri, publisherContact, eula and publicNamePrefix.",
                ));
            }
            (_, Some(_), _) => {
                return Err(Invalid::param(COMMUNITY, "'communityGalleryInfo' goes with permissions 'Community'."));
            }
            (_, None, _) => {}
        }
        if p != Permission::Community {
            self.community = None;
        }
        self.permissions = p;
        Ok(())
    }

    /// Whether anyone may see it: a community gallery that was published (`EnableCommunity`).
    pub fn public(&self) -> bool {
        self.permissions == Permission::Community && self.community.as_ref().is_some_and(|c| c.enabled)
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
                return match (&self.permissions, &mut self.community) {
                    (Permission::Community, Some(c)) => {
                        c.enabled = true;
                        Ok(())
                    }
                    _ => Err(Invalid::param(
                        "gallery.properties.sharingProfile.permissions",
                        "EnableCommunity needs a gallery with permissions 'Community' and its communityGalleryInfo.",
                    )),
                };
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

    #[test]
    fn community_galleries_need_their_information_and_go_public_when_enabled() {
        let info = CommunityRequest {
            publisher_uri: Some("https://example.org".into()),
            publisher_contact: Some("images@example.org".into()),
            eula: Some("eula".into()),
            public_name_prefix: Some("Team1".into()),
        };
        let mut s = Sharing::default();
        s.set_permissions("Community", Some(&info), "C989B7CE-3808-4E49-B3EA-5015B77C20FE").unwrap();
        let c = s.community.clone().unwrap();
        assert_eq!(c.public_names, vec!["team1-c989b7ce-3808-4e49-b3ea-5015b77c20fe"]);
        assert!(!s.public(), "not before EnableCommunity");
        s.apply(ShareOperation::EnableCommunity, &[]).unwrap();
        assert!(s.public() && s.community.as_ref().unwrap().named("TEAM1-c989b7ce-3808-4e49-b3ea-5015b77c20fe"));
        // Updating the information keeps the name and the publication.
        let newer = CommunityRequest { eula: Some("v2".into()), ..info.clone() };
        s.set_permissions("Community", Some(&newer), "other").unwrap();
        assert_eq!(s.community.as_ref().unwrap().public_names, c.public_names);
        assert!(s.public());
        for bad in [
            CommunityRequest { publisher_uri: None, ..info.clone() },
            CommunityRequest { publisher_contact: Some("nobody".into()), ..info.clone() },
            CommunityRequest { public_name_prefix: Some("has space".into()), ..info.clone() },
        ] {
            assert!(Sharing::default().set_permissions("Community", Some(&bad), "g").is_err(), "{bad:?}");
        }
        assert!(Sharing::default().set_permissions("Groups", Some(&info), "g").is_err());
        s.apply(ShareOperation::Reset, &[]).unwrap();
        assert!(!s.public() && s.community.is_none());
    }

    const S1: &str = "11111111-1111-1111-1111-111111111111";
    const T1: &str = "22222222-2222-2222-2222-222222222222";

    fn add(ids: &[&str], kind: &str) -> Vec<(String, Vec<String>)> {
        vec![(kind.to_string(), ids.iter().map(|s| s.to_string()).collect())]
    }

    #[test]
    fn sharing_follows_the_groups_and_the_permission() {
        let mut s = Sharing::default();
        assert!(s.apply(ShareOperation::Add, &add(&[S1], "Subscriptions")).is_err(), "Private: no groups");
        s.set_permissions("groups", None, "g").unwrap();
        s.apply(ShareOperation::Add, &add(&[&S1.to_ascii_uppercase()], "Subscriptions")).unwrap();
        s.apply(ShareOperation::Add, &add(&[S1], "Subscriptions")).unwrap();
        s.apply(ShareOperation::Add, &add(&[T1], "aadtenants")).unwrap();
        assert_eq!(s.ids(GroupType::Subscriptions).collect::<Vec<_>>(), vec![S1], "once, lowercase");
        assert!(s.shared_with(Some(S1), None) && s.shared_with(None, Some(T1)));
        assert!(!s.shared_with(Some(T1), Some(S1)), "a subscription id is not a tenant id");
        s.apply(ShareOperation::Remove, &add(&[S1], "Subscriptions")).unwrap();
        assert!(!s.shared_with(Some(S1), None));
        s.set_permissions("Private", None, "g").unwrap();
        assert!(!s.shared_with(None, Some(T1)), "private hides the groups");
        s.apply(ShareOperation::Reset, &[]).unwrap();
        assert_eq!(s, Sharing::default());
    }

    #[test]
    fn bad_shares_are_refused() {
        let mut s = Sharing { permissions: Permission::Groups, groups: vec![], community: None };
        assert!(s.apply(ShareOperation::Add, &add(&["not-a-guid"], "Subscriptions")).is_err());
        assert!(s.apply(ShareOperation::Add, &add(&[S1], "Users")).is_err());
        assert!(s.apply(ShareOperation::Add, &[]).is_err());
        assert!(s.apply(ShareOperation::EnableCommunity, &[]).is_err(), "not a community gallery");
        assert!(s.set_permissions("Community", None, "g").is_err(), "without its information");
        let many: Vec<String> = (0..31).map(|i| format!("{i:08x}-0000-0000-0000-000000000000")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(s.apply(ShareOperation::Add, &add(&refs, "Subscriptions")).is_err(), "over 30");
        assert_eq!(s.groups, vec![], "a refused share changes nothing");
    }
}
