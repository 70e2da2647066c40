//! The PostgreSQL backend: one database shared by every galleon node.
//!
//! Batches run SERIALIZABLE, so a check-then-write (a parent deleted only if it has no children,
//! a child written only while its parent is at a revision) holds against writers on other nodes
//! too; a transaction the database aborts to keep that promise (40001, 40P01) is retried a
//! bounded number of times. Leases run on the database's clock, so nodes need not agree on time.
//! There is no read cache: another node may write at any moment.

mod migrations;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use crate::cache::{DocCache, ListKey};
use crate::{
    Batch, Doc, Expect, HeldLock, Kind, Lease, LockMode, MetadataStore, OpStatus, Operation, StoreError, Write,
};

/// How many times a batch the database aborted for serializability is tried again.
const SERIALIZATION_RETRIES: u32 = 20;
/// Connections per node.
const POOL_SIZE: usize = 16;

/// The advisory lock key of a named lock: FNV-1a of the name, fixed forever (every node, of
/// every version, must compute the same key), kept clear of the migration lock's.
fn lock_key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("galleon/{name}").bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// A PostgreSQL-backed [`MetadataStore`].
pub struct PgStore {
    pool: Pool,
    /// For sessions of their own (content locks live as long as a session).
    config: tokio_postgres::Config,
    /// The `NOTIFY` channel new work is announced on (one per schema).
    channel: String,
    /// Woken by the listener when any node announces work.
    wake: Arc<tokio::sync::Notify>,
    listener: tokio::task::JoinHandle<()>,
    /// The sessions holding this process's shared locks. A job's final write is refused while
    /// one of them has been lost: garbage collection elsewhere may already have run, and the job
    /// must check its chunks again under a new lock.
    shared_sessions: std::sync::Mutex<Vec<std::sync::Weak<tokio_postgres::Client>>>,
    /// This node's copies of the kinds read on every request (see [`CACHED`]); other nodes'
    /// writes of them arrive on `cache_channel`.
    cache: Arc<DocCache>,
    cache_channel: String,
}

/// Kinds every request reads (authorization, parents) and few write: cached on each node,
/// invalidated by this node's writes at once and by other nodes' through `NOTIFY` (within
/// milliseconds; a role assignment removed on one node stops granting on the others then).
const CACHED: [Kind; 4] = [Kind::Subscription, Kind::Group, Kind::RoleAssignment, Kind::Principal];

