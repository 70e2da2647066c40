//! Role assignments (`Microsoft.Authorization/roleAssignments` at subscription, resource group,
//! gallery or image definition scope) and the check every ARM request goes through. The rule
//! itself is `galleon_model::rbac`.

use galleon_model::rbac::{self, Action, Role};
use galleon_model::resource_id::ResourceId;
use galleon_model::{GroupRef, Invalid};
use galleon_store::{Batch, Expect, Kind, typed};
use serde::{Deserialize, Serialize};

use crate::auth::{Claims, Principal};
use crate::{Core, CoreError, CoreResult};

/// The stored name of [`RoleAssignment::principal_id`] (read from raw documents).
const PRINCIPAL_FIELD: &str = "principal_id";

/// A stored role assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// Its ARM id.
    pub id: String,
    /// Its name (a GUID).
    pub name: String,
    /// The scope, as given.
    pub scope: String,
    /// The principal's object id.
    pub principal_id: String,
    /// `ServicePrincipal`, `User`…, echoed.
    pub principal_type: String,
    /// The role.
    pub role: Role,
}

const SEGMENT: &str = "/providers/Microsoft.Authorization/roleAssignments/";

fn key(id: &str) -> String {
    id.to_ascii_lowercase()
}

/// The tenant's root scope. Owner here is galleon's administrator: it manages principals,
/// subscriptions and operator actions (`/galleon/*`), which no narrower Owner may.
pub const ROOT_SCOPE: &str = "/";

fn is_root(scope: &str) -> bool {
    scope.trim_end_matches('/').is_empty()
}

/// What a role assignment's scope names: the tenant root, a subscription, a group, a gallery or
/// an image definition (the only scopes galleon assigns roles at).
enum Scope {
    Root,
    Subscription(String),
    Group(GroupRef),
    /// A gallery or an image definition: its kind, its group and `Namespace/type/name…`.
    Resource {
        kind: Kind,
        group: GroupRef,
        type_path: String,
    },
}

fn parse_scope(scope: &str) -> Option<Scope> {
    if is_root(scope) {
        return Some(Scope::Root);
    }
    let parts: Vec<&str> = scope.trim_end_matches('/').split('/').collect();
    match parts.len() {
        3 if parts[1].eq_ignore_ascii_case("subscriptions") => Some(Scope::Subscription(parts[2].to_string())),
        5 if parts[1].eq_ignore_ascii_case("subscriptions") && parts[3].eq_ignore_ascii_case("resourcegroups") => {
            Some(Scope::Group(GroupRef::new(parts[2], parts[4])))
        }
        _ => {
            let r = ResourceId::parse(scope)?;
            let types: Vec<String> = r.segments.iter().map(|(t, _)| t.to_ascii_lowercase()).collect();
            let kind = match types.as_slice() {
                [g] if g == "galleries" => Kind::Gallery,
                [g, i] if g == "galleries" && i == "images" => Kind::Image,
                _ => return None,
            };
            if !r.namespace.eq_ignore_ascii_case("microsoft.compute") {
                return None;
            }
            let names = r.segments.iter().map(|(t, n)| format!("{t}/{n}")).collect::<Vec<_>>().join("/");
            let type_path = format!("{}/{names}", r.namespace);
            Some(Scope::Resource { kind, group: GroupRef::new(&r.subscription, &r.resource_group), type_path })
        }
    }
}

impl Core {
    /// 404 unless the scope names something that exists (as ARM refuses an assignment at a
    /// resource group or resource that is not there).
    async fn require_scope(&self, scope: &str, parsed: &Scope) -> CoreResult<()> {
        match parsed {
            Scope::Root => Ok(()),
            Scope::Subscription(sub) => self.require_subscription(sub).await.map(drop),
            Scope::Group(group) => self.require_group(group).await,
            Scope::Resource { kind, group, type_path } => {
                self.require_group(group).await?;
                match self.store().get(*kind, &key(scope.trim_end_matches('/'))).await? {
                    Some(_) => Ok(()),
                    None => {
                        Err(CoreError::NotFound { type_path: type_path.clone(), group: group.resource_group.clone() })
                    }
                }
            }
        }
    }

