//! Schema migrations for PostgreSQL, embedded and applied in order; the `schema_version` table
//! records how far. Nodes may start together: the whole run holds a transaction-scoped advisory
//! lock, so one node migrates and the others find the work done. Only ever append.

use tokio_postgres::Client;

use crate::StoreError;

/// The advisory lock key migrations run under ("galleon" in ASCII, plus one).
pub(super) const MIGRATION_LOCK: i64 = 0x67_616c_6c65_6f6e + 1;

const MIGRATIONS: &[&str] = &[
    // 1: documents, revisions and operations. Keys sort bytewise (COLLATE "C"), as in SQLite
    // and Rust, so prefix ranges, list order and paging cursors agree across backends.
    r#"CREATE TABLE docs (
        kind   text NOT NULL,
        key    text COLLATE "C" NOT NULL,
        parent text COLLATE "C" NOT NULL,
        uniq   text,
        rev    bigint NOT NULL,
        body   text NOT NULL,
        PRIMARY KEY (kind, key)
     );
     CREATE UNIQUE INDEX docs_unique ON docs (kind, parent, uniq) WHERE uniq IS NOT NULL;
     CREATE SEQUENCE revisions;
     CREATE TABLE operations (
        seq          bigserial NOT NULL,
        id           text PRIMARY KEY,
        status       text NOT NULL,
        job          text NOT NULL,
        resource_key text NOT NULL,
        attempts     integer NOT NULL DEFAULT 0,
        lease_owner  text,
        lease_until  timestamptz NOT NULL DEFAULT 'epoch',
        lease_epoch  bigint NOT NULL DEFAULT 0,
        body         text NOT NULL
     );
     CREATE INDEX operations_due ON operations (seq) WHERE status = 'InProgress';
     CREATE INDEX operations_owner ON operations (lease_owner) WHERE lease_owner IS NOT NULL;"#,
];

pub(super) async fn apply(client: &mut Client) -> Result<(), StoreError> {
    let err = |e: tokio_postgres::Error| StoreError::Backend(format!("migration: {e}"));
    let tx = client.transaction().await.map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(err)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)").await.map_err(err)?;
    let current: i32 =
        tx.query_opt("SELECT version FROM schema_version", &[]).await.map_err(err)?.map_or(0, |row| row.get(0));
    let current = current as usize;
    if current > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this galleon ({}); upgrade galleon",
            MIGRATIONS.len()
        )));
    }
    for sql in &MIGRATIONS[current..] {
        tx.batch_execute(sql).await.map_err(err)?;
    }
    let version = MIGRATIONS.len() as i32;
    tx.execute("DELETE FROM schema_version", &[]).await.map_err(err)?;
    tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&version]).await.map_err(err)?;
    tx.commit().await.map_err(err)
}
