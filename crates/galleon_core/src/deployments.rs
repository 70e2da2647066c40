//! Template deployments (`Microsoft.Resources/deployments`): the record (what was asked, where it
//! stands, what it made) and the durable `deploy` job that PUTs the evaluated resources one after
//! another as the caller. The job resumes after a restart. Sending a resource goes through the
//! ARM router, which the API layer supplies as a [`ResourceWriter`]. Parameters and templates are
//! not kept. The evaluated bodies are kept only while the deployment runs, because they may hold
//! secrets.

use galleon_model::GroupRef;
use galleon_store::{Batch, Expect, Kind, typed};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::OperationInfo;
use crate::auth::Claims;
use crate::jobs::{Job, JobError, finished};
use crate::{Core, CoreError, CoreResult, Operation};

/// One resource of a deployment's plan: the PUT to send.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedStep {
    /// The resource's ARM id.
    pub id: String,
    /// The api-version to send it with.
    pub api_version: String,
    /// The evaluated body.
    pub body: serde_json::Value,
}

/// Who deployed: the claims a resumed run acts with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Caller {
    /// Application (client) id.
    pub appid: String,
    /// Object id.
    pub oid: String,
}

/// How one step of a deployment stands.
pub enum StepOutcome {
    /// The resource is in place.
    Done,
    /// Its operation still runs (its status URL).
    Running(String),
    /// It failed: ARM code and message.
    Failed(String, String),
}

/// Sends a deployment's resources through the ARM surface (the API layer implements it).
#[async_trait::async_trait]
pub trait ResourceWriter: Send + Sync {
    /// PUTs `step` as `claims` and waits briefly for it.
    async fn put(&self, claims: &Claims, step: &PlannedStep) -> StepOutcome;
    /// Looks at the operation a step started.
    async fn check(&self, claims: &Claims, operation_url: &str) -> StepOutcome;
}

/// One deployment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    /// ARM id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `Accepted`, `Running`, `Succeeded` or `Failed`.
    pub state: String,
    /// The run that owns it (a process-unique id): a `Running` deployment whose run is not
    /// this process's was cut short by a restart.
    pub run: String,
    /// `Incremental`.
    pub mode: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    /// When it ended.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended: Option<OffsetDateTime>,
    /// Ids of the resources it deployed so far.
    pub output_resources: Vec<String>,
    /// The resources it will deploy, in order.
    pub planned: Vec<String>,
    /// Why it failed: (code, message) of the resource that failed, and that resource's id.
    pub error: Option<(String, String, String)>,
    /// The client's correlation id.
    pub correlation_id: String,
    /// The steps still to send (kept only while it runs).
    #[serde(default)]
    pub plan: Vec<PlannedStep>,
    /// Who deployed.
    #[serde(default)]
    pub caller: Option<Caller>,
    /// The operation the current step is waiting on.
    #[serde(default)]
    pub waiting_on: Option<String>,
}

fn key(group: &GroupRef, name: &str) -> String {
    deployment_id(group, name).to_ascii_lowercase()
}

/// A deployment's id.
pub fn deployment_id(group: &GroupRef, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Resources/deployments/{name}",
        group.subscription, group.resource_group
    )
}

impl Core {
    /// Writes a deployment's record.
    pub async fn save_deployment(&self, group: &GroupRef, d: &Deployment) -> CoreResult<()> {
        self.get_group(group).await?;
        let k = key(group, &d.name);
        self.store().apply(Batch::new().put(typed::doc(Kind::Deployment, &k, None, d), Expect::Any)).await?;
        Ok(())
    }

    /// Records a deployment and queues the job that runs it, in one batch.
    pub async fn start_deployment(&self, group: &GroupRef, d: &Deployment) -> CoreResult<OperationInfo> {
        self.get_group(group).await?;
        let k = key(group, &d.name);
        let location = self.config().regions.first().cloned().unwrap_or_default();
        let op = self.new_operation(&group.subscription, &location, &k, &Job::Deploy);
        let batch = Batch::new().put(typed::doc(Kind::Deployment, &k, None, d), Expect::Any).operation(op.clone());
        self.store().apply(batch).await?;
        self.wake.notify_one();
        Ok(op.into())
    }