    /// The assignments of the installation for which `wanted` (given the raw document) holds,
    /// decoded. Only those are decoded: every request checks its caller's roles, and decoding
    /// every assignment of the installation each time was a tenth of a GET's server time.
    async fn assignments_where(&self, wanted: impl Fn(&serde_json::Value) -> bool) -> CoreResult<Vec<RoleAssignment>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store().list(Kind::RoleAssignment, "/", after.as_deref(), 500).await?;
            let full = page.len() == 500;
            after = page.last().map(|d| d.key.clone());
            for doc in page.iter().filter(|d| wanted(&d.body)) {
                out.push(typed::decode_ref::<RoleAssignment>(doc)?.value);
            }
            if !full {
                return Ok(out);
            }
        }
    }

    /// The assignments held by a principal (object id).
    pub async fn assignments_of(&self, principal_id: &str) -> CoreResult<Vec<RoleAssignment>> {
        self.assignments_where(|doc| {
            let holder = doc.get(PRINCIPAL_FIELD).and_then(serde_json::Value::as_str);
            holder.is_some_and(|p| p.eq_ignore_ascii_case(principal_id))
        })
        .await
    }

    /// Allows the request or answers 403 `AuthorizationFailed`, worded as ARM does.
    pub async fn authorize(&self, claims: &Claims, resource: &str, action: Action) -> CoreResult<()> {
        let mine = self.assignments_of(&claims.oid).await?;
        if rbac::allowed(mine.iter().map(|a| (a.scope.as_str(), a.role)), resource, action) {
            return Ok(());
        }
        Err(CoreError::Forbidden(format!(
            "The client '{}' with object id '{}' does not have authorization to perform action '{}' over scope '{resource}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            claims.appid,
            claims.oid,
            action.describe()
        )))
    }

    /// Whether a principal holds any role in (or under, or above) a subscription.
    pub async fn has_any_role_in(&self, principal_id: &str, subscription: &str) -> CoreResult<bool> {
        let prefix = format!("/subscriptions/{subscription}");
        Ok(self
            .assignments_of(principal_id)
            .await?
            .iter()
            .any(|a| rbac::covers(&prefix, &a.scope) || rbac::covers(&a.scope, &prefix)))
    }

    /// Which of `ids` the caller may read (one look at its assignments for the whole list).
    pub async fn readable(&self, claims: &Claims, ids: &[&str]) -> CoreResult<Vec<bool>> {
        let mine = self.assignments_of(&claims.oid).await?;
        let scopes: Vec<(&str, rbac::Role)> = mine.iter().map(|a| (a.scope.as_str(), a.role)).collect();
        Ok(ids.iter().map(|id| rbac::allowed(scopes.iter().copied(), id, Action::Read)).collect())
    }

    /// Whether a principal holds any role at or below `scope` (what lets it list the part of a
    /// collection under `scope` it can read).
    pub async fn has_role_under(&self, principal_id: &str, scope: &str) -> CoreResult<bool> {
        Ok(self.assignments_of(principal_id).await?.iter().any(|a| rbac::covers(scope, &a.scope)))
    }

    /// Allows galleon's administrative actions (principals, subscriptions, scrub, gc) only to an
    /// Owner of the tenant root scope; an Owner of anything narrower is refused.
    pub async fn authorize_admin(&self, claims: &Claims) -> CoreResult<()> {
        self.authorize(claims, ROOT_SCOPE, Action::Authorize).await
    }

    /// Creates (or replaces) a role assignment.
    pub async fn put_role_assignment(
        &self,
        scope: &str,
        name: &str,
        principal_id: &str,
        role_definition: &str,
        principal_type: Option<&str>,
    ) -> CoreResult<RoleAssignment> {
        let Some(parsed) = parse_scope(scope) else {
            return Err(Invalid::param(
                "scope",
                format!("The scope '{scope}' is not a subscription, resource group, gallery or image definition."),
            )
            .into());
        };
        if uuid::Uuid::parse_str(name).is_err() {
            return Err(Invalid {
                code: galleon_model::InvalidCode::InvalidRoleAssignmentId,
                target: "name".into(),
                message: format!(
                    "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
                ),
            }
            .into());
        }
        self.require_scope(scope, &parsed).await?;
        let role = Role::parse(role_definition).ok_or_else(|| {
            CoreError::Invalid(Invalid::param(
                "properties.roleDefinitionId",
                format!("The role definition '{role_definition}' does not exist (Owner, Contributor or Reader)."),
            ))
        })?;
        let principals = typed::list::<Principal>(self.store(), Kind::Principal, "", None, 10_000).await?;
        if !principals.iter().any(|(_, p)| p.value.object_id.eq_ignore_ascii_case(principal_id)) {
            return Err(Invalid::param(
                "properties.principalId",
                format!("Principal {principal_id} does not exist in the directory."),
            )
            .into());
        }
        let id = format!("{}{SEGMENT}{name}", scope.trim_end_matches('/'));
        let scope = if is_root(scope) { ROOT_SCOPE } else { scope.trim_end_matches('/') };
        let a = RoleAssignment {
            id: id.clone(),
            name: name.to_string(),
            scope: scope.to_string(),
            principal_id: principal_id.to_string(),
            principal_type: principal_type.unwrap_or("ServicePrincipal").to_string(),
            role,
        };
        self.store()
            .apply(Batch::new().put(typed::doc(Kind::RoleAssignment, &key(&id), None, &a), Expect::Any))
            .await?;
        Ok(a)
    }

    /// One assignment.
    pub async fn get_role_assignment(&self, id: &str) -> CoreResult<RoleAssignment> {
        typed::get::<RoleAssignment>(self.store(), Kind::RoleAssignment, &key(id)).await?.map(|r| r.value).ok_or_else(
            || CoreError::NotFound {
                type_path: "Microsoft.Authorization/roleAssignments".into(),
                group: id.to_string(),
            },
        )
    }

    /// Assignments at or below a scope.
    pub async fn list_role_assignments(&self, scope: &str) -> CoreResult<Vec<RoleAssignment>> {
        Ok(self.assignments_where(|_| true).await?.into_iter().filter(|a| rbac::covers(scope, &a.scope)).collect())
    }

    /// Removes an assignment; returns it if it existed.
    pub async fn delete_role_assignment(&self, id: &str) -> CoreResult<Option<RoleAssignment>> {
        let found = typed::get::<RoleAssignment>(self.store(), Kind::RoleAssignment, &key(id)).await?;
        if found.is_some() {
            self.store().apply(Batch::new().delete(Kind::RoleAssignment, key(id), Expect::Any)).await?;
        }
        Ok(found.map(|r| r.value))
    }

    /// Makes sure the principal is Owner of the subscription (the admin, on every start).
    pub async fn ensure_owner(&self, subscription: &str, principal_id: &str) -> CoreResult<()> {
        self.ensure_owner_at(&format!("/subscriptions/{subscription}"), principal_id).await
    }

    /// Makes sure the principal is Owner of the tenant root: galleon's administrator (the admin
    /// principal, on every start, so data directories made before this scope existed get it).
    pub async fn ensure_tenant_admin(&self, principal_id: &str) -> CoreResult<()> {
        self.ensure_owner_at(ROOT_SCOPE, principal_id).await
    }

    async fn ensure_owner_at(&self, scope: &str, principal_id: &str) -> CoreResult<()> {
        // A stable name: the same assignment on every start. The subscription's keeps the name it
        // has always had.
        let seed = match scope.strip_prefix("/subscriptions/") {
            Some(sub) => format!("{sub}/{principal_id}/owner"),
            None => format!("{scope}/{principal_id}/owner"),
        };
        let name = uuid::Uuid::from_bytes(*blake3::hash(seed.as_bytes()).as_bytes().first_chunk().expect("16 bytes"))
            .to_string();
        self.put_role_assignment(scope, &name, principal_id, "Owner", None).await.map(drop)
    }
}

#[cfg(test)]
mod stored_form {
    use super::{PRINCIPAL_FIELD, RoleAssignment};

    #[test]
    fn the_principal_is_read_from_the_field_an_assignment_is_stored_with() {
        let a = RoleAssignment {
            id: "i".into(),
            name: "n".into(),
            scope: "/".into(),
            principal_id: "p".into(),
            principal_type: "User".into(),
            role: galleon_model::rbac::Role::Reader,
        };
        assert_eq!(serde_json::to_value(&a).unwrap()[PRINCIPAL_FIELD], "p");
    }
}