/// A `NOTIFY` payload must stay under 8000 bytes; past this, other nodes drop their whole cache.
const MAX_PAYLOAD: usize = 7000;

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Why one try of a transaction ended.
enum Failure {
    /// The database aborted it to keep transactions serializable: run it again.
    Retry(tokio_postgres::Error),
    /// A real answer (a precondition, a duplicate, a backend fault).
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

fn classify(e: tokio_postgres::Error) -> Failure {
    match e.code() {
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED => {
            Failure::Retry(e)
        }
        _ => Failure::Store(describe(e)),
    }
}

/// A database error as the store reports it: the server's own message, not just "db error";
/// a lost or refused connection (or a server shutting down) is [`StoreError::Unavailable`].
fn describe(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) if db.code().code().starts_with("08") || db.code().code().starts_with("57P") => {
            StoreError::Unavailable(format!("{}: {}", db.code().code(), db.message()))
        }
        Some(db) => StoreError::Backend(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Unavailable(e.to_string()),
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, or key=value form) and applies pending
    /// migrations. Fails at once, naming the server, when it cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, None).await
    }

    /// As [`connect`](Self::connect), inside `schema` (created if absent): tests give each store
    /// a schema of its own in one throwaway cluster. `schema` is letters, digits and `_` only.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        if schema.is_empty() || !schema.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::Backend(format!("invalid schema name '{schema}'")));
        }
        Self::open(url, Some(schema)).await
    }

    async fn open(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Backend(format!("database URL: {e}")))?;
        config.connect_timeout(Duration::from_secs(5));
        if config.get_application_name().is_none() {
            config.application_name("galleon");
        }
        if let Some(schema) = schema {
            let (client, conn) = config.connect(NoTls).await.map_err(|e| unreachable(&config, e))?;
            let task = tokio::spawn(conn);
            // Under the migration lock: two `IF NOT EXISTS` at once can still collide.
            let sql = format!(
                "BEGIN; SELECT pg_advisory_xact_lock({}); CREATE SCHEMA IF NOT EXISTS {schema}; COMMIT;",
                migrations::MIGRATION_LOCK
            );
            client.batch_execute(&sql).await.map_err(describe)?;
            drop(client);
            let _ = task.await;
            config.options(format!("-c search_path={schema}"));
        }
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(5)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(backend)?;
        let mut client = pool.get().await.map_err(|e| unreachable(&config, e))?;
        migrations::apply(&mut client).await?;
        drop(client);
        // Lowercase: LISTEN folds an unquoted name, pg_notify takes it as given.
        let channel = format!("galleon_jobs_{}", schema.unwrap_or("public")).to_ascii_lowercase();
        let cache_channel = format!("galleon_cache_{}", schema.unwrap_or("public")).to_ascii_lowercase();
        let wake = Arc::new(tokio::sync::Notify::new());
        let cache = Arc::new(DocCache::default());
        let (ready, listening) = tokio::sync::oneshot::channel();
        let heard = Heard {
            jobs: channel.clone(),
            wake: wake.clone(),
            cache_channel: cache_channel.clone(),
            cache: cache.clone(),
        };
        let listener = tokio::spawn(listen(config.clone(), heard, ready));
        // Work and writes announced from here on are heard (the listener retries on its own).
        let _ = tokio::time::timeout(Duration::from_secs(5), listening).await;
        Ok(Self {
            pool,
            config,
            channel,
            wake,
            listener,
            shared_sessions: std::sync::Mutex::default(),
            cache,
            cache_channel,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Unavailable(format!("database connection: {e}")))
    }
}

/// "Cannot reach" with the host and port, never the password.
fn unreachable(config: &tokio_postgres::Config, e: impl std::fmt::Display) -> StoreError {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    StoreError::Unavailable(format!(
        "cannot reach PostgreSQL at {} port {}: {e}",
        if hosts.is_empty() { "localhost".into() } else { hosts.join(",") },
        if ports.is_empty() { "5432".into() } else { ports.join(",") }
    ))
}

fn row_to_doc(row: &Row) -> Doc {
    let kind: &str = row.get(0);
    let body: &str = row.get(4);
    Doc {
        kind: Kind::parse(kind).unwrap_or(Kind::Group),
        key: row.get(1),
        unique: row.get(2),
        rev: row.get(3),
        body: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    }
}

/// The parent of a key: everything before its last `/`.
fn parent(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(p, _)| p)
}

/// The exclusive upper bound of the keys starting with `prefix` (keys compare bytewise).
fn upper(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn decode_op(row: &Row) -> Result<Operation, StoreError> {
    let body: &str = row.get("body");
    let mut op: Operation = serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        key: format!("operation {}", row.get::<_, &str>("id")),
        reason: e.to_string(),
    })?;
    op.attempts = row.get::<_, i32>("attempts") as u32;
    Ok(op)
}

fn ttl_seconds(ttl: Duration) -> f64 {
    ttl.as_secs_f64().min(1e9)
}

async fn check(tx: &deadpool_postgres::Transaction<'_>, kind: Kind, key: &str, expect: Expect) -> Result<(), Failure> {
    if expect == Expect::Any {
        return Ok(());
    }
    let rev: Option<i64> = tx
        .query_opt("SELECT rev FROM docs WHERE kind = $1 AND key = $2", &[&kind.as_str(), &key])
        .await
        .map_err(classify)?
        .map(|r| r.get(0));
    let ok = match expect {
        Expect::Any => true,
        Expect::Absent => rev.is_none(),
        Expect::Rev(want) => rev == Some(want),
    };
    if ok { Ok(()) } else { Err(StoreError::Conflict { key: key.to_string() }.into()) }
}

