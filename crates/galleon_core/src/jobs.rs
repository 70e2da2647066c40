//! Long-running operations and the jobs behind them.
//!
//! An operation row is written in the same batch as the resource change that needs it, with
//! status `InProgress`; that row *is* the job. Workers claim rows with a lease, run the job, and
//! write the job's result together with the terminal status, so an operation's status and its
//! resource never disagree. A worker that dies leaves its lease to expire; another worker (or the
//! same server after a restart) picks the row up again. Every job is idempotent.

use std::sync::Arc;
use std::time::Duration;

use galleon_model::ProvisioningState;
use galleon_store::{Batch, Expect, Kind, LockMode, OpStatus, Operation, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Core, CoreError, CoreResult, OperationInfo, now};

/// How long a claimed job is reserved for its worker before another may take it over. A live
/// worker renews it every third of that, so a node that dies has its jobs taken over within it.
const LEASE: Duration = Duration::from_secs(15);
/// The lock content jobs hold shared and garbage collection exclusively.
pub(crate) const CONTENT_LOCK: &str = "content";
/// After this many attempts a job that keeps failing is marked Failed.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// Jobs that read or write disk content: slow, bounded by the disks and the network.
const CONTENT_JOBS: &[&str] = &["build_version", "build_disk", "finish_upload", "build_managed_image", "build_vm"];
/// Jobs that only change metadata: quick, and never wait behind content work.
const CONTROL_JOBS: &[&str] = &["provision", "delete", "delete_group", "retention", "deliver"];
/// Deployments: they wait on the other classes' jobs, so they have slots of their own.
const DEPLOY_JOBS: &[&str] = &["deploy"];
/// Operator maintenance: one at a time.
const MAINTENANCE_JOBS: &[&str] = &["gc", "scrub", "retention_sweep", "verify_version"];
/// How many deployments run at once in one process.
const DEPLOY_SLOTS: usize = 4;
/// How many jobs of each class run at once in one process. A stalled import holds one content
/// slot (until its fetch times out); galleries, definitions and deletes keep moving.
const CONTENT_SLOTS: usize = 4;
const CONTROL_SLOTS: usize = 8;

/// A resource write that was accepted and the operation that finishes it.
#[derive(Debug, Clone)]
pub struct Accepted<T> {
    /// The resource as written (provisioning state Creating or Updating).
    pub resource: T,
    /// True for a create (ARM answers 201), false for an update (200).
    pub created: bool,
    /// The operation to poll.
    pub operation: OperationInfo,
}

/// What a job does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub(crate) enum Job {
    /// Mark a created or updated gallery or definition Succeeded.
    Provision { kind: String },
    /// Build a version's content and copy it to its target regions.
    BuildVersion,
    /// Give a new disk or snapshot its content.
    BuildDisk { kind: String },
    /// Turn an upload's staged bytes into the disk's content.
    FinishUpload { kind: String },
    /// Record the content of a managed image's disks.
    BuildManagedImage,
    /// Make or attach a new VM's disks.
    BuildVm,
    /// Remove a resource once it has no children.
    Delete { kind: String, children: Option<String> },
    /// Remove a resource group and everything in it.
    DeleteGroup,
    /// Run a template deployment's steps.
    Deploy,
    /// Collect garbage, sparing chunks younger than this.
    Gc { grace_seconds: u64 },
    /// Scrub a region's stores.
    Scrub { region: String },
    /// Apply a definition's retention policy.
    Retention { definition: crate::retention::DefinitionName },
    /// Apply every retention policy (queued with the periodic collection).
    RetentionSweep,
    /// Deliver an event subscription's outbox (its id).
    Deliver { subscription: String },
    /// Check a version's signed provenance and re-hash every replica.
    VerifyVersion { definition: crate::retention::DefinitionName, version: String },
}

