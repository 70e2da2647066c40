//! The SQLite backend: one file in WAL mode, one writer connection and a small pool of readers.
//!
//! Writes run on a blocking thread (they fsync: `synchronous=FULL`, so an acknowledged write
//! survives a power cut); reads are short indexed lookups and run inline on a pooled reader.

mod migrations;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::{
    Batch, Doc, Expect, HeldLock, Kind, Lease, LockMode, MetadataStore, OpStatus, Operation, StoreError, Write,
};

const READERS: usize = 4;

/// A SQLite-backed [`MetadataStore`].
pub struct SqliteStore {
    cache: Arc<crate::cache::DocCache>,
    writer: Arc<Mutex<Connection>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Named locks: one process owns a SQLite store, so in-process locks are the whole story
    /// (tokio's are fair: a waiting exclusive holder holds back new shared ones).
    locks: Mutex<std::collections::HashMap<String, Arc<tokio::sync::RwLock<()>>>>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(backend)?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;").map_err(backend)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations. The
    /// file holds secrets (the token signing key, secret hashes, portal sessions): it and its
    /// journal files are readable by the owner only.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        owner_only(path)?;
        let mut writer = open(path)?;
        migrations::apply(&mut writer)?;
        let readers = (0..READERS).map(|_| open(path).map(Mutex::new)).collect::<Result<_, _>>()?;
        Ok(Self {
            cache: Arc::default(),
            writer: Arc::new(Mutex::new(writer)),
            readers,
            next_reader: AtomicUsize::new(0),
            locks: Mutex::default(),
        })
    }

    /// Writes a consistent copy of the database at `path` to `to` (which must not exist), while
    /// a server may be writing to it: SQLite's `VACUUM INTO` reads one snapshot of the WAL
    /// database through its own read-only connection, so the server's writes neither wait long
    /// nor tear the copy. The copy is mode 0600 (it holds secret hashes and signing keys).
    pub fn snapshot(path: &Path, to: &Path) -> Result<(), StoreError> {
        use std::os::unix::fs::PermissionsExt;
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(backend)?;
        let target = to.to_str().ok_or_else(|| StoreError::Backend(format!("{} is not UTF-8", to.display())))?;
        conn.execute("VACUUM INTO ?1", params![target]).map_err(backend)?;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600)).map_err(backend)?;
        Ok(())
    }

    /// The schema version of the database at `path` and the newest this galleon knows.
    pub fn schema_versions(path: &Path) -> Result<(usize, usize), StoreError> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(backend)?;
        let current = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).map_err(backend)?;
        Ok((current as usize, migrations::LATEST))
    }

    /// Frees every operation lease, whoever holds it. Only for a process that owns the database
    /// alone (the server holds its data-directory lock): any lease found at start-up belongs to a
    /// process that died, and its jobs should resume now rather than when the lease would have
    /// run out.
    pub fn release_all_leases(&self) -> Result<usize, StoreError> {
        let conn = self.writer.lock().map_err(backend)?;
        conn.execute("UPDATE operations SET lease_owner = NULL, lease_until = 0 WHERE lease_until > 0", [])
            .map_err(backend)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Ok(conn) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return f(&conn).map_err(backend);
            }
        }
        let conn = self.readers[start % self.readers.len()].lock().map_err(backend)?;
        f(&conn).map_err(backend)
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let writer = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || {
            let mut conn = writer.lock().map_err(backend)?;
            f(&mut conn)
        })
        .await
        .map_err(backend)?
    }
}

fn row_to_doc(row: &rusqlite::Row<'_>) -> rusqlite::Result<Doc> {
    let kind: String = row.get(0)?;
    let body: String = row.get(4)?;
    Ok(Doc {
        kind: Kind::parse(&kind).unwrap_or(Kind::Group),
        key: row.get(1)?,
        unique: row.get(2)?,
        rev: row.get(3)?,
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    })
}

/// The parent of a key: everything before its last `/`.
fn parent(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(p, _)| p)
}

