//! The metadata store: where galleon keeps resource groups, galleries, definitions, versions,
//! principals and durable operations.
//!
//! The [`MetadataStore`] trait is deliberately small: documents addressed by `(kind, key)` with a
//! revision for optimistic concurrency, prefix listing in key order, atomic multi-document
//! [`Batch`]es with preconditions, and an operations queue with leases. Typed access lives in
//! [`typed`], so backends only implement the primitives and the [`conformance`] suite proves they
//! agree. Keys are canonical (lowercase) ARM ids; documents keep the user's casing inside.
//!
//! Backends: SQLite (feature `sqlite`, the embedded default, one process) and PostgreSQL
//! (feature `postgres`, shared by several nodes). Nothing here knows HTTP or chunks.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod cache;
pub mod conformance;
mod error;
mod operation;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod typed;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use error::StoreError;
pub use operation::{Lease, OpStatus, Operation};

/// What a document is. Kinds share one key space but are listed separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A subscription.
    Subscription,
    /// A resource group.
    Group,
    /// A gallery.
    Gallery,
    /// An image definition.
    Image,
    /// An image version.
    Version,
    /// A service principal.
    Principal,
    /// A managed disk.
    Disk,
    /// A snapshot.
    Snapshot,
    /// A managed image.
    ManagedImage,
    /// A virtual machine.
    Vm,
    /// A role assignment.
    RoleAssignment,
    /// A `Microsoft.Network` resource (virtual network, security group, public IP, interface).
    Network,
    /// A template deployment (`Microsoft.Resources/deployments`).
    Deployment,
    /// Installation-wide state every node shares (tenant and subscription ids, the token
    /// signing key, who the admin is). Never served through the API.
    Setting,
    /// A portal session (keyed by a digest of its cookie).
    Session,
    /// An activity log event (keyed newest first within its subscription), or a note waiting
    /// for an accepted request's operation to end.
    Activity,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 16] = [
        Self::Subscription,
        Self::Group,
        Self::Gallery,
        Self::Image,
        Self::Version,
        Self::Principal,
        Self::Disk,
        Self::Snapshot,
        Self::ManagedImage,
        Self::Vm,
        Self::RoleAssignment,
        Self::Network,
        Self::Deployment,
        Self::Setting,
        Self::Session,
        Self::Activity,
    ];

    /// The kind stored under `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "subscription" => Self::Subscription,
            "group" => Self::Group,
            "gallery" => Self::Gallery,
            "image" => Self::Image,
            "version" => Self::Version,
            "principal" => Self::Principal,
            "disk" => Self::Disk,
            "snapshot" => Self::Snapshot,
            "managed_image" => Self::ManagedImage,
            "vm" => Self::Vm,
            "role_assignment" => Self::RoleAssignment,
            "network" => Self::Network,
            "deployment" => Self::Deployment,
            "setting" => Self::Setting,
            "session" => Self::Session,
            "activity" => Self::Activity,
            _ => return None,
        })
    }

    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscription => "subscription",
            Self::Group => "group",
            Self::Gallery => "gallery",
            Self::Image => "image",
            Self::Version => "version",
            Self::Principal => "principal",
            Self::Disk => "disk",
            Self::Snapshot => "snapshot",
            Self::ManagedImage => "managed_image",
            Self::Vm => "vm",
            Self::RoleAssignment => "role_assignment",
            Self::Network => "network",
            Self::Deployment => "deployment",
            Self::Setting => "setting",
            Self::Session => "session",
            Self::Activity => "activity",
        }
    }
}

/// A stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// Its kind.
    pub kind: Kind,
    /// Canonical key (lowercase ARM id, or principal client id).
    pub key: String,
    /// An optional secondary key that must be unique among documents of the same kind and
    /// parent (an image definition's publisher/offer/SKU).
    pub unique: Option<String>,
    /// Revision, set by every write from a store-wide counter, so a document deleted and
    /// created again never repeats a revision its earlier life had (an `Expect::Rev` read from
    /// the old one cannot match the new one); 0 for a document not yet written.
    pub rev: i64,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// The key range a `list` call reads: keys compare bytewise (in every backend), so
