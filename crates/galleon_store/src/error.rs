/// Store failures, classified by what the caller can do about them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A batch precondition did not hold (someone else wrote first, or the document exists /
    /// does not exist). Re-read and decide again.
    #[error("precondition failed for '{key}'")]
    Conflict {
        /// The key whose precondition failed.
        key: String,
    },
    /// A unique secondary key is already taken by another document.
    #[error("unique key '{unique}' is already used")]
    Duplicate {
        /// The secondary key.
        unique: String,
    },
    /// A fenced operation write found that its claim no longer holds the operation (its lease ran
    /// out and another worker claimed it, or it finished): the worker must stop; nothing was written.
    #[error("the lease on operation '{id}' was lost")]
    LeaseLost {
        /// The operation.
        id: String,
    },
    /// A stored document could not be decoded (a bug or a corrupted database).
    #[error("corrupt document '{key}': {reason}")]
    Corrupt {
        /// The key.
        key: String,
        /// What went wrong.
        reason: String,
    },
    /// The backend failed (a database error). Retrying may help.
    #[error("metadata backend: {0}")]
    Backend(String),
    /// The backend cannot be reached (the database is down or the network to it is): nothing
    /// was written. Callers answer "try again later".
    #[error("metadata backend unavailable: {0}")]
    Unavailable(String),
}
