//! Operator maintenance as durable operations: garbage collection and scrub. An operator's
//! request queues one and answers at once; a worker runs it (and a restarted server resumes it);
//! the reports are the operation's result. Their status is at `/galleon/operations/{id}`, open
//! to tenant administrators only.

use serde_json::json;

use galleon_store::{Batch, Expect, Kind, StoreError};

use crate::jobs::{Job, JobError, finished};
use crate::{Core, CoreError, CoreResult, Operation, OperationInfo};

/// Where maintenance operations are filed (they belong to no subscription).
const TENANT: &str = "";

impl Core {
    /// Queues a garbage collection sparing chunks younger than `grace_seconds`.
    pub async fn start_gc(&self, grace_seconds: u64) -> CoreResult<OperationInfo> {
        self.start_maintenance("/galleon/gc", &Job::Gc { grace_seconds }).await
    }

    /// Queues the periodic collection unless one was queued less than `every` ago, by this node or
    /// any other: the schedule is one shared record written in the same batch as the operation,
    /// under a revision check, so several nodes collect once per interval, not once each.
    pub async fn start_scheduled_gc(
        &self,
        every: std::time::Duration,
        grace_seconds: u64,
    ) -> CoreResult<Option<OperationInfo>> {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Schedule {
            last: i64,
        }
        const KEY: &str = "gc-schedule";
        let t = crate::now().unix_timestamp();
        let found = galleon_store::typed::get::<Schedule>(self.store(), Kind::Setting, KEY).await?;
        let expect = match &found {
            // A second of slack: timers on different nodes drift.
            Some(r) if t - r.value.last < (every.as_secs() as i64).saturating_sub(1) => return Ok(None),
            Some(r) => Expect::Rev(r.rev),
            None => Expect::Absent,
        };
        let op = self.new_operation(TENANT, "global", "/galleon/gc", &Job::Gc { grace_seconds });
        let schedule = galleon_store::typed::doc(Kind::Setting, KEY, None, &Schedule { last: t });
        match self.store().apply(Batch::new().put(schedule, expect).operation(op.clone())).await {
            Ok(()) => {
                self.wake.notify_one();
                Ok(Some(op.into()))
            }
            // Another node queued it first.
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Queues a scrub of a region's stores.
    pub async fn start_scrub(&self, region: &str) -> CoreResult<OperationInfo> {
        self.region_stores(region)?;
        self.start_maintenance(&format!("/galleon/regions/{region}/scrub"), &Job::Scrub { region: region.into() }).await
    }

    async fn start_maintenance(&self, key: &str, job: &Job) -> CoreResult<OperationInfo> {
        let op = self.new_operation(TENANT, "global", key, job);
        self.store().apply(Batch::new().operation(op.clone())).await?;
        self.wake.notify_one();
        Ok(op.into())
    }

    /// A maintenance operation by id.
    pub async fn get_maintenance_operation(&self, id: &str) -> CoreResult<OperationInfo> {
        match self.store().get_operation(id).await? {
            Some(op) if op.subscription == TENANT => Ok(op.into()),
            _ => Err(CoreError::OperationNotFound(id.to_string())),
        }
    }

    /// Runs a garbage collection (outside the jobs' shared lock: it takes it exclusively).
    pub(crate) async fn job_gc(&self, op: Operation, grace_seconds: u64) -> Result<(), JobError> {
        // Soft-deleted versions past their hard deletion time go first, so their chunks do too.
        let purged = self.purge_soft_deleted().await?;
        if purged > 0 {
            tracing::info!(purged, "soft-deleted versions past their hard deletion time removed");
        }
        let reports = self.collect_garbage(std::time::Duration::from_secs(grace_seconds)).await?;
        // Failure counts of the token endpoint's past windows go with the rest of the garbage.
        self.sweep_token_failures(crate::now().unix_timestamp()).await?;
        metrics::counter!("galleon_gc_runs_total").increment(1);
        for r in &reports {
            metrics::counter!("galleon_gc_chunks_deleted_total", "store" => r.store.clone())
                .increment(r.deleted as u64);
            metrics::counter!("galleon_gc_bytes_reclaimed_total", "store" => r.store.clone())
                .increment(r.bytes_deleted);
        }
        for r in reports.iter().filter(|r| r.deleted > 0) {
            tracing::info!(store = %r.store, deleted = r.deleted, referenced = r.referenced, "garbage collected");
        }
        self.finish_with_result(op, json!({ "value": reports })).await
    }

    /// Runs a scrub.
    pub(crate) async fn job_scrub(&self, op: Operation, region: &str) -> Result<(), JobError> {
        let reports = self.scrub_region(region).await?;
        self.finish_with_result(op, json!({ "value": reports })).await
    }

    async fn finish_with_result(&self, mut op: Operation, result: serde_json::Value) -> Result<(), JobError> {
        op.result = Some(result);
        self.store().apply(Batch::new().operation(finished(op, None))).await?;
        Ok(())
    }
}