fn check(tx: &rusqlite::Transaction<'_>, kind: Kind, key: &str, expect: Expect) -> Result<(), StoreError> {
    let rev: Option<i64> = tx
        .query_row("SELECT rev FROM docs WHERE kind = ?1 AND key = ?2", params![kind.as_str(), key], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    let ok = match expect {
        Expect::Any => true,
        Expect::Absent => rev.is_none(),
        Expect::Rev(want) => rev == Some(want),
    };
    if ok { Ok(()) } else { Err(StoreError::Conflict { key: key.to_string() }) }
}

fn apply_batch(conn: &mut Connection, batch: Batch) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    for write in batch.writes {
        match write {
            Write::Put { doc, expect } => {
                check(&tx, doc.kind, &doc.key, expect)?;
                let body = doc.body.to_string();
                let rev: i64 = tx
                    .prepare_cached("UPDATE revisions SET last = last + 1 RETURNING last")
                    .and_then(|mut s| s.query_row([], |r| r.get(0)))
                    .map_err(backend)?;
                let result = tx.execute(
                    "INSERT INTO docs (kind, key, parent, uniq, rev, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (kind, key) DO UPDATE SET uniq = excluded.uniq, rev = excluded.rev, body = excluded.body",
                    params![doc.kind.as_str(), doc.key, parent(&doc.key), doc.unique, rev, body],
                );
                if let Err(e) = result {
                    if let rusqlite::Error::SqliteFailure(f, _) = &e
                        && f.code == rusqlite::ErrorCode::ConstraintViolation
                    {
                        return Err(StoreError::Duplicate { unique: doc.unique.unwrap_or_default() });
                    }
                    return Err(backend(e));
                }
            }
            Write::Delete { kind, key, expect } => {
                check(&tx, kind, &key, expect)?;
                tx.execute("DELETE FROM docs WHERE kind = ?1 AND key = ?2", params![kind.as_str(), key])
                    .map_err(backend)?;
            }
            Write::Check { kind, key, expect } => check(&tx, kind, &key, expect)?,
            Write::CheckEmpty { kind, prefix } => {
                let upper = format!("{prefix}\u{10FFFF}");
                let child: Option<String> = tx
                    .query_row(
                        "SELECT key FROM docs WHERE kind = ?1 AND key >= ?2 AND key < ?3 LIMIT 1",
                        params![kind.as_str(), prefix, upper],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(backend)?;
                if let Some(key) = child {
                    return Err(StoreError::Conflict { key });
                }
            }
            Write::PutOperation(op) => {
                let body = serde_json::to_string(&op).map_err(backend)?;
                match &op.lease {
                    None => {
                        tx.execute(
                            "INSERT INTO operations (id, status, lease_until, body) VALUES (?1, ?2, 0, ?3)
                             ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body",
                            params![op.id, op.status.as_str(), body],
                        )
                        .map_err(backend)?;
                    }
                    // Fenced: only while this claim holds it; a finished operation frees its lease.
                    Some(lease) => {
                        let n = tx
                            .execute(
                                "UPDATE operations SET status = ?2, body = ?3,
                                   lease_owner = CASE WHEN ?2 = 'InProgress' THEN lease_owner END,
                                   lease_until = CASE WHEN ?2 = 'InProgress' THEN lease_until ELSE 0 END
                                 WHERE id = ?1 AND lease_owner = ?4 AND lease_epoch = ?5 AND status = 'InProgress'",
                                params![op.id, op.status.as_str(), body, lease.owner, lease.epoch],
                            )
                            .map_err(backend)?;
                        if n != 1 {
                            return Err(StoreError::LeaseLost { id: op.id.clone() });
                        }
                    }
                }
            }
        }
    }
    tx.commit().map_err(backend)
}

fn decode_op(body: &str) -> Result<Operation, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt { key: "operation".into(), reason: e.to_string() })
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Arc<Doc>>, StoreError> {
        let read = async {
            let doc = self.read(|c| {
                c.prepare_cached("SELECT kind, key, uniq, rev, body FROM docs WHERE kind = ?1 AND key = ?2")?
                    .query_row(params![kind.as_str(), key], row_to_doc)
                    .optional()
            })?;
            Ok(doc.map(Arc::new))
        };
        self.cache.read_through(kind, key, read).await
    }

    async fn list(
        &self,
        kind: Kind,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Arc<Doc>>, StoreError> {
        let query = crate::cache::ListKey { kind, prefix: prefix.to_string(), after: after.map(str::to_string), limit };
        let range = crate::key_range(prefix, after);
        let sql = if range.strict {
            "SELECT kind, key, uniq, rev, body FROM docs WHERE kind = ?1 AND key > ?2 AND key < ?3 ORDER BY key LIMIT ?4"
        } else {
            "SELECT kind, key, uniq, rev, body FROM docs WHERE kind = ?1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4"
        };
        let read = async {
            let docs = self.read(|c| {
                c.prepare_cached(sql)?
                    .query_map(params![kind.as_str(), range.lower, range.upper, limit as i64], row_to_doc)?
                    .collect::<Result<Vec<Doc>, _>>()
            })?;
            Ok(docs.into_iter().map(Arc::new).collect())
        };
        self.cache.list_through(query, read).await
    }

    async fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        let written: Vec<(Kind, String)> = batch
            .writes
            .iter()
            .filter_map(|w| match w {
                Write::Put { doc, .. } => Some((doc.kind, doc.key.clone())),
                Write::Delete { kind, key, .. } => Some((*kind, key.clone())),
                _ => None,
            })
            .collect();
        // The cache forgets the written keys before the writer lock is released: every later
        // write (a job worker's claim among them) and every read after it sees the commit.
        let cache = Arc::clone(&self.cache);
        self.write(move |c| {
            let result = apply_batch(c, batch);
            cache.invalidate(written.iter().map(|(k, key)| (*k, key.as_str())));
            result
        })
        .await
    }

    async fn get_operation(&self, id: &str) -> Result<Option<Operation>, StoreError> {
        let body: Option<String> = self.read(|c| {
            c.prepare_cached("SELECT body FROM operations WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()
        })?;
        body.map(|b| decode_op(&b)).transpose()
    }

    async fn list_operations(&self, after: Option<&str>, limit: usize) -> Result<Vec<Operation>, StoreError> {
        let bodies: Vec<String> = self.read(|c| {
            c.prepare_cached("SELECT body FROM operations WHERE id > ?1 ORDER BY id LIMIT ?2")?
                .query_map(params![after.unwrap_or(""), limit as i64], |r| r.get(0))?
                .collect()
        })?;
        bodies.iter().map(|b| decode_op(b)).collect()
    }

    async fn operations_in_progress(&self) -> Result<usize, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT COUNT(*) FROM operations WHERE status = ?1")?
                .query_row([OpStatus::InProgress.as_str()], |r| r.get::<_, i64>(0))
        })
        .map(|n| n as usize)
    }

    async fn keys_in_progress(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT json_extract(body, '$.resource_key') FROM operations WHERE status = ?1")?
                .query_map([OpStatus::InProgress.as_str()], |r| r.get::<_, String>(0))?
                .collect()
        })
    }

    async fn claim_operations(
        &self,
        owner: &str,
        ttl: Duration,
        limit: usize,
        jobs: &[&str],
    ) -> Result<Vec<Operation>, StoreError> {
        let owner = owner.to_string();
        // The job names travel as one JSON array parameter: no SQL is built from values.
        let wanted = serde_json::to_string(jobs).map_err(backend)?;
        self.write(move |c| {
            let now = now_ms();
            let tx = c.transaction().map_err(backend)?;
            let rows: Vec<(String, i64, String)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT id, lease_epoch, body FROM operations WHERE status = ?1 AND lease_until <= ?2
                           AND (json_array_length(?4) = 0
                                OR json_extract(body, '$.job') IN (SELECT value FROM json_each(?4)))
                         ORDER BY rowid LIMIT ?3",
                    )
                    .map_err(backend)?;
                stmt.query_map(params![OpStatus::InProgress.as_str(), now, limit as i64, wanted], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend)?
            };
            let mut out = Vec::with_capacity(rows.len());
            for (id, epoch, body) in rows {
                let mut op = decode_op(&body)?;
                op.attempts += 1;
                let body = serde_json::to_string(&op).map_err(backend)?;
                tx.execute(
                    "UPDATE operations SET lease_owner = ?1, lease_until = ?2, lease_epoch = ?3, body = ?4 WHERE id = ?5",
                    params![owner, now + ttl_ms(ttl), epoch + 1, body, id],
                )
                .map_err(backend)?;
                op.lease = Some(Lease { owner: owner.clone(), epoch: epoch + 1 });
                out.push(op);
            }
            tx.commit().map_err(backend)?;
            Ok(out)
        })
        .await
    }

    async fn renew_lease(&self, id: &str, lease: &Lease, ttl: Duration) -> Result<bool, StoreError> {
        let (id, lease) = (id.to_string(), lease.clone());
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE operations SET lease_until = ?1
                     WHERE id = ?2 AND lease_owner = ?3 AND lease_epoch = ?4 AND status = ?5",
                    params![now_ms() + ttl_ms(ttl), id, lease.owner, lease.epoch, OpStatus::InProgress.as_str()],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn lock(&self, name: &str, mode: LockMode, wait: Duration) -> Result<Option<HeldLock>, StoreError> {
        let lock = Arc::clone(self.locks.lock().map_err(backend)?.entry(name.to_string()).or_default());
        let held = match mode {
            LockMode::Shared => tokio::time::timeout(wait, lock.read_owned()).await.map(HeldLock::new),
            LockMode::Exclusive => tokio::time::timeout(wait, lock.write_owned()).await.map(HeldLock::new),
        };
        Ok(held.ok())
    }

    async fn release_leases(&self, owner: &str) -> Result<usize, StoreError> {
        let owner = owner.to_string();
        self.write(move |c| {
            c.execute("UPDATE operations SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?1", [owner])
                .map_err(backend)
        })
        .await
    }
}

/// Creates `path` (mode 0600) if absent, and takes group and other access away from it and its
/// journal files (SQLite gives new `-wal`/`-shm` files the database file's mode).
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(backend)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(backend(e)),
            _ => {}
        }
    }
    Ok(())
}

/// The store's clock for leases: unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}
