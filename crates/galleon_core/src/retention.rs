//! Retention policies (a galleon extension, kept beside the definition so Azure clients that
//! rewrite a definition never drop them): set, show, preview, and applied by durable jobs, one
//! per definition on request and a sweep of every policy on the collection schedule. The rules
//! are `galleon_model::retention::plan`; this module gathers the facts (which disks hold a
//! version's content, where it is `latest`) and deletes what the plan says, through the
//! version delete every client uses (so soft delete applies).

use std::collections::{HashMap, HashSet};

use galleon_model::disk::Disk;
use galleon_model::image_version::ImageVersion;
use galleon_model::retention::{Facts, RetentionPolicy, plan};
use galleon_model::{ImageRef, VersionNumber};
use galleon_store::{Batch, Expect, Kind, typed};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::jobs::{Job, JobError, finished};
use crate::{Core, CoreError, CoreResult, Operation, OperationInfo, now};

/// Where policies are kept: `retention{definition key}`.
const PREFIX: &str = "retention/subscriptions/";

fn policy_key(image: &ImageRef) -> String {
    format!("retention{}", image.key())
}

/// A definition named in a job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DefinitionName {
    subscription: String,
    resource_group: String,
    gallery: String,
    image: String,
}

impl DefinitionName {
    pub(crate) fn of(image: &ImageRef) -> Self {
        Self {
            subscription: image.gallery.group.subscription.clone(),
            resource_group: image.gallery.group.resource_group.clone(),
            gallery: image.gallery.gallery.clone(),
            image: image.image.clone(),
        }
    }

    pub(crate) fn image(&self) -> ImageRef {
        galleon_model::GroupRef::new(&self.subscription, &self.resource_group).gallery(&self.gallery).image(&self.image)
    }
}

/// A stored policy with the definition it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    definition: DefinitionName,
    policy: RetentionPolicy,
}

/// What a policy does to one version.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionStep {
    pub name: String,
    /// `delete` or `keep` (a preview), `deleted`, `softDeleted`, `kept` or `failed` (a run).
    pub action: String,
    pub reasons: Vec<String>,
}

/// A policy's plan (preview) or outcome (run).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionReport {
    pub policy: RetentionPolicy,
    pub versions: Vec<RetentionStep>,
}

impl Core {
    async fn require_definition(&self, image: &ImageRef) -> CoreResult<()> {
        self.require_group(&image.gallery.group).await?;
        if self.store().get(Kind::Image, &image.key()).await?.is_none() {
            return Err(crate::images::not_found(image));
        }
        Ok(())
    }

    /// The definition's policy (404 when it has none).
    pub async fn get_retention_policy(&self, image: &ImageRef) -> CoreResult<RetentionPolicy> {
        self.retention_policy(image).await?.ok_or_else(|| no_policy(image))
    }

    /// The definition's policy, if it has one.
    async fn retention_policy(&self, image: &ImageRef) -> CoreResult<Option<RetentionPolicy>> {
        self.require_definition(image).await?;
        Ok(typed::get::<Stored>(self.store(), Kind::Setting, &policy_key(image)).await?.map(|r| r.value.policy))
    }

    /// Sets the definition's policy (checked first; nothing changes when it is refused).
    pub async fn set_retention_policy(&self, image: &ImageRef, policy: RetentionPolicy) -> CoreResult<RetentionPolicy> {
        policy.validate()?;
        self.require_definition(image).await?;
        let stored = Stored { definition: DefinitionName::of(image), policy: policy.clone() };
        let doc = typed::doc(Kind::Setting, &policy_key(image), None, &stored);
        self.store().apply(Batch::new().put(doc, Expect::Any)).await?;
        Ok(policy)
    }

    /// Removes the definition's policy; false when it had none.
    pub async fn delete_retention_policy(&self, image: &ImageRef) -> CoreResult<bool> {
        let had = self.retention_policy(image).await?.is_some();
        self.store().apply(Batch::new().delete(Kind::Setting, policy_key(image), Expect::Any)).await?;
        Ok(had)
    }

    /// What `policy` (or the stored one) would delete now, and why each version stays or goes.
    pub async fn preview_retention(
        &self,
        image: &ImageRef,
        policy: Option<RetentionPolicy>,
    ) -> CoreResult<RetentionReport> {
        let policy = match policy {
            Some(p) => {
                p.validate()?;
                p
            }
            None => self.get_retention_policy(image).await?,
        };
        self.require_definition(image).await?;
        let decisions = self.retention_plan(image, &policy).await?;
        let versions = decisions
            .into_iter()
            .map(|d| RetentionStep {
                name: d.number.to_string(),
                action: if d.delete { "delete" } else { "keep" }.into(),
                reasons: d.reasons,
            })
            .collect();
        Ok(RetentionReport { policy, versions })
    }

    /// Queues the definition's policy as a durable job; its result is the run's report.
    pub async fn start_retention(&self, image: &ImageRef) -> CoreResult<OperationInfo> {
        self.get_retention_policy(image).await?;
        let job = Job::Retention { definition: DefinitionName::of(image) };
        let op = self.new_operation(&image.gallery.group.subscription, "global", &image.key(), &job);
        self.store().apply(Batch::new().operation(op.clone())).await?;
        self.wake.notify_one();
        Ok(op.into())
    }