async fn apply_once(
    client: &mut deadpool_postgres::Object,
    batch: &Batch,
    channel: &str,
    notice: &Option<(String, String)>,
) -> Result<(), Failure> {
    let tx =
        client.build_transaction().isolation_level(IsolationLevel::Serializable).start().await.map_err(classify)?;
    for write in &batch.writes {
        match write {
            Write::Put { doc, expect } => {
                check(&tx, doc.kind, &doc.key, *expect).await?;
                let body = doc.body.to_string();
                let result = tx
                    .execute(
                        "INSERT INTO docs (kind, key, parent, uniq, rev, body)
                         VALUES ($1, $2, $3, $4, nextval('revisions'), $5)
                         ON CONFLICT (kind, key) DO UPDATE SET uniq = excluded.uniq, rev = excluded.rev, body = excluded.body",
                        &[&doc.kind.as_str(), &doc.key, &parent(&doc.key), &doc.unique, &body],
                    )
                    .await;
                if let Err(e) = result {
                    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                        return Err(StoreError::Duplicate { unique: doc.unique.clone().unwrap_or_default() }.into());
                    }
                    return Err(classify(e));
                }
            }
            Write::Delete { kind, key, expect } => {
                check(&tx, *kind, key, *expect).await?;
                tx.execute("DELETE FROM docs WHERE kind = $1 AND key = $2", &[&kind.as_str(), key])
                    .await
                    .map_err(classify)?;
            }
            Write::Check { kind, key, expect } => check(&tx, *kind, key, *expect).await?,
            Write::CheckEmpty { kind, prefix } => {
                let child = tx
                    .query_opt(
                        "SELECT key FROM docs WHERE kind = $1 AND key >= $2 AND key < $3 ORDER BY key LIMIT 1",
                        &[&kind.as_str(), prefix, &upper(prefix)],
                    )
                    .await
                    .map_err(classify)?;
                if let Some(row) = child {
                    return Err(StoreError::Conflict { key: row.get(0) }.into());
                }
            }
            Write::PutOperation(op) => put_operation(&tx, op).await?,
        }
    }
    // New work wakes every node's workers when (and only if) it commits.
    let queued = batch
        .writes
        .iter()
        .any(|w| matches!(w, Write::PutOperation(op) if op.lease.is_none() && op.status == OpStatus::InProgress));
    if queued {
        tx.execute("SELECT pg_notify($1, '')", &[&channel]).await.map_err(classify)?;
    }
    // Other nodes forget the cached documents this batch writes when (and only if) it commits.
    if let Some((cache_channel, payload)) = notice {
        tx.execute("SELECT pg_notify($1, $2)", &[cache_channel, payload]).await.map_err(classify)?;
    }
    tx.commit().await.map_err(classify)
}

async fn put_operation(tx: &deadpool_postgres::Transaction<'_>, op: &Operation) -> Result<(), Failure> {
    let body = serde_json::to_string(op).map_err(backend)?;
    let status = op.status.as_str();
    match &op.lease {
        None => {
            tx.execute(
                "INSERT INTO operations (id, status, job, resource_key, attempts, body) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body",
                &[&op.id, &status, &op.job, &op.resource_key, &(op.attempts as i32), &body],
            )
            .await
            .map_err(classify)?;
        }
        // Fenced: only while this claim holds it; a finished operation frees its lease.
        Some(lease) => {
            let n = tx
                .execute(
                    "UPDATE operations SET status = $2, body = $3,
                       lease_owner = CASE WHEN $2 = 'InProgress' THEN lease_owner END,
                       lease_until = CASE WHEN $2 = 'InProgress' THEN lease_until ELSE 'epoch' END
                     WHERE id = $1 AND lease_owner = $4 AND lease_epoch = $5 AND status = 'InProgress'",
                    &[&op.id, &status, &body, &lease.owner, &lease.epoch],
                )
                .await
                .map_err(classify)?;
            if n != 1 {
                return Err(StoreError::LeaseLost { id: op.id.clone() }.into());
            }
        }
    }
    Ok(())
}

