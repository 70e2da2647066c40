//! Template deployment records (`Microsoft.Resources/deployments`): what was asked, where it
//! stands, what it made. The deployment itself runs in the API layer, which sends each of the
//! template's resources through the ARM router; this keeps its record. Parameters and
//! templates are not kept (they may hold secrets).

use galleon_model::GroupRef;
use galleon_store::{Batch, Expect, Kind, typed};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Core, CoreError, CoreResult};

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
