//! What galleries, definitions and versions share: reading a tracked resource with its parent
//! checks, writing it together with its operation, and starting a delete.

use galleon_model::resource::Tracked;
use galleon_model::{GroupRef, Invalid, InvalidCode, ProvisioningState, Tags};
use galleon_store::typed::{self, Record};
use galleon_store::{Batch, Expect, Kind, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::jobs::{Accepted, Job};
use crate::{Core, CoreError, CoreResult, Page, PageRequest, now};

/// The envelope fields of a create or update request.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// `location` as sent (required on PUT, absent on PATCH).
    pub location: Option<String>,
    /// `tags`, when sent.
    pub tags: Option<Tags>,
}

impl Envelope {
    /// The envelope of a request, its tags checked against ARM's limits.
    pub fn new(location: Option<String>, tags: Option<Tags>) -> Result<Self, Invalid> {
        if let Some(tags) = &tags {
            galleon_model::resource::validate_tags(tags)?;
        }
        Ok(Self { location, tags })
    }
}

/// A resource about to be written.
pub(crate) struct Pending<'a, P> {
    pub kind: Kind,
    pub key: String,
    /// A secondary key unique among siblings, with the message used when it is taken.
    pub unique: Option<(String, String)>,
    pub previous: Option<i64>,
    pub value: Tracked<P>,
    /// A parent whose revision must still hold when the write commits.
    pub parent: Option<(Kind, String, i64)>,
    pub job: Job,
    pub subscription: &'a str,
}