    /// Sets the ARM surface deployments are sent through (once, by the API layer).
    pub fn set_resource_writer(&self, writer: std::sync::Arc<dyn ResourceWriter>) {
        let _ = self.resource_writer.set(writer);
    }

    /// The `deploy` job: sends the next steps; a step still running makes the job come back.
    pub(crate) async fn job_deploy(&self, op: Operation) -> Result<(), JobError> {
        let Some(record) = typed::get::<Deployment>(self.store(), Kind::Deployment, &op.resource_key).await? else {
            return Err(JobError::Fail("DeploymentNotFound".into(), "The deployment was deleted.".into()));
        };
        let mut d = record.value;
        let Some(writer) = self.resource_writer.get().cloned() else {
            return Err(JobError::Retry("no ARM surface to deploy through yet".into()));
        };
        let caller = d.caller.clone().unwrap_or(Caller { appid: String::new(), oid: String::new() });
        let claims = self.claims_for(&caller.appid, &caller.oid);
        d.state = "Running".into();
        loop {
            let outcome = match (&d.waiting_on, d.plan.first()) {
                (_, None) => break,
                (Some(url), Some(_)) => writer.check(&claims, url).await,
                (None, Some(step)) => writer.put(&claims, step).await,
            };
            match outcome {
                StepOutcome::Done => {
                    let step = d.plan.remove(0);
                    d.output_resources.push(step.id);
                    d.waiting_on = None;
                }
                StepOutcome::Running(url) => {
                    d.waiting_on = Some(url);
                    self.save_step(&op.resource_key, &d).await?;
                    return Err(JobError::Later);
                }
                StepOutcome::Failed(code, message) => {
                    let id = d.plan.first().map(|s| s.id.clone()).unwrap_or_default();
                    d.state = "Failed".into();
                    d.error = Some((code, message, id));
                    return self.end_deployment(op, d).await;
                }
            }
            self.save_step(&op.resource_key, &d).await?;
        }
        d.state = "Succeeded".into();
        self.end_deployment(op, d).await
    }

    async fn save_step(&self, key: &str, d: &Deployment) -> Result<(), JobError> {
        self.store().apply(Batch::new().put(typed::doc(Kind::Deployment, key, None, d), Expect::Any)).await?;
        Ok(())
    }

    /// Records the end (the plan, which may hold secrets, is dropped) with the operation.
    async fn end_deployment(&self, op: Operation, mut d: Deployment) -> Result<(), JobError> {
        d.ended = Some(time::OffsetDateTime::now_utc());
        d.plan.clear();
        d.waiting_on = None;
        let key = op.resource_key.clone();
        let batch =
            Batch::new().put(typed::doc(Kind::Deployment, &key, None, &d), Expect::Any).operation(finished(op, None));
        self.store().apply(batch).await?;
        Ok(())
    }

    /// One deployment.
    pub async fn get_deployment(&self, group: &GroupRef, name: &str) -> CoreResult<Deployment> {
        self.get_group(group).await?;
        typed::get::<Deployment>(self.store(), Kind::Deployment, &key(group, name)).await?.map(|r| r.value).ok_or_else(
            || CoreError::NotFound {
                type_path: format!("Microsoft.Resources/deployments/{name}"),
                group: group.resource_group.clone(),
            },
        )
    }

    /// A group's deployments.
    pub async fn list_deployments(&self, group: &GroupRef) -> CoreResult<Vec<Deployment>> {
        self.get_group(group).await?;
        let prefix = format!("{}/", key(group, "").trim_end_matches('/'));
        let rows = typed::list::<Deployment>(self.store(), Kind::Deployment, &prefix, None, 1000).await?;
        Ok(rows.into_iter().map(|(_, r)| r.value).collect())
    }

    /// Deletes a deployment's record (not what it deployed, as in ARM); `false` when absent.
    pub async fn delete_deployment(&self, group: &GroupRef, name: &str) -> CoreResult<bool> {
        self.get_group(group).await?;
        let k = key(group, name);
        if typed::get::<Deployment>(self.store(), Kind::Deployment, &k).await?.is_none() {
            return Ok(false);
        }
        self.store().apply(Batch::new().delete(Kind::Deployment, k, Expect::Any)).await?;
        Ok(true)
    }
}
