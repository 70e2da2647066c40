//! Operator maintenance as durable operations: garbage collection and scrub. An operator's
//! request queues one and answers at once; a worker runs it (and a restarted server resumes it);
//! the reports are the operation's result. Their status is at `/galleon/operations/{id}`, open
//! to tenant administrators only.

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use galleon_store::{Batch, Expect, Kind, StoreError, typed};

use crate::gc::GcReport;
use crate::jobs::{Job, JobError, finished};
use crate::{Core, CoreError, CoreResult, Operation, OperationInfo};

/// Where maintenance operations are filed (they belong to no subscription).
const TENANT: &str = "";
/// The shared schedule of the periodic collection (one record for every node).
const SCHEDULE: &str = "gc-schedule";
/// The last collection that finished, for `gc status`.
const LAST_RUN: &str = "gc-last-run";

#[derive(Serialize, Deserialize)]
struct Schedule {
    /// When the last periodic collection was queued (Unix seconds).
    last: i64,
    /// The interval it was queued under (absent in records of older releases).
    #[serde(default)]
    every: Option<u64>,
}

/// What the last finished collection did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GcRun {
    pub operation_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub start_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_time: OffsetDateTime,
    /// Soft-deleted versions past their hard deletion time that it removed.
    pub soft_deleted_purged: usize,
    pub chunks_deleted: usize,
    pub bytes_reclaimed: u64,
    /// One report per region store.
    pub stores: Vec<GcReport>,
    /// Staged uploads no disk waited for any more, removed.
    #[serde(default)]
    pub uploads_removed: usize,
}

/// `galleon gc status`: whether a collection is running, when the periodic one was last queued
/// and is next due, and what the last one did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcStatus {
    pub running: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_scheduled: Option<OffsetDateTime>,
    pub interval_seconds: Option<u64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_due: Option<OffsetDateTime>,
    pub last_run: Option<GcRun>,
}

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
        let t = crate::now().unix_timestamp();
        let found = typed::get::<Schedule>(self.store(), Kind::Setting, SCHEDULE).await?;
        let expect = match &found {
            // A second of slack: timers on different nodes drift.
            Some(r) if t - r.value.last < (every.as_secs() as i64).saturating_sub(1) => return Ok(None),
            Some(r) => Expect::Rev(r.rev),
            None => Expect::Absent,
        };
        let op = self.new_operation(TENANT, "global", "/galleon/gc", &Job::Gc { grace_seconds });
        // Retention policies are applied on the same schedule (before the collection frees what
        // they delete, or at its next run).
        let sweep = self.new_operation(TENANT, "global", "/galleon/retention", &Job::RetentionSweep);
        let schedule = typed::doc(Kind::Setting, SCHEDULE, None, &Schedule { last: t, every: Some(every.as_secs()) });
        let batch = Batch::new().put(schedule, expect).operation(sweep).operation(op.clone());
        match self.store().apply(batch).await {
            Ok(()) => {
                self.wake.notify_one();
                Ok(Some(op.into()))
            }
            // Another node queued it first.
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a collection is running, the periodic schedule, and the last run's reports.
    pub async fn gc_status(&self) -> CoreResult<GcStatus> {
        let running = self.store().keys_in_progress().await?.iter().any(|k| k == "/galleon/gc");
        let schedule = typed::get::<Schedule>(self.store(), Kind::Setting, SCHEDULE).await?.map(|r| r.value);
        let at = |t: i64| OffsetDateTime::from_unix_timestamp(t).ok();
        let last_run = typed::get::<GcRun>(self.store(), Kind::Setting, LAST_RUN).await?.map(|r| r.value);
        Ok(GcStatus {
            running,
            last_scheduled: schedule.as_ref().and_then(|s| at(s.last)),
            interval_seconds: schedule.as_ref().and_then(|s| s.every),
            next_due: schedule.as_ref().and_then(|s| at(s.last + s.every? as i64)),
            last_run,
        })
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
        let uploads_removed = self.sweep_abandoned_uploads().await?;
        if uploads_removed > 0 {
            tracing::info!(uploads_removed, "staged uploads no disk waits for removed");
        }
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
        let mut op = op;
        op.result = Some(json!({ "value": reports }));
        let op = finished(op, None);
        let run = GcRun {
            operation_id: op.id.clone(),
            start_time: op.start_time,
            end_time: op.end_time.unwrap_or_else(crate::now),
            soft_deleted_purged: purged,
            chunks_deleted: reports.iter().map(|r| r.deleted).sum(),
            bytes_reclaimed: reports.iter().map(|r| r.bytes_deleted).sum(),
            stores: reports,
            uploads_removed,
        };
        let last = typed::doc(Kind::Setting, LAST_RUN, None, &run);
        self.store().apply(Batch::new().put(last, Expect::Any).operation(op)).await?;
        Ok(())
    }

    /// Runs a scrub.
    pub(crate) async fn job_scrub(&self, op: Operation, region: &str) -> Result<(), JobError> {
        let reports = self.scrub_region(region, &op.id).await?;
        self.finish_with_result(op, json!({ "value": reports })).await
    }

    async fn finish_with_result(&self, mut op: Operation, result: serde_json::Value) -> Result<(), JobError> {
        op.result = Some(result);
        self.store().apply(Batch::new().operation(finished(op, None))).await?;
        Ok(())
    }
}
