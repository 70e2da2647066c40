//! Role-based access: which requests a principal's role assignments allow. Pure: the caller
//! gives the assignments and the request; the rule lives here, once.
//!
//! Roles are ARM's three built-ins. An assignment at a scope (a subscription, resource group,
//! gallery or image definition id) covers that resource and everything below it.

/// The built-in roles galleon understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Role {
    /// Everything, including role assignments.
    Owner,
    /// Everything but role assignments.
    Contributor,
    /// Reads only.
    Reader,
}

/// ARM's role definition ids of the built-in roles.
pub const ROLE_IDS: [(Role, &str, &str); 3] = [
    (Role::Owner, "Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    (Role::Contributor, "Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    (Role::Reader, "Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
];

impl Role {
    /// The role named by a role definition id (or its last segment) or a role name.
    pub fn parse(value: &str) -> Option<Self> {
        let last = value.rsplit('/').next().unwrap_or(value);
        ROLE_IDS
            .iter()
            .find(|(_, name, id)| last.eq_ignore_ascii_case(id) || last.eq_ignore_ascii_case(name))
            .map(|(r, _, _)| *r)
    }
    /// Its name.
    pub fn name(self) -> &'static str {
        ROLE_IDS.iter().find(|(r, _, _)| *r == self).map(|(_, n, _)| *n).unwrap_or_default()
    }
    /// Its role definition GUID.
    pub fn guid(self) -> &'static str {
        ROLE_IDS.iter().find(|(r, _, _)| *r == self).map(|(_, _, g)| *g).unwrap_or_default()
    }
}

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// GET.
    Read,
    /// PUT, PATCH, POST, DELETE on resources.
    Write,
    /// Changing role assignments.
    Authorize,
}

impl Action {
    /// The ARM-style action name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Authorize => "Microsoft.Authorization/roleAssignments/write",
        }
    }
}

fn role_allows(role: Role, action: Action) -> bool {
    matches!(
        (role, action),
        (Role::Owner, _) | (Role::Contributor, Action::Read | Action::Write) | (Role::Reader, Action::Read)
    )
}

/// Whether `scope` covers `resource` (both ARM ids; case-insensitive, whole segments).
pub fn covers(scope: &str, resource: &str) -> bool {
    let (scope, resource) =
        (scope.trim_end_matches('/').to_ascii_lowercase(), resource.trim_end_matches('/').to_ascii_lowercase());
    resource == scope || resource.starts_with(&format!("{scope}/"))
}

/// Whether assignments `(scope, role)` allow `action` on `resource`.
pub fn allowed<'a>(assignments: impl IntoIterator<Item = (&'a str, Role)>, resource: &str, action: Action) -> bool {
    assignments.into_iter().any(|(scope, role)| covers(scope, resource) && role_allows(role, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "/subscriptions/s";
    const RG: &str = "/subscriptions/s/resourceGroups/rg";
    const GAL: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g";
    const DEF: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i";
    const VER: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0";
    const OTHER_RG: &str = "/subscriptions/s/resourceGroups/other/providers/Microsoft.Compute/disks/d";

    #[test]
    fn every_role_scope_and_action() {
        use Action::*;
        use Role::*;
        // (role, scope, resource, action, allowed)
        let table: &[(Role, &str, &str, Action, bool)] = &[
            (Owner, SUB, VER, Write, true),
            (Owner, SUB, RG, Authorize, true),
            (Owner, GAL, OTHER_RG, Read, false),
            (Contributor, SUB, VER, Write, true),
            (Contributor, SUB, RG, Authorize, false),
            (Contributor, RG, GAL, Write, true),
            (Contributor, RG, OTHER_RG, Write, false),
            (Contributor, DEF, VER, Write, true),
            (Contributor, DEF, GAL, Write, false),
            (Reader, SUB, VER, Read, true),
            (Reader, SUB, VER, Write, false),
            (Reader, GAL, VER, Read, true),
            (Reader, GAL, GAL, Write, false),
            (Reader, GAL, RG, Read, false),
            (Reader, DEF, VER, Read, true),
            (
                Reader,
                DEF,
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i2",
                Read,
                false,
            ),
        ];
        for (role, scope, resource, action, expected) in table {
            assert_eq!(
                allowed([(*scope, *role)], resource, *action),
                *expected,
                "{role:?} at {scope} {action:?} {resource}"
            );
        }
        assert!(!allowed([], VER, Read), "no assignment, no access");
        assert!(covers("/subscriptions/S/resourcegroups/RG", GAL), "case-insensitive");
        assert!(!covers("/subscriptions/s/resourceGroups/r", RG), "whole segments only");
    }

    #[test]
    fn roles_parse_from_ids_and_names() {
        assert_eq!(
            Role::parse(
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
            ),
            Some(Role::Reader)
        );
        assert_eq!(Role::parse("contributor"), Some(Role::Contributor));
        assert_eq!(Role::parse("Janitor"), None);
    }
}