impl PgStore {
    async fn read_doc(&self, kind: Kind, key: &str) -> Result<Option<Arc<Doc>>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT kind, key, uniq, rev, body FROM docs WHERE kind = $1 AND key = $2")
            .await
            .map_err(describe)?;
        let row = client.query_opt(&stmt, &[&kind.as_str(), &key]).await.map_err(describe)?;
        Ok(row.as_ref().map(row_to_doc).map(Arc::new))
    }

    async fn read_list(
        &self,
        kind: Kind,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Arc<Doc>>, StoreError> {
        let range = crate::key_range(prefix, after);
        let sql = if range.strict {
            "SELECT kind, key, uniq, rev, body FROM docs WHERE kind = $1 AND key > $2 AND key < $3 ORDER BY key LIMIT $4"
        } else {
            "SELECT kind, key, uniq, rev, body FROM docs WHERE kind = $1 AND key >= $2 AND key < $3 ORDER BY key LIMIT $4"
        };
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(describe)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows =
            client.query(&stmt, &[&kind.as_str(), &range.lower, &range.upper, &limit]).await.map_err(describe)?;
        Ok(rows.iter().map(row_to_doc).map(Arc::new).collect())
    }

    async fn apply_uncached(&self, batch: Batch, written: &[(Kind, String)]) -> Result<(), StoreError> {
        if finishes_a_job(&batch) && self.lost_a_shared_session() {
            return Err(StoreError::Unavailable(
                "the session holding a shared lock was lost; the job will run again under a new one".into(),
            ));
        }
        let mut tries = 0;
        loop {
            let mut client = self.client().await?;
            match apply_once(&mut client, &batch, &self.channel, &self.notice(written)).await {
                Ok(()) => return Ok(()),
                Err(Failure::Store(e)) => return Err(e),
                Err(Failure::Retry(e)) if tries >= SERIALIZATION_RETRIES => return Err(describe(e)),
                Err(Failure::Retry(_)) => {
                    tries += 1;
                    // A short, growing, jittered pause so the writers that collided spread out.
                    let jitter = u64::from(clock_jitter()) % (5 * u64::from(tries));
                    tokio::time::sleep(Duration::from_millis(u64::from(tries) + jitter)).await;
                }
            }
        }
    }

    /// The `NOTIFY` that tells other nodes which cached documents a batch writes, if any.
    fn notice(&self, written: &[(Kind, String)]) -> Option<(String, String)> {
        if written.is_empty() {
            return None;
        }
        let lines: Vec<String> = written.iter().map(|(k, key)| format!("{}\t{key}", k.as_str())).collect();
        let payload = lines.join("\n");
        let payload = if payload.len() > MAX_PAYLOAD { "*".to_string() } else { payload };
        Some((self.cache_channel.clone(), payload))
    }
}

/// The cached documents a batch writes.
fn cached_writes(batch: &Batch) -> Vec<(Kind, String)> {
    batch
        .writes
        .iter()
        .filter_map(|w| match w {
            Write::Put { doc, .. } if CACHED.contains(&doc.kind) => Some((doc.kind, doc.key.clone())),
            Write::Delete { kind, key, .. } if CACHED.contains(kind) => Some((*kind, key.clone())),
            _ => None,
        })
        .collect()
}

#[async_trait]
impl MetadataStore for PgStore {
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Arc<Doc>>, StoreError> {
        if !CACHED.contains(&kind) {
            return self.read_doc(kind, key).await;
        }
        self.cache.read_through(kind, key, self.read_doc(kind, key)).await
    }

    async fn list(
        &self,
        kind: Kind,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Arc<Doc>>, StoreError> {
        if !CACHED.contains(&kind) {
            return self.read_list(kind, prefix, after, limit).await;
        }
        let query = ListKey { kind, prefix: prefix.to_string(), after: after.map(str::to_string), limit };
        self.cache.list_through(query, self.read_list(kind, prefix, after, limit)).await
    }

    async fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        let written = cached_writes(&batch);
        let result = self.apply_uncached(batch, &written).await;
        // Whether it committed or not: forgetting is always safe.
        self.cache.invalidate(written.iter().map(|(k, key)| (*k, key.as_str())));
        result
    }