    async fn retention_plan(
        &self,
        image: &ImageRef,
        policy: &RetentionPolicy,
    ) -> CoreResult<Vec<galleon_model::retention::Decision>> {
        let versions = self.all_versions(image).await?;
        let used_by = self.disks_by_digest().await?;
        // Where each version is `latest`, by the function that resolves it.
        let mut regions: Vec<String> = Vec::new();
        for v in &versions {
            for t in &v.properties.publishing.target_regions {
                if !regions.contains(&t.name) {
                    regions.push(t.name.clone());
                }
            }
        }
        let mut latest_in: HashMap<String, Vec<String>> = HashMap::new();
        for region in &regions {
            if let Some(n) = galleon_model::latest::resolve(crate::version_sources::candidates(&versions), region) {
                latest_in.entry(n.to_string()).or_default().push(galleon_model::region::display_name(region));
            }
        }
        let facts: Vec<Facts<'_>> = versions
            .iter()
            .filter_map(|v| {
                let number: VersionNumber = v.name.parse().ok()?;
                let mut disks: Vec<String> = digests_of(&v.properties)
                    .iter()
                    .flat_map(|d| used_by.get(d).cloned().unwrap_or_default())
                    .collect();
                disks.sort();
                disks.dedup();
                Some(Facts {
                    number,
                    state: v.provisioning_state,
                    version: &v.properties,
                    used_by: disks,
                    latest_in: latest_in.get(&v.name).cloned().unwrap_or_default(),
                })
            })
            .collect();
        Ok(plan(policy, &facts, now()))
    }

    /// Every disk's content digest, with the disks (`group/name`) holding it.
    async fn disks_by_digest(&self) -> CoreResult<HashMap<String, Vec<String>>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for d in self.all_of::<Disk>(Kind::Disk).await? {
            if let Some(digest) = &d.properties.digest {
                let group =
                    galleon_model::resource_id::ResourceId::parse(&d.id).map(|r| r.resource_group).unwrap_or_default();
                out.entry(digest.clone()).or_default().push(format!("{group}/{}", d.name));
            }
        }
        Ok(out)
    }

    /// Applies `policy` to `image` now: deletes what the plan says through the version delete.
    async fn apply_retention(&self, image: &ImageRef, policy: &RetentionPolicy) -> CoreResult<Vec<RetentionStep>> {
        let soft = self.soft_delete_policy(&image.gallery).await?.is_some();
        let mut steps = Vec::new();
        for d in self.retention_plan(image, policy).await? {
            let name = d.number.to_string();
            if !d.delete {
                steps.push(RetentionStep { name, action: "kept".into(), reasons: d.reasons });
                continue;
            }
            let (action, mut reasons) = match self.delete_version(&image.version(&name)).await {
                Ok(_) if soft => ("softDeleted", d.reasons),
                Ok(_) => ("deleted", d.reasons),
                Err(e) => ("failed", vec![e.to_string()]),
            };
            if action != "failed" {
                tracing::info!(version = %image.version(&name).id(), action, "retention policy");
            } else {
                reasons.push("the delete was refused; the next run tries again".into());
            }
            steps.push(RetentionStep { name, action: action.into(), reasons });
        }
        Ok(steps)
    }

    /// The durable job of `start_retention`.
    pub(crate) async fn job_retention(&self, op: Operation, definition: &DefinitionName) -> Result<(), JobError> {
        let image = definition.image();
        let policy = match self.retention_policy(&image).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(JobError::Fail("NotFound".into(), no_policy(&image).to_string())),
            Err(e @ CoreError::NotFound { .. }) => return Err(JobError::Fail("NotFound".into(), e.to_string())),
            Err(e) => return Err(JobError::Retry(e.to_string())),
        };
        let versions = self.apply_retention(&image, &policy).await.map_err(|e| JobError::Retry(e.to_string()))?;
        let mut op = op;
        op.result = Some(json!(RetentionReport { policy, versions }));
        self.store().apply(Batch::new().operation(finished(op, None))).await?;
        Ok(())
    }

    /// Applies every stored policy (the periodic sweep; definitions gone since lose theirs),
    /// and queues the end-of-life events that are due.
    pub(crate) async fn job_retention_sweep(&self, op: Operation) -> Result<(), JobError> {
        let mut seen = HashSet::new();
        let mut after: Option<String> = None;
        let mut deleted = 0usize;
        loop {
            let page = typed::list::<Stored>(self.store(), Kind::Setting, PREFIX, after.as_deref(), 200).await?;
            let full = page.len() == 200;
            after = page.last().map(|(k, _)| k.clone());
            for (key, stored) in page {
                if !seen.insert(key.clone()) {
                    continue;
                }
                let image = stored.value.definition.image();
                match self.apply_retention(&image, &stored.value.policy).await {
                    Ok(steps) => deleted += steps.iter().filter(|s| s.action != "kept" && s.action != "failed").count(),
                    Err(CoreError::NotFound { .. }) => {
                        self.store().apply(Batch::new().delete(Kind::Setting, key, Expect::Any)).await?;
                    }
                    Err(e) => tracing::warn!(definition = %image.id(), error = %e, "retention policy not applied"),
                }
            }
            if !full {
                break;
            }
        }
        // Versions whose end of life has come tell their event subscriptions, once.
        let end_of_life = self.emit_end_of_life().await.map_err(|e| JobError::Retry(e.to_string()))?;
        let mut op = op;
        op.result = Some(json!({ "policies": seen.len(), "versionsDeleted": deleted, "endOfLifeEvents": end_of_life }));
        self.store().apply(Batch::new().operation(finished(op, None))).await?;
        Ok(())
    }
}

fn no_policy(image: &ImageRef) -> CoreError {
    CoreError::NotFound {
        type_path: format!(
            "Microsoft.Compute/galleries/{}/images/{}/retentionPolicy",
            image.gallery.gallery, image.image
        ),
        group: image.gallery.group.resource_group.clone(),
    }
}

/// The manifest digests of a version's disks.
fn digests_of(v: &ImageVersion) -> Vec<String> {
    let s = &v.storage;
    s.os_disk.iter().chain(s.data_disks.iter().map(|d| &d.disk)).filter_map(|d| d.digest.clone()).collect()
}
