//! The ARM surface deployments send their resources through: the router itself, in process,
//! with a token minted for the principal who deployed (so each resource gets the validation and
//! authorization it would get if sent alone, even when a restarted server resumes the run).

use std::sync::Weak;
use std::time::Duration;

use axum::http::Method;
use galleon_core::auth::Claims;
use galleon_core::{Core, PlannedStep, ResourceWriter, StepOutcome};

use crate::AppState;
use crate::inproc::{Arm, ArmFailure, Reply};

/// How long a step is waited for before the job comes back to it (in process a resource is
/// usually done in milliseconds; a long one frees the worker slot meanwhile).
const INLINE_WAIT: Duration = Duration::from_millis(300);

/// Deployments' way into the ARM router.
pub(crate) struct RouterWriter {
    /// The core (weak: the core holds this writer).
    pub core: Weak<Core>,
    /// What the server's own URLs are built from.
    pub public_url: Option<String>,
    pub scheme: &'static str,
}

impl RouterWriter {
    async fn with_arm<T>(&self, claims: &Claims, f: impl AsyncFnOnce(&Arm<'_>) -> T) -> Option<T> {
        let core = self.core.upgrade()?;
        let token = core.tokens().sign(claims);
        let host = self
            .public_url
            .as_deref()
            .and_then(|u| u.split_once("://").map(|(_, rest)| rest.trim_end_matches('/').to_string()))
            .unwrap_or_else(|| "localhost".into());
        let router = crate::router(AppState::new(core, self.public_url.clone(), self.scheme));
        let arm = Arm { router: &router, token: &token, host: &host };
        Some(f(&arm).await)
    }
}

fn outcome(reply: &Reply, waited: Result<serde_json::Value, ArmFailure>) -> StepOutcome {
    match waited {
        Ok(_) => StepOutcome::Done,
        Err(e) if e.code == "OperationPending" => {
            StepOutcome::Running(reply.async_operation.clone().unwrap_or_default())
        }
        Err(e) => StepOutcome::Failed(e.code, e.message),
    }
}

#[async_trait::async_trait]
impl ResourceWriter for RouterWriter {
    async fn put(&self, claims: &Claims, step: &PlannedStep) -> StepOutcome {
        let path = format!("{}?api-version={}", step.id, step.api_version);
        let done = self
            .with_arm(claims, async |arm| match arm.call(Method::PUT, &path, Some(&step.body)).await {
                Ok(reply) => {
                    let waited = arm.wait(&reply, INLINE_WAIT).await;
                    outcome(&reply, waited)
                }
                Err(e) => StepOutcome::Failed(e.code, e.message),
            })
            .await;
        done.unwrap_or_else(|| StepOutcome::Failed("InternalError".into(), "The server is stopping.".into()))
    }

    async fn check(&self, claims: &Claims, operation_url: &str) -> StepOutcome {
        let reply = Reply { async_operation: Some(operation_url.to_string()), body: serde_json::Value::Null };
        let done = self.with_arm(claims, async |arm| outcome(&reply, arm.wait(&reply, INLINE_WAIT).await)).await;
        done.unwrap_or_else(|| StepOutcome::Failed("InternalError".into(), "The server is stopping.".into()))
    }
}
