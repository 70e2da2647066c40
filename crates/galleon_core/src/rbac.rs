//! Role assignments (`Microsoft.Authorization/roleAssignments` at subscription, resource group,
//! gallery or image definition scope) and the check every ARM request goes through. The rule
//! itself is `galleon_model::rbac`.

use galleon_model::Invalid;
use galleon_model::rbac::{self, Action, Role};
use galleon_model::resource_id::ResourceId;
use galleon_store::{Batch, Expect, Kind, typed};
use serde::{Deserialize, Serialize};

use crate::auth::{Claims, Principal};
use crate::{Core, CoreError, CoreResult};

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

/// Scopes galleon assigns roles at: a subscription, a group, a gallery, an image definition.
fn valid_scope(scope: &str) -> bool {
    let parts: Vec<&str> = scope.trim_end_matches('/').split('/').collect();
    match parts.len() {
        3 => parts[1].eq_ignore_ascii_case("subscriptions"),
        5 => parts[1].eq_ignore_ascii_case("subscriptions") && parts[3].eq_ignore_ascii_case("resourcegroups"),
        _ => ResourceId::parse(scope).is_some_and(|r| {
            let types: Vec<String> = r.segments.iter().map(|(t, _)| t.to_ascii_lowercase()).collect();
            r.namespace.eq_ignore_ascii_case("microsoft.compute")
                && (types == ["galleries"] || types == ["galleries", "images"])
        }),
    }
}

impl Core {
    async fn all_assignments(&self) -> CoreResult<Vec<RoleAssignment>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = typed::list::<RoleAssignment>(
                self.store(),
                Kind::RoleAssignment,
                "/subscriptions/",
                after.as_deref(),
                500,
            )
            .await?;
            let full = page.len() == 500;
            after = page.last().map(|(k, _)| k.clone());
            out.extend(page.into_iter().map(|(_, r)| r.value));
            if !full {
                return Ok(out);
            }
        }
    }

    /// The assignments held by a principal (object id).
    pub async fn assignments_of(&self, principal_id: &str) -> CoreResult<Vec<RoleAssignment>> {
        Ok(self
            .all_assignments()
            .await?
            .into_iter()
            .filter(|a| a.principal_id.eq_ignore_ascii_case(principal_id))
            .collect())
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

    /// Whether a principal holds any role in (or under) a subscription.
    pub async fn has_any_role_in(&self, principal_id: &str, subscription: &str) -> CoreResult<bool> {
        let prefix = format!("/subscriptions/{subscription}");
        Ok(self.assignments_of(principal_id).await?.iter().any(|a| rbac::covers(&prefix, &a.scope)))
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
        if !valid_scope(scope) {
            return Err(Invalid::param(
                "scope",
                format!("The scope '{scope}' is not a subscription, resource group, gallery or image definition."),
            )
            .into());
        }
        let sub = scope.trim_start_matches('/').split('/').nth(1).unwrap_or_default();
        self.require_subscription(sub).await?;
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
        let a = RoleAssignment {
            id: id.clone(),
            name: name.to_string(),
            scope: scope.trim_end_matches('/').to_string(),
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
        Ok(self.all_assignments().await?.into_iter().filter(|a| rbac::covers(scope, &a.scope)).collect())
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
        let name = uuid::Uuid::from_bytes(
            *blake3::hash(format!("{subscription}/{principal_id}/owner").as_bytes())
                .as_bytes()
                .first_chunk()
                .expect("16 bytes"),
        )
        .to_string();
        self.put_role_assignment(&format!("/subscriptions/{subscription}"), &name, principal_id, "Owner", None)
            .await
            .map(drop)
    }
}
