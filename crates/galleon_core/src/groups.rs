//! Resource groups (`Microsoft.Resources/resourceGroups`). Create and update are synchronous,
//! as in ARM; delete is a long-running operation that removes everything in the group.

use galleon_model::names::validate_resource_group_name;
use galleon_model::resource::ResourceGroup;
use galleon_model::{GroupRef, Tags};
use galleon_store::typed;
use galleon_store::{Batch, Expect, Kind};

use crate::OperationInfo;
use crate::jobs::Job;
use crate::{Core, CoreError, CoreResult, Page, PageRequest};

impl Core {
    /// Creates or updates a group; returns it and whether it was created.
    pub async fn put_group(
        &self,
        group: &GroupRef,
        location: Option<&str>,
        tags: Option<Tags>,
    ) -> CoreResult<(ResourceGroup, bool)> {
        self.require_subscription(&group.subscription).await?;
        validate_resource_group_name(&group.resource_group)?;
        if let Some(tags) = &tags {
            galleon_model::resource::validate_tags(tags)?;
        }
        let location = self.region(location, "Microsoft.Resources/resourceGroups")?;
        let existing = typed::get::<ResourceGroup>(self.store(), Kind::Group, &group.key()).await?;
        if let Some(old) = &existing
            && old.value.location != location
        {
            return Err(CoreError::Conflict {
                code: "InvalidResourceGroupLocation",
                message: format!(
                    "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                    old.value.location
                ),
            });
        }
        let value = ResourceGroup {
            subscription: group.subscription.clone(),
            name: existing.as_ref().map_or_else(|| group.resource_group.clone(), |o| o.value.name.clone()),
            location,
            tags: tags.unwrap_or_default(),
        };
        let expect = existing.as_ref().map_or(Expect::Absent, |o| Expect::Rev(o.rev));
        self.store().apply(Batch::new().put(typed::doc(Kind::Group, &group.key(), None, &value), expect)).await?;
        Ok((value, existing.is_none()))
    }

    /// One group.
    pub async fn get_group(&self, group: &GroupRef) -> CoreResult<ResourceGroup> {
        self.require_subscription(&group.subscription).await?;
        typed::get::<ResourceGroup>(self.store(), Kind::Group, &group.key())
            .await?
            .map(|r| r.value)
            .ok_or_else(|| CoreError::ResourceGroupNotFound(group.resource_group.clone()))
    }

    /// The groups of a subscription.
    pub async fn list_groups(&self, subscription: &str, page: &PageRequest) -> CoreResult<Page<ResourceGroup>> {
        self.require_subscription(subscription).await?;
        let prefix = format!("/subscriptions/{}/resourcegroups/", subscription.to_ascii_lowercase());
        let size = page.size();
        let rows =
            typed::list::<ResourceGroup>(self.store(), Kind::Group, &prefix, page.after.as_deref(), size + 1).await?;
        Ok(Page::from_rows(rows.into_iter().map(|(k, r)| (k, r.value)).collect(), size))
    }

    /// Starts deleting a group and everything in it; `None` when it does not exist.
    pub async fn delete_group(&self, group: &GroupRef) -> CoreResult<Option<OperationInfo>> {
        self.require_subscription(&group.subscription).await?;
        let Some(existing) = typed::get::<ResourceGroup>(self.store(), Kind::Group, &group.key()).await? else {
            return Ok(None);
        };
        let op = self.new_operation(&group.subscription, &existing.value.location, &group.key(), &Job::DeleteGroup);
        self.store()
            .apply(Batch::new().check(Kind::Group, group.key(), Expect::Rev(existing.rev)).operation(op.clone()))
            .await?;
        self.wake.notify_one();
        Ok(Some(op.into()))
    }
}