    async fn get_operation(&self, id: &str) -> Result<Option<Operation>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT id, attempts, body FROM operations WHERE id = $1", &[&id])
            .await
            .map_err(describe)?;
        row.as_ref().map(decode_op).transpose()
    }

    async fn list_operations(&self, after: Option<&str>, limit: usize) -> Result<Vec<Operation>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT id, attempts, body FROM operations WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after.unwrap_or(""), &limit],
            )
            .await
            .map_err(describe)?;
        rows.iter().map(decode_op).collect()
    }

    async fn operations_in_progress(&self) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT COUNT(*) FROM operations WHERE status = $1", &[&OpStatus::InProgress.as_str()])
            .await
            .map_err(describe)?;
        Ok(row.get::<_, i64>(0) as usize)
    }

    async fn keys_in_progress(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT resource_key FROM operations WHERE status = $1", &[&OpStatus::InProgress.as_str()])
            .await
            .map_err(describe)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn claim_operations(
        &self,
        owner: &str,
        ttl: Duration,
        limit: usize,
        jobs: &[&str],
    ) -> Result<Vec<Operation>, StoreError> {
        let client = self.client().await?;
        let jobs: Vec<&str> = jobs.to_vec();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // MATERIALIZED: the planner may not re-run the LIMIT subquery per row and claim more than
        // `limit`; SKIP LOCKED: nodes claiming at once take disjoint sets without waiting.
        let rows = client
            .query(
                "WITH due AS MATERIALIZED (
                    SELECT id FROM operations
                    WHERE status = 'InProgress' AND lease_until <= now()
                      AND (cardinality($2::text[]) = 0 OR job = ANY($2::text[]))
                    ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
                 UPDATE operations o SET lease_owner = $3, lease_until = now() + make_interval(secs => $4),
                    lease_epoch = o.lease_epoch + 1, attempts = o.attempts + 1
                 FROM due WHERE o.id = due.id
                 RETURNING o.seq, o.id, o.attempts, o.lease_epoch, o.body",
                &[&limit, &jobs, &owner, &ttl_seconds(ttl)],
            )
            .await
            .map_err(describe)?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let mut op = decode_op(row)?;
                op.lease = Some(Lease { owner: owner.to_string(), epoch: row.get("lease_epoch") });
                Ok((row.get::<_, i64>("seq"), op))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        claimed.sort_by_key(|(seq, _)| *seq);
        Ok(claimed.into_iter().map(|(_, op)| op).collect())
    }

    async fn renew_lease(&self, id: &str, lease: &Lease, ttl: Duration) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE operations SET lease_until = now() + make_interval(secs => $4)
                 WHERE id = $1 AND lease_owner = $2 AND lease_epoch = $3 AND status = 'InProgress'",
                &[&id, &lease.owner, &lease.epoch, &ttl_seconds(ttl)],
            )
            .await
            .map_err(describe)?;
        Ok(n == 1)
    }

    /// A session advisory lock on a connection of its own, held until the lock is dropped (the
    /// session ends, and the server frees the lock, also when this process dies). PostgreSQL
    /// queues a shared request behind a waiting exclusive one, so a collector is not starved.
    async fn lock(&self, name: &str, mode: LockMode, wait: Duration) -> Result<Option<HeldLock>, StoreError> {
        let mut config = self.config.clone();
        // A dead peer is noticed in about half a minute, not the system's default two hours.
        config
            .application_name(format!("galleon lock {}", self.channel))
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        let (client, conn) = config.connect(NoTls).await.map_err(|e| unreachable(&self.config, e))?;
        tokio::spawn(conn);
        // lock_timeout 0 would mean "wait forever".
        let ms = wait.as_millis().clamp(1, i32::MAX as u128);
        client.batch_execute(&format!("SET lock_timeout = {ms}")).await.map_err(describe)?;
        let sql = match mode {
            LockMode::Shared => "SELECT pg_advisory_lock_shared($1)",
            LockMode::Exclusive => "SELECT pg_advisory_lock($1)",
        };
        match client.execute(sql, &[&lock_key(name)]).await {
            Ok(_) => {
                let client = Arc::new(client);
                if mode == LockMode::Shared {
                    let mut held = self.shared_sessions.lock().map_err(backend)?;
                    held.retain(|w| w.strong_count() > 0);
                    held.push(Arc::downgrade(&client));
                }
                Ok(Some(HeldLock::new(client)))
            }
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => Ok(None),
            Err(e) => Err(describe(e)),
        }
    }

    fn pool_status(&self) -> Option<crate::PoolStatus> {
        let s = self.pool.status();
        Some(crate::PoolStatus { max: s.max_size, open: s.size, idle: s.available, waiting: s.waiting })
    }

    async fn release_leases(&self, owner: &str) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE operations SET lease_owner = NULL, lease_until = 'epoch' WHERE lease_owner = $1",
                &[&owner],
            )
            .await
            .map_err(describe)?;
        if n > 0 {
            // Handed back: other nodes take them over now.
            client.execute("SELECT pg_notify($1, '')", &[&self.channel]).await.map_err(describe)?;
        }
        Ok(n as usize)
    }

    fn job_signal(&self) -> Option<Arc<tokio::sync::Notify>> {
        Some(self.wake.clone())
    }
}