/// `[prefix, prefix + U+10FFFF)` is exactly the keys starting with `prefix`; a cursor `after`
/// inside it moves the lower bound up and makes it exclusive.
#[allow(dead_code)] // each backend uses it behind its feature
pub(crate) struct KeyRange<'a> {
    pub(crate) lower: &'a str,
    pub(crate) upper: String,
    pub(crate) strict: bool,
}

#[allow(dead_code)]
pub(crate) fn key_range<'a>(prefix: &'a str, after: Option<&'a str>) -> KeyRange<'a> {
    let inside = after.filter(|a| *a >= prefix);
    KeyRange { lower: inside.unwrap_or(prefix), upper: format!("{prefix}\u{10FFFF}"), strict: inside.is_some() }
}

/// A precondition on one document in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No condition.
    Any,
    /// The document must not exist.
    Absent,
    /// The document must exist at this revision.
    Rev(i64),
}

/// One write in a batch.
#[derive(Debug, Clone)]
pub enum Write {
    /// Create or replace a document.
    Put {
        /// The document (its `rev` is ignored; the store sets it).
        doc: Doc,
        /// Its precondition.
        expect: Expect,
    },
    /// Delete a document (no error if absent and `expect` is `Any`).
    Delete {
        /// Kind.
        kind: Kind,
        /// Key.
        key: String,
        /// Its precondition.
        expect: Expect,
    },
    /// Create or replace an operation. An operation that carries the [`Lease`] of the claim it
    /// came from is *fenced*: the write (and with it the whole batch) fails with
    /// [`StoreError::LeaseLost`] unless that claim still holds the operation, so a worker that
    /// was paused past its lease cannot land a late result over another worker's.
    PutOperation(Operation),
    /// Fail the batch with [`StoreError::Conflict`] if any document of `kind` has a key
    /// starting with `prefix` (a parent may only go once it has no children).
    CheckEmpty {
        /// Kind of the children.
        kind: Kind,
        /// Key prefix of the children.
        prefix: String,
    },
    /// Fail the batch unless the document meets `expect` (guards a parent while a child is written).
    Check {
        /// Kind.
        kind: Kind,
        /// Key.
        key: String,
        /// The precondition.
        expect: Expect,
    },
}

/// Writes applied atomically: all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The writes, in order.
    pub writes: Vec<Write>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a put.
    pub fn put(mut self, doc: Doc, expect: Expect) -> Self {
        self.writes.push(Write::Put { doc, expect });
        self
    }
    /// Adds a delete.
    pub fn delete(mut self, kind: Kind, key: impl Into<String>, expect: Expect) -> Self {
        self.writes.push(Write::Delete { kind, key: key.into(), expect });
        self
    }
    /// Adds a no-children check.
    pub fn check_empty(mut self, kind: Kind, prefix: impl Into<String>) -> Self {
        self.writes.push(Write::CheckEmpty { kind, prefix: prefix.into() });
        self
    }
    /// Adds a precondition on a document that the batch does not write.
    pub fn check(mut self, kind: Kind, key: impl Into<String>, expect: Expect) -> Self {
        self.writes.push(Write::Check { kind, key: key.into(), expect });
        self
    }
    /// Adds an operation write.
    pub fn operation(mut self, op: Operation) -> Self {
        self.writes.push(Write::PutOperation(op));
        self
    }
}

/// How a [`MetadataStore::lock`] is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// By work that writes chunks and records manifests naming them; many at once.
    Shared,
    /// By garbage collection; alone.
    Exclusive,
}

