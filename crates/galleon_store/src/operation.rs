//! Durable operations: the rows behind ARM long-running operations, and the job queue.

use time::OffsetDateTime;

/// The status of an operation, as `Azure-AsyncOperation` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OpStatus {
    /// Running, or waiting for a worker.
    InProgress,
    /// Finished.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Stopped before finishing.
    Canceled,
}

impl OpStatus {
    /// The ARM string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "InProgress",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
        }
    }
}

/// One long-running operation. While `InProgress` it is also a job that a worker claims.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Operation {
    /// The operation id (a UUID), the last segment of its status URL.
    pub id: String,
    /// Subscription it belongs to.
    pub subscription: String,
    /// Region in its status URL.
    pub location: String,
    /// What the job does (interpreted by the core).
    pub job: String,
    /// The key of the resource it acts on.
    pub resource_key: String,
    /// Status.
    pub status: OpStatus,
    /// Error code and message when failed.
    pub error: Option<(String, String)>,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub start_time: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub end_time: Option<OffsetDateTime>,
    /// How many times a worker has picked it up.
    pub attempts: u32,
    /// Job-specific data.
    pub payload: serde_json::Value,
    /// What a finished operation returns (e.g. `{"accessSAS": …}` for `beginGetAccess`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The claim a worker holds it under: set by `claim_operations`, carried by the job, and
    /// checked when the job writes the operation back (fencing). Kept in the row's columns, not
    /// in the document.
    #[serde(skip)]
    pub lease: Option<Lease>,
}

/// One claim on an operation: who holds it, and which claim it is. Every claim raises the
/// epoch, so a worker that lost its lease and a later claim by the same owner differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The node (or test runner) that claimed it.
    pub owner: String,
    /// The claim's number.
    pub epoch: i64,
}
