//! Node liveness: every serving node records itself in the metadata store every few seconds, so
//! operators see which nodes share the database and which have gone quiet (`GET /galleon/nodes`,
//! `galleon node list`). Job takeover does not depend on it (leases do that); it is the
//! operator's view.

use galleon_store::{Batch, Expect, Kind, typed};
use serde::{Deserialize, Serialize};

use crate::{Core, CoreResult, now};

/// How often a node records itself.
pub const HEARTBEAT_SECONDS: u64 = 10;
/// A node not heard from for this long is reported unreachable.
pub const SILENT_AFTER_SECONDS: i64 = 3 * HEARTBEAT_SECONDS as i64;

const PREFIX: &str = "/galleon/nodes/";

/// What a node says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    /// Its id (`--node-id`).
    pub node_id: String,
    /// Where it listens.
    pub endpoint: String,
    /// galleon's version on it.
    pub version: String,
    /// When it started (unix seconds).
    pub started_at: i64,
    /// When it last recorded itself (unix seconds).
    pub last_seen: i64,
}

/// A node as an operator sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// What it recorded.
    #[serde(flatten)]
    pub record: NodeRecord,
    /// `Running`, or `Unreachable` when it has been silent too long.
    pub state: &'static str,
}

impl Core {
    /// Records `record` as this node's latest word.
    pub async fn record_node(&self, record: &NodeRecord) -> CoreResult<()> {
        let doc = typed::doc(Kind::Setting, &format!("{PREFIX}{}", record.node_id), None, record);
        self.store().apply(Batch::new().put(doc, Expect::Any)).await?;
        Ok(())
    }

    /// Forgets this node (a clean shutdown).
    pub async fn forget_node(&self, node_id: &str) -> CoreResult<()> {
        self.store().apply(Batch::new().delete(Kind::Setting, format!("{PREFIX}{node_id}"), Expect::Any)).await?;
        Ok(())
    }

    /// Every node that has recorded itself and not shut down cleanly, by id.
    pub async fn list_nodes(&self) -> CoreResult<Vec<NodeStatus>> {
        let t = now().unix_timestamp();
        let rows = typed::list::<NodeRecord>(self.store(), Kind::Setting, PREFIX, None, 1000).await?;
        Ok(rows
            .into_iter()
            .map(|(_, r)| {
                let state = if t - r.value.last_seen > SILENT_AFTER_SECONDS { "Unreachable" } else { "Running" };
                NodeStatus { record: r.value, state }
            })
            .collect())
    }
}