/// Whether `batch` ends a claimed job (writes its operation, fenced, in a final state).
fn finishes_a_job(batch: &Batch) -> bool {
    batch
        .writes
        .iter()
        .any(|w| matches!(w, Write::PutOperation(op) if op.lease.is_some() && op.status != OpStatus::InProgress))
}

impl PgStore {
    /// Whether a session holding one of this process's shared locks has closed.
    fn lost_a_shared_session(&self) -> bool {
        let Ok(mut held) = self.shared_sessions.lock() else { return true };
        held.retain(|w| w.strong_count() > 0);
        held.iter().filter_map(std::sync::Weak::upgrade).any(|c| c.is_closed())
    }
}

/// A few bits of jitter without a random-number dependency: the clock's nanoseconds.
fn clock_jitter() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
}

/// What the listener acts on: new work (wake the workers) and other nodes' writes of cached
/// documents (forget them).
#[derive(Clone)]
struct Heard {
    jobs: String,
    wake: Arc<tokio::sync::Notify>,
    cache_channel: String,
    cache: Arc<DocCache>,
}

impl Heard {
    fn notification(&self, n: &tokio_postgres::Notification) {
        if n.channel() == self.jobs {
            self.wake.notify_one();
        } else if n.channel() == self.cache_channel {
            if n.payload() == "*" {
                self.cache.clear();
                return;
            }
            let keys = n.payload().lines().filter_map(|l| l.split_once('\t'));
            self.cache.invalidate(keys.filter_map(|(k, key)| Some((Kind::parse(k)?, key))));
        }
    }
}

/// Listens for as long as the store lives; reconnects after a lost connection, and then wakes the
/// workers once and drops the cache (notifications may have been missed meanwhile).
async fn listen(config: tokio_postgres::Config, heard: Heard, ready: tokio::sync::oneshot::Sender<()>) {
    use futures_util::StreamExt;
    let mut ready = Some(ready);
    loop {
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            let on = heard.clone();
            let messages = tokio::spawn(async move {
                let mut stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(message) = stream.next().await {
                    match message {
                        Ok(tokio_postgres::AsyncMessage::Notification(n)) => on.notification(&n),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            });
            let sql = format!("LISTEN {}; LISTEN {}", heard.jobs, heard.cache_channel);
            if client.batch_execute(&sql).await.is_ok() {
                heard.cache.clear();
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                heard.wake.notify_one();
                // Until the connection ends; `client` stays alive meanwhile.
                let _ = messages.await;
            } else {
                messages.abort();
            }
            // Until it listens again, nothing cached can be trusted to be current.
            heard.cache.clear();
            drop(client);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