/// A held lock, released when dropped.
pub struct HeldLock(#[allow(dead_code)] Box<dyn Send + Sync>);

impl HeldLock {
    /// Wraps whatever keeps the lock held (a guard, a database session).
    pub fn new(holder: impl Send + Sync + 'static) -> Self {
        Self(Box::new(holder))
    }
}

/// A connection pool's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections the pool may open.
    pub max: usize,
    /// Connections open now.
    pub open: usize,
    /// Of those, idle.
    pub idle: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

/// The metadata store. Every method is safe to call concurrently.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// Reads one document. Shared, so a backend may hand out cached documents without copying.
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Arc<Doc>>, StoreError>;

    /// Lists documents of `kind` whose key starts with `prefix` and is greater than `after`,
    /// in key order, at most `limit`.
    async fn list(
        &self,
        kind: Kind,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Arc<Doc>>, StoreError>;

    /// Applies a batch atomically. A failed precondition is [`StoreError::Conflict`]; a
    /// duplicate `unique` key is [`StoreError::Duplicate`]. Either way nothing is written.
    async fn apply(&self, batch: Batch) -> Result<(), StoreError>;

    /// Reads one operation.
    async fn get_operation(&self, id: &str) -> Result<Option<Operation>, StoreError>;

    /// Operations in id order after `after`, at most `limit` (copying a store, checking one).
    async fn list_operations(&self, after: Option<&str>, limit: usize) -> Result<Vec<Operation>, StoreError>;

    /// How many operations are still in progress (garbage collection waits for none).
    async fn operations_in_progress(&self) -> Result<usize, StoreError>;

    /// The resource keys that in-progress operations act on (the start-up orphan check).
    async fn keys_in_progress(&self) -> Result<Vec<String>, StoreError>;

    /// Claims up to `limit` in-progress operations whose lease is free or has run out, for
    /// `owner`, for `ttl` by the store's clock, oldest first, and returns them with their
    /// [`Lease`] (its epoch one more than the last claim's). With `jobs` non-empty, only
    /// operations whose `job` is one of them.
    async fn claim_operations(
        &self,
        owner: &str,
        ttl: Duration,
        limit: usize,
        jobs: &[&str],
    ) -> Result<Vec<Operation>, StoreError>;

    /// Extends a claim on an in-progress operation to `ttl` from now (a zero `ttl` frees it for
    /// any worker at once); false when the operation is finished or another claim holds it now.
    async fn renew_lease(&self, id: &str, lease: &Lease, ttl: Duration) -> Result<bool, StoreError>;

    /// Takes the lock called `name` across every process using this store (e.g. `content`: work
    /// that writes chunks and names them in manifests holds it shared, garbage collection
    /// exclusively). Waits at most `wait`; `None` when it was not granted in time.
    async fn lock(&self, name: &str, mode: LockMode, wait: Duration) -> Result<Option<HeldLock>, StoreError>;

    /// Signalled when another process queued work or handed jobs back (PostgreSQL's
    /// `LISTEN/NOTIFY`), so a worker wakes at once instead of at its next poll. `None` for a
    /// store only one process uses.
    fn job_signal(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }

    /// How the store's connection pool is used, for a store that has one (PostgreSQL).
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }

    /// Frees every lease `owner` holds (a node going down, or starting again after it died), so
    /// its jobs resume now rather than when their leases would have run out. Returns how many.
    async fn release_leases(&self, owner: &str) -> Result<usize, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn every_kind_parses_back() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        // Every variant is in ALL (as_str is an exhaustive match; this catches a kind left out).
        let names = [
            "subscription",
            "group",
            "gallery",
            "image",
            "version",
            "principal",
            "disk",
            "snapshot",
            "managed_image",
            "vm",
            "role_assignment",
            "network",
            "deployment",
            "setting",
            "session",
            "activity",
        ];
        assert_eq!(names.len(), Kind::ALL.len());
        for name in names {
            assert!(Kind::ALL.contains(&Kind::parse(name).unwrap()), "{name}");
        }
    }
}
