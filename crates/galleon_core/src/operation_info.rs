//! A long-running operation as callers see it: what the API puts in status answers and LRO
//! headers. The store's row (lease, attempts, job payload) stays inside the core.

use time::OffsetDateTime;

/// Where an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationState {
    /// Running, or waiting for a worker.
    InProgress,
    /// Finished.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped before finishing.
    Canceled,
}

impl OperationState {
    /// The ARM string (the store's, which records it).
    pub fn as_str(self) -> &'static str {
        use galleon_store::OpStatus;
        match self {
            Self::InProgress => OpStatus::InProgress,
            Self::Succeeded => OpStatus::Succeeded,
            Self::Failed => OpStatus::Failed,
            Self::Canceled => OpStatus::Canceled,
        }
        .as_str()
    }
}

/// An operation, for its status URL and answer.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationInfo {
    /// Its id (the last segment of its status URL).
    pub id: String,
    /// The subscription it belongs to.
    pub subscription: String,
    /// The region in its status URL.
    pub location: String,
    /// Where it stands.
    pub state: OperationState,
    /// ARM code and message when it failed.
    pub error: Option<(String, String)>,
    /// When it started.
    pub start_time: OffsetDateTime,
    /// When it ended.
    pub end_time: Option<OffsetDateTime>,
    /// What a finished operation returns (e.g. `{"accessSAS": …}`).
    pub result: Option<serde_json::Value>,
}

impl From<&galleon_store::Operation> for OperationInfo {
    fn from(op: &galleon_store::Operation) -> Self {
        use galleon_store::OpStatus;
        Self {
            id: op.id.clone(),
            subscription: op.subscription.clone(),
            location: op.location.clone(),
            state: match op.status {
                OpStatus::InProgress => OperationState::InProgress,
                OpStatus::Succeeded => OperationState::Succeeded,
                OpStatus::Failed => OperationState::Failed,
                OpStatus::Canceled => OperationState::Canceled,
            },
            error: op.error.clone(),
            start_time: op.start_time,
            end_time: op.end_time,
            result: op.result.clone(),
        }
    }
}

impl From<galleon_store::Operation> for OperationInfo {
    fn from(op: galleon_store::Operation) -> Self {
        Self::from(&op)
    }
}