impl Job {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Provision { .. } => "provision",
            Self::BuildVersion => "build_version",
            Self::Delete { .. } => "delete",
            Self::DeleteGroup => "delete_group",
            Self::Deploy => "deploy",
            Self::Gc { .. } => "gc",
            Self::Scrub { .. } => "scrub",
            Self::Retention { .. } => "retention",
            Self::RetentionSweep => "retention_sweep",
            Self::VerifyVersion { .. } => "verify_version",
            Self::Deliver { .. } => "deliver",
            Self::BuildDisk { .. } => "build_disk",
            Self::FinishUpload { .. } => "finish_upload",
            Self::BuildManagedImage => "build_managed_image",
            Self::BuildVm => "build_vm",
        }
    }
}

/// What a [`Core::run_pending_jobs`] call did.
#[derive(Debug, Default)]
pub struct JobsRun {
    /// Jobs run (a retried job counts each time).
    pub ran: usize,
    /// Operations that failed: id, code, message.
    pub failed: Vec<(String, String, String)>,
}

/// Why a job did not finish.
pub(crate) enum JobError {
    /// A fault that may pass: try again after a backoff (the reason is logged, and becomes the
    /// operation's error if the attempts run out).
    Retry(String),
    /// Give up: the operation fails with this code and message.
    Fail(String, String),
    /// Waiting on other work (a deployment's step): come back in a moment; not a failure.
    Later,
    /// Another worker holds the operation now: stop without writing anything more.
    LeaseLost,
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LeaseLost { .. } => Self::LeaseLost,
            e => Self::Retry(e.to_string()),
        }
    }
}

/// How long a job waits before its next attempt: 1, 2, 4, 8… seconds, at most the lease.
fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.saturating_sub(1).min(5)).min(LEASE)
}

fn kind(name: &str) -> Result<Kind, JobError> {
    Kind::parse(name).ok_or_else(|| JobError::Fail("InternalError".into(), format!("unknown resource kind '{name}'")))
}

pub(crate) fn finished(mut op: Operation, error: Option<(String, String)>) -> Operation {
    op.status = if error.is_some() { OpStatus::Failed } else { OpStatus::Succeeded };
    op.error = error;
    op.end_time = Some(now());
    op
}

impl Core {
    pub(crate) fn new_operation(&self, subscription: &str, location: &str, key: &str, job: &Job) -> Operation {
        Operation {
            id: uuid::Uuid::new_v4().to_string(),
            subscription: subscription.to_string(),
            location: location.to_string(),
            job: job.name().to_string(),
            resource_key: key.to_string(),
            status: OpStatus::InProgress,
            error: None,
            start_time: now(),
            end_time: None,
            attempts: 0,
            payload: serde_json::to_value(job).expect("jobs always encode"),
            result: None,
            lease: None,
        }
    }

    /// An operation that succeeded as it was recorded (a change made in one write, answered
    /// with the LRO headers clients expect).
    pub(crate) fn finished_operation(&self, subscription: &str, location: &str, key: &str, kind: Kind) -> Operation {
        let job = Job::Provision { kind: kind.as_str().into() };
        let mut op = self.new_operation(subscription, location, key, &job);
        op.status = OpStatus::Succeeded;
        op.end_time = Some(now());
        op
    }

    /// The operation `id` of `subscription`.
    pub async fn get_operation(&self, subscription: &str, id: &str) -> CoreResult<OperationInfo> {
        match self.store().get_operation(id).await? {
            Some(op) if op.subscription.eq_ignore_ascii_case(subscription) => Ok(op.into()),
            _ => Err(CoreError::OperationNotFound(id.to_string())),
        }
    }