impl Core {
    /// Reads a resource; `None` if absent.
    pub(crate) async fn load<P: DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
    ) -> CoreResult<Option<Record<Tracked<P>>>> {
        Ok(typed::get(self.store(), kind, key).await?)
    }

    /// Fails with `SubscriptionNotFound` / `ResourceGroupNotFound` unless the group exists.
    pub(crate) async fn require_group(&self, group: &GroupRef) -> CoreResult<()> {
        self.require_subscription(&group.subscription).await?;
        if self.store().get(Kind::Group, &group.key()).await?.is_none() {
            return Err(CoreError::ResourceGroupNotFound(group.resource_group.clone()));
        }
        Ok(())
    }

    /// Reads a parent resource for a child write: 404 `ParentResourceNotFound` when absent,
    /// 409 when it is being deleted.
    pub(crate) async fn load_parent<P: DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
        display: &str,
    ) -> CoreResult<Record<Tracked<P>>> {
        let Some(parent) = self.load::<P>(kind, key).await? else {
            return Err(CoreError::ParentNotFound(display.to_string()));
        };
        if parent.value.provisioning_state == ProvisioningState::Deleting {
            return Err(CoreError::Conflict {
                code: "ParentResourceBeingDeleted",
                message: format!(
                    "Can not perform requested operation on nested resource. Parent resource '{display}' is being deleted."
                ),
            });
        }
        Ok(parent)
    }

    /// `ParentResourceNotFound` unless the parent exists (for reads and lists of children).
    pub(crate) async fn require_exists(&self, kind: Kind, key: &str, display: &str) -> CoreResult<()> {
        match self.store().get(kind, key).await? {
            Some(_) => Ok(()),
            None => Err(CoreError::ParentNotFound(display.to_string())),
        }
    }

    /// Reads a resource. Its parents exist while it does (deletes go bottom-up), so `explain`
    /// (which looks at the parents to choose the right 404) runs only when it is missing.
    pub(crate) async fn read<P: DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
        explain: impl Future<Output = CoreResult<CoreError>>,
    ) -> CoreResult<Tracked<P>> {
        match self.load::<P>(kind, key).await? {
            Some(found) => Ok(found.value),
            None => Err(explain.await?),
        }
    }

    /// One page of the resources of `kind` under `prefix`; `check_parent` runs only when the
    /// page is empty, to tell "no children" from "no parent".
    pub(crate) async fn list_page<P: DeserializeOwned>(
        &self,
        kind: Kind,
        prefix: &str,
        page: &PageRequest,
        check_parent: impl Future<Output = CoreResult<()>>,
    ) -> CoreResult<Page<Tracked<P>>> {
        let size = page.size();
        let rows = typed::list::<Tracked<P>>(self.store(), kind, prefix, page.after.as_deref(), size + 1).await?;
        if rows.is_empty() {
            check_parent.await?;
        }
        Ok(Page::from_rows(rows.into_iter().map(|(k, r)| (k, r.value)).collect(), size))
    }

    /// One page of a top-level resource type (`segment` as in its ARM path, lowercase) in a
    /// group, or in the whole subscription when `group` is `None`.
    pub(crate) async fn list_scoped<P: DeserializeOwned>(
        &self,
        kind: Kind,
        segment: &str,
        subscription: &str,
        group: Option<&GroupRef>,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<P>>> {
        let prefix = match group {
            Some(g) => format!("{}/providers/microsoft.compute/{segment}/", g.key()),
            None => format!("/subscriptions/{}/", subscription.to_ascii_lowercase()),
        };
        let check = async {
            match group {
                Some(g) => self.require_group(g).await,
                None => self.require_subscription(subscription).await.map(drop),
            }
        };
        self.list_page(kind, &prefix, page, check).await
    }

    /// Refuses a write while another operation on the resource is running.
    pub(crate) fn check_idle<P>(existing: &Tracked<P>) -> CoreResult<()> {
        match existing.provisioning_state {
            state if state.is_transitional() => Err(CoreError::Conflict {
                code: "OperationNotAllowed",
                message: format!(
                    "The resource '{}' is {} by another operation. Wait for it to finish and retry.",
                    existing.name,
                    match existing.provisioning_state {
                        ProvisioningState::Deleting => "being deleted",
                        ProvisioningState::Creating => "being created",
                        _ => "being updated",
                    }
                ),
            }),
            _ => Ok(()),
        }
    }

    /// A resource just accepted for creation.
    pub(crate) fn creating<P>(
        id: String,
        name: &str,
        location: String,
        tags: Option<Tags>,
        properties: P,
    ) -> Tracked<P> {
        Tracked {
            id,
            name: name.to_string(),
            location,
            tags: tags.unwrap_or_default(),
            provisioning_state: ProvisioningState::Creating,
            created_at: now(),
            properties,
        }
    }

    /// The next state of an existing resource under an update: refused while another operation
    /// runs; otherwise Updating, with the new properties, and new tags on a PUT or a PATCH that
    /// names them.
    pub(crate) fn updating<P: Clone>(
        old: &Tracked<P>,
        properties: P,
        tags: Option<Tags>,
        patch: bool,
    ) -> CoreResult<Tracked<P>> {
        Self::check_idle(old)?;
        let mut value = old.clone();
        value.properties = properties;
        value.provisioning_state = ProvisioningState::Updating;
        if tags.is_some() || !patch {
            value.tags = tags.unwrap_or_default();
        }
        Ok(value)
    }

    /// A PUT on an existing resource whose properties are fixed once created (disks, snapshots,
    /// managed images, VMs): same location required; only its tags change.
    pub(crate) async fn retag<P: Serialize + Clone>(
        &self,
        kind: Kind,
        key: String,
        old: Record<Tracked<P>>,
        location: &str,
        group: &GroupRef,
        tags: Option<Tags>,
    ) -> CoreResult<Accepted<Tracked<P>>> {
        Self::check_same_location(&old.value, location, &group.resource_group)?;
        let value = Self::updating(&old.value, old.value.properties.clone(), tags, false)?;
        let job = Job::Provision { kind: kind.as_str().into() };
        let pending = Pending {
            kind,
            key,
            unique: None,
            previous: Some(old.rev),
            value,
            parent: None,
            job,
            subscription: &group.subscription,
        };
        self.commit(pending).await
    }

    /// Refuses a PUT whose location differs from the existing resource's.
    pub(crate) fn check_same_location<P>(existing: &Tracked<P>, location: &str, group: &str) -> CoreResult<()> {
        if existing.location == location {
            return Ok(());
        }
        Err(CoreError::Conflict {
            code: "InvalidResourceLocation",
            message: format!(
                "The resource '{}' already exists in location '{}' in resource group '{group}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
                existing.name, existing.location
            ),
        })
    }

    /// Child resources live in their parent's region.
    pub(crate) fn check_parent_location(location: &str, parent_location: &str, parent: &str) -> CoreResult<()> {
        if location == parent_location {
            return Ok(());
        }
        Err(Invalid {
            code: InvalidCode::InvalidParameter,
            target: "location".into(),
            message: format!("The location '{location}' must be the location of the parent resource '{parent}' ('{parent_location}')."),
        }
        .into())
    }

    /// Writes the resource and its operation in one batch and wakes the workers.
    pub(crate) async fn commit<P: Serialize + Clone>(
        &self,
        pending: Pending<'_, P>,
    ) -> CoreResult<Accepted<Tracked<P>>> {
        let op = self.new_operation(pending.subscription, &pending.value.location, &pending.key, &pending.job);
        let expect = pending.previous.map_or(Expect::Absent, Expect::Rev);
        let mut batch = Batch::new().put(
            typed::doc(pending.kind, &pending.key, pending.unique.as_ref().map(|(k, _)| k.clone()), &pending.value),
            expect,
        );
        if let Some((kind, key, rev)) = &pending.parent {
            batch = batch.check(*kind, key.clone(), Expect::Rev(*rev));
        }
        batch = batch.operation(op.clone());
        match self.store().apply(batch).await {
            Ok(()) => {}
            Err(StoreError::Duplicate { .. }) => {
                let message = pending.unique.map(|(_, m)| m).unwrap_or_default();
                return Err(CoreError::Conflict { code: "Conflict", message });
            }
            Err(StoreError::Conflict { .. }) => {
                return Err(CoreError::Conflict {
                    code: "Conflict",
                    message: format!(
                        "The resource '{}' or its parent was changed by another request. Retry the request.",
                        pending.value.name
                    ),
                });
            }
            Err(e) => return Err(e.into()),
        }
        self.wake.notify_one();
        Ok(Accepted { resource: pending.value, created: pending.previous.is_none(), operation: op.into() })
    }

    /// Marks a resource Deleting and queues the job that removes it (after checking, in the same
    /// batch as the removal, that it has no children of `children` kind).
    pub(crate) async fn begin_delete<P: Serialize + Clone>(
        &self,
        kind: Kind,
        key: &str,
        record: Record<Tracked<P>>,
        unique: Option<String>,
        children: Option<Kind>,
        subscription: &str,
    ) -> CoreResult<crate::OperationInfo> {
        let mut value = record.value;
        value.provisioning_state = ProvisioningState::Deleting;
        let job = Job::Delete { kind: kind.as_str().into(), children: children.map(|k| k.as_str().to_string()) };
        let op = self.new_operation(subscription, &value.location, key, &job);
        let batch =
            Batch::new().put(typed::doc(kind, key, unique, &value), Expect::Rev(record.rev)).operation(op.clone());
        self.store().apply(batch).await.map_err(|e| match e {
            StoreError::Conflict { .. } => CoreError::Conflict {
                code: "Conflict",
                message: format!("The resource '{}' was changed by another request. Retry the delete.", value.name),
            },
            other => other.into(),
        })?;
        self.wake.notify_one();
        Ok(op.into())
    }

    /// The 409 ARM answers when a parent still has children.
    pub(crate) async fn refuse_if_children(&self, child: Kind, prefix: &str) -> CoreResult<()> {
        let children = self.store().list(child, prefix, None, 3).await?;
        if children.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = children
            .iter()
            .filter_map(|d| d.body.get("id").and_then(|v| v.as_str()))
            .map(|id| id.split_once("/providers/").map_or(id, |(_, t)| t).to_string())
            .collect();
        Err(CoreError::Conflict {
            code: "CannotDeleteResource",
            message: format!(
                "Cannot delete resource while nested resources exist. Some existing nested resource IDs include: '{}'. Please delete all nested resources before deleting this resource.",
                ids.join("', '")
            ),
        })
    }
}
