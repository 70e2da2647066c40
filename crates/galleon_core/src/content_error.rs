//! What went wrong with disk content, by what the caller can do about it: a transient fault is
//! retried (and, if it lasts, answered as a server error), missing or corrupt content fails the
//! work with a reason that names the chunk, and bad input is the caller's to fix.

use galleon_blob::ingest::IngestError;
use galleon_blob::manifest::ManifestError;
use galleon_blob::store::ChunkError;

/// The kind of a content failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentErrorKind {
    /// A store or disk fault that may pass (I/O, a backend's error): retry.
    Transient,
    /// A chunk or manifest the content needs is not in the store.
    Missing,
    /// Stored bytes do not match their hash, or a manifest does not decode.
    Corrupt,
    /// The input is not acceptable content (not a fixed VHD, wrong size).
    BadInput,
}

/// A content failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ContentError {
    /// What the caller can do.
    pub kind: ContentErrorKind,
    /// What happened (never a server path).
    pub message: String,
}

impl ContentError {
    /// A transient fault.
    pub fn transient(message: impl std::fmt::Display) -> Self {
        Self { kind: ContentErrorKind::Transient, message: message.to_string() }
    }
}

/// A stored digest as a chunk id; a digest that does not parse is corrupt metadata.
pub(crate) fn parse_digest(digest: &str) -> Result<galleon_blob::ChunkId, ContentError> {
    digest.parse().map_err(|e| ContentError {
        kind: ContentErrorKind::Corrupt,
        message: format!("the stored digest '{digest}' is not valid: {e}"),
    })
}

impl From<ChunkError> for ContentError {
    fn from(e: ChunkError) -> Self {
        let kind = match &e {
            ChunkError::Io(_) => ContentErrorKind::Transient,
            ChunkError::NotFound(_) => ContentErrorKind::Missing,
            ChunkError::Corrupt(_) | ChunkError::Mismatch(_) => ContentErrorKind::Corrupt,
        };
        Self { kind, message: e.to_string() }
    }
}

impl From<ManifestError> for ContentError {
    fn from(e: ManifestError) -> Self {
        Self { kind: ContentErrorKind::Corrupt, message: e.to_string() }
    }
}

impl From<IngestError> for ContentError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Format(f) => Self { kind: ContentErrorKind::BadInput, message: f.to_string() },
            IngestError::Read(io) => Self::transient(format!("reading the image: {io}")),
            IngestError::Store(c) => c.into(),
        }
    }
}

impl From<std::io::Error> for ContentError {
    fn from(e: std::io::Error) -> Self {
        Self::transient(e)
    }
}

impl From<tokio::task::JoinError> for ContentError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::transient(format!("a content task ended early: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use galleon_blob::ChunkId;

    #[test]
    fn chunk_errors_have_their_kinds() {
        let id = ChunkId::of(b"x");
        let kind = |e: ChunkError| ContentError::from(e).kind;
        assert_eq!(kind(ChunkError::Io("disk full".into())), ContentErrorKind::Transient);
        assert_eq!(kind(ChunkError::NotFound(id)), ContentErrorKind::Missing);
        assert_eq!(kind(ChunkError::Corrupt(id)), ContentErrorKind::Corrupt);
        let missing = ContentError::from(ChunkError::NotFound(id));
        assert!(missing.message.contains(&id.to_hex()), "names the chunk: {missing}");
    }
}
