//! The ARM surface deployments send their resources through: the router itself, in process,
//! with a token minted for the principal who deployed (so each resource gets the validation and
//! authorization it would get if sent alone, even when a restarted server resumes the run).

use std::sync::Weak;
use std::time::Duration;

use axum::http::Method;
use galleon_core::auth::Claims;
use galleon_core::{Core, PlannedStep, ResourceWriter, StepOutcome};

use galleon_client::{Client, ClientError, Reply};

use crate::AppState;
use crate::inproc::InProcess;

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
    /// ARM as the principal who deployed (`None` once the server is stopping).
    fn client(&self, claims: &Claims) -> Option<Client<InProcess>> {
        let core = self.core.upgrade()?;
        let token = core.tokens().sign(claims);
        let host = self
            .public_url
            .as_deref()
            .and_then(|u| u.split_once("://").map(|(_, rest)| rest.trim_end_matches('/').to_string()))
            .unwrap_or_else(|| "localhost".into());
        let router = crate::router(AppState::new(core, self.public_url.clone(), self.scheme));
        Some(crate::inproc::client(router, &token, &host))
    }

    /// Waits a little for what `reply` started: done, failed, or still running at its URL.
    async fn settle(arm: &Client<InProcess>, reply: &Reply) -> StepOutcome {
        match arm.wait_at_most(reply, INLINE_WAIT).await {
            Ok(Some(_)) => StepOutcome::Done,
            Ok(None) => StepOutcome::Running(reply.async_operation.clone().unwrap_or_default()),
            Err(e) => failed(e),
        }
    }
}

fn failed(e: ClientError) -> StepOutcome {
    let (_, code, message, _) = e.into_arm();
    StepOutcome::Failed(code, message)
}

fn stopping() -> StepOutcome {
    StepOutcome::Failed("InternalError".into(), "The server is stopping.".into())
}

#[async_trait::async_trait]
impl ResourceWriter for RouterWriter {
    async fn put(&self, claims: &Claims, step: &PlannedStep) -> StepOutcome {
        let Some(arm) = self.client(claims) else { return stopping() };
        let path = format!("{}?api-version={}", step.id, step.api_version);
        match arm.call(Method::PUT, &path, Some(&step.body)).await {
            Ok(reply) => Self::settle(&arm, &reply).await,
            Err(e) => failed(e),
        }
    }

    async fn check(&self, claims: &Claims, operation_url: &str) -> StepOutcome {
        let Some(arm) = self.client(claims) else { return stopping() };
        Self::settle(&arm, &Reply::operation(operation_url.to_string())).await
    }
}
