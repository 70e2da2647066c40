//! Readiness for load balancers and orchestrators (`/readyz`): the metadata store answers and
//! every region store can be reached. Checked at most every two seconds, whatever the number of
//! probes, each check bounded by a timeout.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Core;

/// How long a readiness answer is reused.
const FRESH_FOR: Duration = Duration::from_secs(2);
/// How long one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// Everything answered.
    pub ready: bool,
    /// `ok`, or why the metadata store is not usable.
    pub database: String,
    /// The stores that cannot be used now, as `region/store` (details are in the log and in
    /// `galleon region show`, which need a token).
    pub unreachable_stores: Vec<String>,
}

/// The last answer, shared by concurrent probes.
#[derive(Default)]
pub(crate) struct ReadinessCache(tokio::sync::Mutex<Option<(Instant, Readiness)>>);

impl Core {
    /// Whether this node can serve: see the module's doc.
    pub async fn readiness(&self) -> Readiness {
        let mut cached = self.readiness.0.lock().await;
        if let Some((at, answer)) = cached.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return answer.clone();
        }
        let answer = self.check_readiness().await;
        *cached = Some((Instant::now(), answer.clone()));
        answer
    }

    async fn check_readiness(&self) -> Readiness {
        let database = match tokio::time::timeout(
            CHECK_TIMEOUT,
            self.store().get(galleon_store::Kind::Setting, "readiness"),
        )
        .await
        {
            Ok(Ok(_)) => "ok".to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer in {} s", CHECK_TIMEOUT.as_secs()),
        };
        let stores = self.config().chunk_stores.iter().flat_map(|(region, list)| list.iter().map(move |s| (region, s)));
        let checks = stores.map(|(region, s)| async move {
            let failed = match tokio::time::timeout(CHECK_TIMEOUT, s.store.check()).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!("no answer in {} s", CHECK_TIMEOUT.as_secs())),
            };
            failed.map(|why| {
                tracing::warn!(region = %region, store = %s.name, error = %why, "readiness: store unusable");
                format!("{region}/{}", s.name)
            })
        });
        let unreachable_stores: Vec<String> =
            futures_util::future::join_all(checks).await.into_iter().flatten().collect();
        Readiness { ready: database == "ok" && unreachable_stores.is_empty(), database, unreachable_stores }
    }
}
