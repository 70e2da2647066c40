//! Schema migrations, embedded and applied in order; `PRAGMA user_version` records how far.
//! Only ever append: a released migration is never edited.

use rusqlite::Connection;

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: documents and operations.
    "CREATE TABLE docs (
        kind   TEXT NOT NULL,
        key    TEXT NOT NULL,
        parent TEXT NOT NULL,
        uniq   TEXT,
        rev    INTEGER NOT NULL,
        body   TEXT NOT NULL,
        PRIMARY KEY (kind, key)
     ) WITHOUT ROWID;
     CREATE UNIQUE INDEX docs_unique ON docs (kind, parent, uniq) WHERE uniq IS NOT NULL;
     CREATE TABLE operations (
        id          TEXT PRIMARY KEY,
        status      TEXT NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER NOT NULL DEFAULT 0,
        body        TEXT NOT NULL
     );
     CREATE INDEX operations_pending ON operations (status, lease_until);",
    // 2: revisions from one counter, never reused after a delete.
    "CREATE TABLE revisions (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
     INSERT INTO revisions (id, last) SELECT 1, COALESCE(MAX(rev), 0) FROM docs;",
    // 3: fenced leases: each claim raises the epoch; lease ends in milliseconds.
    "ALTER TABLE operations ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
     UPDATE operations SET lease_until = lease_until * 1000;",
];

/// The schema version this galleon writes.
pub(super) const LATEST: usize = MIGRATIONS.len();

pub(super) fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let err = |e: rusqlite::Error| StoreError::Backend(format!("migration: {e}"));
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).map_err(err)? as usize;
    if current > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this galleon ({}); upgrade galleon",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1)).map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}