    /// The start-up check: a resource in a transitional state (Creating, Updating, Deleting) must
    /// have a live operation behind it; one that has none (left by a crash or an older bug) is
    /// marked Failed, so it can be written or deleted again instead of answering 409 forever.
    /// Returns the keys it repaired.
    pub async fn repair_orphans(&self) -> CoreResult<Vec<String>> {
        let mut repaired = Vec::new();
        // The kinds whose documents carry a provisioning state.
        let kinds =
            [Kind::Gallery, Kind::Image, Kind::Version, Kind::Disk, Kind::Snapshot, Kind::ManagedImage, Kind::Vm];
        for kind in kinds {
            let mut after: Option<String> = None;
            loop {
                let docs = self.store().list(kind, "/", after.as_deref(), 500).await?;
                let full = docs.len() == 500;
                after = docs.last().map(|d| d.key.clone());
                // Read after the page: an operation written with a resource on the page is seen
                // (they commit together), and one that ended since has changed its resource's rev.
                let live: std::collections::HashSet<String> =
                    self.store().keys_in_progress().await?.into_iter().collect();
                for doc in docs {
                    let state = serde_json::from_value::<ProvisioningState>(doc.body["provisioning_state"].clone());
                    let Ok(state) = state else { continue };
                    if !state.is_transitional() || live.contains(&doc.key) {
                        continue;
                    }
                    let state = state.as_str();
                    let mut fixed = Arc::unwrap_or_clone(doc);
                    tracing::warn!(key = %fixed.key, %state, "no operation behind a transitional state: marked Failed");
                    fixed.body["provisioning_state"] = Value::from(ProvisioningState::Failed.as_str());
                    let (key, rev) = (fixed.key.clone(), fixed.rev);
                    match self.store().apply(Batch::new().put(fixed, Expect::Rev(rev))).await {
                        Ok(()) => repaired.push(key),
                        // Changed meanwhile: it has a writer again.
                        Err(StoreError::Conflict { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                if !full {
                    break;
                }
            }
        }
        Ok(repaired)
    }

    /// The metadata store's connection pool, when it has one.
    pub fn database_pool(&self) -> Option<galleon_store::PoolStatus> {
        self.store().pool_status()
    }

    /// How many operations are still in progress (waiting for or held by a worker).
    pub async fn operations_in_progress(&self) -> CoreResult<usize> {
        Ok(self.store().operations_in_progress().await?)
    }

    /// Runs every job that is due, until none is left; returns how many ran and which failed.
    /// Tests call this to make background work deterministic.
    pub async fn run_pending_jobs(&self) -> CoreResult<JobsRun> {
        let mut run = JobsRun::default();
        loop {
            let before = run.ran;
            self.run_due_jobs(&mut run).await?;
            if run.ran == before {
                return Ok(run);
            }
        }
    }

    /// Claims and runs, one after the other, every job due now (tests and `run_pending_jobs`).
    async fn run_due_jobs(&self, run: &mut JobsRun) -> CoreResult<()> {
        let ops = self.store().claim_operations(&self.config.node_id, LEASE, 16, &[]).await?;
        for op in ops {
            run.ran += 1;
            let id = op.id.clone();
            let outcome = self.run_job(op.clone()).await;
            if let Some((code, message)) = self.finish_job(op, outcome).await? {
                run.failed.push((id, code, message));
            }
        }
        Ok(())
    }

    /// Frees the leases this node holds (on a clean shutdown, and at start after a crash), so
    /// its jobs resume at once on whichever node claims them.
    pub async fn release_own_leases(&self) -> CoreResult<usize> {
        Ok(self.store().release_leases(&self.config.node_id).await?)
    }

    /// Records what a job's run came to: nothing (it wrote its own result), a retry later, or
    /// a failure, which it returns (code, message). A job whose lease was lost stops here: the
    /// worker that holds the operation now decides its end.
    async fn finish_job(&self, op: Operation, outcome: Result<(), JobError>) -> CoreResult<Option<(String, String)>> {
        let lease = op.lease.clone().expect("claimed operations carry their lease");
        let kind = serde_json::from_value::<Job>(op.payload.clone()).map_or("unknown", |j| j.name());
        let outcome_label = match &outcome {
            Ok(()) => "succeeded",
            Err(JobError::LeaseLost) => "lease_lost",
            Err(JobError::Retry(_)) if op.attempts < MAX_ATTEMPTS => "retried",
            Err(JobError::Later) => "later",
            Err(_) => "failed",
        };
        metrics::counter!("galleon_jobs_total", "kind" => kind, "outcome" => outcome_label).increment(1);
        let (code, message) = match outcome {
            Ok(()) => return Ok(None),
            Err(JobError::LeaseLost) => {
                tracing::warn!(operation = %op.id, "lease lost: another worker holds the job now");
                return Ok(None);
            }
            Err(JobError::Retry(e)) if op.attempts < MAX_ATTEMPTS => {
                let wait = backoff(op.attempts);
                tracing::warn!(operation = %op.id, error = %e, attempt = op.attempts, wait = wait.as_secs(), "job will be retried");
                // The lease now ends when the next attempt is due, so any worker may take it then.
                self.store().renew_lease(&op.id, &lease, wait).await?;
                return Ok(None);
            }
            Err(JobError::Later) => {
                self.store().renew_lease(&op.id, &lease, Duration::from_secs(1)).await?;
                return Ok(None);
            }
            Err(JobError::Retry(e)) => ("InternalError".to_string(), e),
            Err(JobError::Fail(code, message)) => (code, message),
        };
        match self.fail_job(op, code.clone(), message.clone()).await {
            Err(CoreError::Store(StoreError::LeaseLost { id })) => {
                tracing::warn!(operation = %id, "lease lost before the failure was recorded");
                Ok(None)
            }
            Err(e) => Err(e),
            Ok(()) => Ok(Some((code, message))),
        }
    }

    /// Runs one claimed job while keeping its lease alive, so no other worker takes over a job
    /// that is merely long (a 100 GiB import). When a renewal finds the lease gone (this node
    /// was paused or cut off past it, and another claimed the job), the job is dropped at once:
    /// its next write would be fenced anyway.
    async fn run_leased(&self, op: Operation) -> CoreResult<()> {
        let id = op.id.clone();
        let lease = op.lease.clone().expect("claimed operations carry their lease");
        let renew = async {
            loop {
                tokio::time::sleep(LEASE / 3).await;
                match self.store().renew_lease(&id, &lease, LEASE).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(operation = %id, error = %e, "lease renewal failed"),
                }
            }
        };
        let kind = serde_json::from_value::<Job>(op.payload.clone()).map_or("unknown", |j| j.name());
        let started = std::time::Instant::now();
        let running = metrics::gauge!("galleon_jobs_running", "kind" => kind);
        running.increment(1.0);
        let outcome = tokio::select! {
            outcome = self.run_job(op.clone()) => outcome,
            () = renew => Err(JobError::LeaseLost),
        };
        running.decrement(1.0);
        metrics::histogram!("galleon_job_duration_seconds", "kind" => kind).record(started.elapsed().as_secs_f64());
        self.finish_job(op, outcome).await.map(drop)
    }

    /// Marks the operation Failed and its resource Failed (if it still exists).
    async fn fail_job(&self, op: Operation, code: String, message: String) -> CoreResult<()> {
        tracing::warn!(operation = %op.id, %code, %message, "operation failed");
        let mut batch = Batch::new();
        let kind = match serde_json::from_value::<Job>(op.payload.clone()) {
            Ok(
                Job::Provision { kind }
                | Job::Delete { kind, .. }
                | Job::BuildDisk { kind }
                | Job::FinishUpload { kind },
            ) => Kind::parse(&kind),
            Ok(Job::BuildVersion) => Some(Kind::Version),
            Ok(Job::BuildManagedImage) => Some(Kind::ManagedImage),
            Ok(Job::BuildVm) => Some(Kind::Vm),
            _ => None,
        };
        if let Some(kind) = kind
            && let Some(doc) = self.store().get(kind, &op.resource_key).await?
        {
            let mut doc = Arc::unwrap_or_clone(doc);
            doc.body["provisioning_state"] = Value::from("Failed");
            let rev = doc.rev;
            batch = batch.put(doc, Expect::Rev(rev));
        }
        self.store().apply(batch.operation(finished(op, Some((code, message))))).await?;
        Ok(())
    }

    /// Runs one job with its operation id on every log line it writes, and logs how it ended.
    async fn run_job(&self, op: Operation) -> Result<(), JobError> {
        use tracing::Instrument;
        let span = tracing::info_span!("job", operation_id = %op.id, job = %op.job, attempt = op.attempts);
        let started = std::time::Instant::now();
        let outcome = self.run_job_body(op).instrument(span.clone()).await;
        let seconds = started.elapsed().as_secs_f64();
        span.in_scope(|| match &outcome {
            Ok(()) => tracing::info!(seconds, "job finished"),
            Err(JobError::Retry(reason)) => tracing::info!(seconds, %reason, "job stopped: will retry"),
            Err(JobError::Fail(code, _)) => tracing::info!(seconds, %code, "job failed"),
            Err(JobError::Later) => tracing::debug!(seconds, "job waiting on other work"),
            Err(JobError::LeaseLost) => tracing::info!(seconds, "job stopped: lease lost"),
        });
        outcome
    }

    async fn run_job_body(&self, op: Operation) -> Result<(), JobError> {
        let job: Job = serde_json::from_value(op.payload.clone())
            .map_err(|e| JobError::Fail("InternalError".into(), format!("undecodable job: {e}")))?;
        // Jobs that write chunks and name them in manifests hold the content lock shared, so
        // garbage collection (which takes it exclusively) never deletes a chunk one of them found.
        let _shared = if CONTENT_JOBS.contains(&job.name()) {
            Some(self.cluster_lock(CONTENT_LOCK, LockMode::Shared).await?)
        } else {
            None
        };
        match job {
            Job::Gc { grace_seconds } => self.job_gc(op, grace_seconds).await,
            Job::Scrub { region } => self.job_scrub(op, &region).await,
            Job::Retention { definition } => self.job_retention(op, &definition).await,
            Job::RetentionSweep => self.job_retention_sweep(op).await,
            Job::VerifyVersion { definition, version } => self.job_verify_version(op, &definition, &version).await,
            Job::Deliver { subscription } => self.job_deliver(op, &subscription).await,
            Job::Provision { kind: k } => self.job_provision(op, kind(&k)?).await,
            Job::BuildVersion => self.job_build_version(op).await,
            Job::Delete { kind: k, children } => {
                let children = children.as_deref().map(kind).transpose()?;
                self.job_delete(op, kind(&k)?, children).await
            }
            Job::DeleteGroup => self.job_delete_group(op).await,
            Job::Deploy => self.job_deploy(op).await,
            Job::BuildDisk { kind: k } => self.job_build_disk(op, kind(&k)?).await,
            Job::FinishUpload { kind: k } => self.job_finish_upload(op, kind(&k)?).await,
            Job::BuildManagedImage => self.job_build_managed_image(op).await,
            Job::BuildVm => self.job_build_vm(op).await,
        }
    }

    async fn job_provision(&self, op: Operation, kind: Kind) -> Result<(), JobError> {
        let Some(doc) = self.store().get(kind, &op.resource_key).await? else {
            return Err(JobError::Fail(
                "ResourceNotFound".into(),
                "The resource was deleted before it was provisioned.".into(),
            ));
        };
        let mut doc = Arc::unwrap_or_clone(doc);
        doc.body["provisioning_state"] = Value::from(ProvisioningState::Succeeded.as_str());
        let rev = doc.rev;
        self.store().apply(Batch::new().put(doc, Expect::Rev(rev)).operation(finished(op, None))).await?;
        Ok(())
    }

    async fn job_delete(&self, op: Operation, kind: Kind, children: Option<Kind>) -> Result<(), JobError> {
        let key = op.resource_key.clone();
        let mut batch = Batch::new();
        if let Some(child) = children {
            batch = batch.check_empty(child, format!("{key}/"));
        }
        batch = batch.delete(kind, key.clone(), Expect::Any).operation(finished(op.clone(), None));
        match self.store().apply(batch).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict { key: child }) => {
                // A child appeared after the delete was accepted: give the resource back.
                if let Some(doc) = self.store().get(kind, &key).await? {
                    let mut doc = Arc::unwrap_or_clone(doc);
                    doc.body["provisioning_state"] = Value::from("Succeeded");
                    let rev = doc.rev;
                    let failed = finished(
                        op,
                        Some((
                            "CannotDeleteResource".into(),
                            format!("Cannot delete resource while nested resources exist: '{child}'."),
                        )),
                    );
                    self.store().apply(Batch::new().put(doc, Expect::Rev(rev)).operation(failed)).await?;
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn job_delete_group(&self, op: Operation) -> Result<(), JobError> {
        let prefix = format!("{}/", op.resource_key);
        if let Some((disk, vm)) = self.disk_attached_elsewhere(&op.resource_key).await? {
            return Err(JobError::Fail(
                "ResourceGroupDeletionBlocked".into(),
                format!(
                    "Deletion of resource group is blocked: disk '{disk}' is attached to virtual machine '{vm}' in another resource group. Detach it or delete that VM first."
                ),
            ));
        }
        self.release_disks_elsewhere(&prefix).await?;
        // Everything in the group, children before parents.
        let kinds = [
            Kind::Vm,
            Kind::Version,
            Kind::Image,
            Kind::Gallery,
            Kind::ManagedImage,
            Kind::Snapshot,
            Kind::Disk,
            Kind::Network,
            Kind::Deployment,
        ];
        for kind in kinds {
            loop {
                let docs = self.store().list(kind, &prefix, None, 500).await?;
                if docs.is_empty() {
                    break;
                }
                let batch = docs.into_iter().fold(Batch::new(), |b, d| b.delete(kind, d.key.clone(), Expect::Any));
                self.store().apply(batch).await?;
            }
        }
        let batch =
            Batch::new().delete(Kind::Group, op.resource_key.clone(), Expect::Any).operation(finished(op, None));
        self.store().apply(batch).await?;
        Ok(())
    }

    /// The disks of VMs in `group` (lowercase id) and those VMs themselves: (disk id, VM id).
    async fn vm_disks(&self, prefix: &str) -> Result<Vec<(String, String)>, JobError> {
        let mut out = vec![];
        let mut after: Option<String> = None;
        loop {
            let rows =
                galleon_store::typed::list::<galleon_model::resource::Tracked<galleon_model::vm::VirtualMachine>>(
                    self.store(),
                    Kind::Vm,
                    prefix,
                    after.as_deref(),
                    500,
                )
                .await?;
            let full = rows.len() == 500;
            after = rows.last().map(|(k, _)| k.clone());
            for (_, r) in rows {
                let vm = &r.value.properties;
                for disk in vm.os_disk_id.iter().chain(vm.data_disks.iter().filter_map(|(_, _, id)| id.as_ref())) {
                    out.push((disk.to_ascii_lowercase(), r.value.id.clone()));
                }
            }
            if !full {
                return Ok(out);
            }
        }
    }

    /// A disk of this group attached to a VM of another group of the subscription.
    async fn disk_attached_elsewhere(&self, group_key: &str) -> Result<Option<(String, String)>, JobError> {
        let sub = group_key.split("/resourcegroups/").next().unwrap_or_default();
        let inside = format!("{group_key}/");
        Ok(self
            .vm_disks(&format!("{sub}/"))
            .await?
            .into_iter()
            .find(|(disk, vm)| disk.starts_with(&inside) && !vm.to_ascii_lowercase().starts_with(&inside)))
    }

    /// Disks in other groups attached to this group's VMs become Unattached (as a VM delete does).
    async fn release_disks_elsewhere(&self, prefix: &str) -> Result<(), JobError> {
        for (disk, _) in self.vm_disks(prefix).await? {
            if disk.starts_with(prefix) {
                continue;
            }
            if let Some(mut d) =
                galleon_store::typed::get::<galleon_model::resource::Tracked<galleon_model::disk::Disk>>(
                    self.store(),
                    Kind::Disk,
                    &disk,
                )
                .await?
            {
                d.value.properties.state = galleon_model::disk::DiskState::Unattached;
                let doc = galleon_store::typed::doc(Kind::Disk, &disk, None, &d.value);
                self.store().apply(Batch::new().put(doc, Expect::Rev(d.rev))).await?;
            }
        }
        Ok(())
    }
}

/// Runs jobs in the background until the process ends: woken at once when work is queued or a
/// slot frees, and every second to pick up expired leases. Jobs run concurrently, at most
/// `CONTENT_SLOTS` content jobs and `CONTROL_SLOTS` metadata jobs at a time; a job is claimed
/// only when a slot of its class is free, so a claimed job never waits.
pub fn spawn_worker(core: Arc<Core>) -> tokio::task::JoinHandle<()> {
    use tokio::sync::Semaphore;
    // Work queued by other nodes (PostgreSQL NOTIFY) wakes this one at once.
    if let Some(signal) = core.store().job_signal() {
        let core = core.clone();
        tokio::spawn(async move {
            loop {
                signal.notified().await;
                core.wake.notify_one();
            }
        });
    }
    tokio::spawn(async move {
        let classes = [
            (CONTENT_JOBS, Arc::new(Semaphore::new(CONTENT_SLOTS))),
            (CONTROL_JOBS, Arc::new(Semaphore::new(CONTROL_SLOTS))),
            (DEPLOY_JOBS, Arc::new(Semaphore::new(DEPLOY_SLOTS))),
            (MAINTENANCE_JOBS, Arc::new(Semaphore::new(1))),
        ];
        loop {
            let mut started = 0;
            for (jobs, slots) in &classes {
                let free = slots.available_permits();
                if free == 0 {
                    continue;
                }
                let ops = match core.store().claim_operations(&core.config.node_id, LEASE, free, jobs).await {
                    Ok(ops) => ops,
                    Err(e) => {
                        tracing::error!(error = %e, "job worker");
                        continue;
                    }
                };
                for op in ops {
                    let permit = slots.clone().try_acquire_owned().expect("claimed no more than the free slots");
                    let core = core.clone();
                    started += 1;
                    tokio::spawn(async move {
                        if let Err(e) = core.run_leased(op).await {
                            tracing::error!(error = %e, "job worker");
                        }
                        drop(permit);
                        core.wake.notify_one();
                    });
                }
            }
            if started == 0 {
                let _ = tokio::time::timeout(Duration::from_secs(1), core.wake.notified()).await;
            }
        }
    })
}

/// Collects garbage every `every`, sparing chunks younger than `grace`.
pub fn spawn_gc(core: Arc<Core>, every: Duration, grace: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            // Queued as a durable operation, run by a worker like an operator's `gc run`; with
            // several nodes, by whichever's timer fires first in the interval.
            if let Err(e) = core.start_scheduled_gc(every, grace.as_secs()).await {
                tracing::error!(error = %e, "queueing garbage collection");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_has_exactly_one_class() {
        let kind = || "disks".to_string();
        let all = [
            Job::Provision { kind: kind() },
            Job::BuildVersion,
            Job::BuildDisk { kind: kind() },
            Job::FinishUpload { kind: kind() },
            Job::BuildManagedImage,
            Job::BuildVm,
            Job::Delete { kind: kind(), children: None },
            Job::DeleteGroup,
            Job::Deploy,
            Job::Gc { grace_seconds: 0 },
            Job::Scrub { region: "eastus".into() },
            Job::RetentionSweep,
        ];
        for job in all {
            let n = [CONTENT_JOBS, CONTROL_JOBS, DEPLOY_JOBS, MAINTENANCE_JOBS]
                .iter()
                .filter(|c| c.contains(&job.name()))
                .count();
            assert_eq!(n, 1, "{} is in {n} classes", job.name());
        }
    }
}
