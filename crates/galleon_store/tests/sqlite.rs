//! The SQLite backend against the conformance suite, plus what only a file-backed store can show.

use galleon_store::sqlite::SqliteStore;
use galleon_store::{Batch, Doc, Expect, Kind, MetadataStore, conformance};

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("meta.db")).unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn writes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        let doc =
            Doc { kind: Kind::Gallery, key: "/k".into(), unique: None, rev: 0, body: serde_json::json!({"a": 1}) };
        store.apply(Batch::new().put(doc, Expect::Absent)).await.unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get(Kind::Gallery, "/k").await.unwrap().unwrap().body["a"], 1);
}

#[tokio::test]
async fn released_leases_are_claimable_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("meta.db")).unwrap();
    let op = conformance::operation("op");
    store.apply(Batch::new().operation(op)).await.unwrap();
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(store.claim_operations("dead", hour, 10, &[]).await.unwrap().len(), 1);
    assert!(store.claim_operations("new", hour, 10, &[]).await.unwrap().is_empty());
    assert_eq!(store.release_all_leases().unwrap(), 1);
    assert_eq!(store.claim_operations("new", hour, 10, &[]).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_database_and_its_journal_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
    let store = SqliteStore::open(&dir.path().join("new.db")).unwrap();
    let doc = Doc { kind: Kind::Setting, key: "k".into(), unique: None, rev: 0, body: serde_json::json!({}) };
    store.apply(Batch::new().put(doc, Expect::Absent)).await.unwrap();
    assert_eq!(mode("new.db"), 0o600);
    assert_eq!(mode("new.db-wal"), 0o600);
    // A database an older release left readable by others is closed down when opened.
    drop(store);
    std::fs::set_permissions(dir.path().join("new.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let _store = SqliteStore::open(&dir.path().join("new.db")).unwrap();
    assert_eq!(mode("new.db"), 0o600);
}

/// The database fixture of the current schema, as `sqlite3 .dump` writes it (plus its
/// `user_version`): made by [`write_sqlite_fixture`] from the documents of the API's stored-format
/// fixture and two operations. When a release adds a migration, keep this file: it is then the
/// "older release" the new migration must carry forward.
const FIXTURE: &str = include_str!("fixtures/metadata-schema-3.sql");

/// Loads the fixture into a fresh database file, as the release that wrote it left it.
fn database_from_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("metadata.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(FIXTURE).unwrap();
    drop(conn);
    path
}

#[tokio::test]
async fn a_database_written_by_an_earlier_release_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = database_from_fixture(dir.path());
    let (written, latest) = SqliteStore::schema_versions(&path).unwrap();
    assert_eq!(written, 3, "the fixture is at the schema it was written with");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(SqliteStore::schema_versions(&path).unwrap(), (latest, latest), "migrated to this release's schema");
    // Every document and operation is there and readable.
    let mut total = 0;
    for kind in Kind::ALL {
        total += store.list(kind, "", None, 10_000).await.unwrap().len();
    }
    assert_eq!(total, 11);
    let gallery = store.list(Kind::Gallery, "", None, 10).await.unwrap();
    assert!(gallery[0].body.is_object() && gallery[0].rev > 0);
    let running = store.get_operation("fixture-running").await.unwrap().unwrap();
    assert_eq!(running.status, galleon_store::OpStatus::InProgress);
    assert_eq!(store.get_operation("fixture-done").await.unwrap().unwrap().status, galleon_store::OpStatus::Succeeded);
    // The migrated store takes writes: revisions keep counting up from the fixture's.
    let doc =
        Doc { kind: Kind::Group, key: "/after-upgrade".into(), unique: None, rev: 0, body: serde_json::json!({}) };
    store.apply(Batch::new().put(doc, Expect::Absent)).await.unwrap();
    let max_before = gallery.iter().map(|d| d.rev).max().unwrap();
    assert!(store.get(Kind::Group, "/after-upgrade").await.unwrap().unwrap().rev > max_before);
}

#[tokio::test]
async fn a_database_from_a_newer_release_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = database_from_fixture(dir.path());
    let (_, latest) = SqliteStore::schema_versions(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!("PRAGMA user_version = {}", latest + 1)).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).err().expect("a newer schema is refused").to_string();
    assert!(err.contains(&format!("database schema version {} is newer than this galleon", latest + 1)), "{err}");
    assert!(err.contains("upgrade galleon"), "{err}");
    assert_eq!(SqliteStore::schema_versions(&path).unwrap().0, latest + 1, "nothing was changed");
}

/// Writes the fixture's database (run on demand, then `sqlite3 DB .dump`):
/// `GALLEON_WRITE_SQLITE_FIXTURE=/tmp/f.db cargo test -p galleon_store --test sqlite write_sqlite_fixture`.
#[tokio::test]
async fn write_sqlite_fixture() {
    let Ok(path) = std::env::var("GALLEON_WRITE_SQLITE_FIXTURE") else { return };
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../galleon_api/tests/fixtures/store-2026-12.json");
    let docs: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(source).unwrap()).unwrap();
    let store = SqliteStore::open(std::path::Path::new(&path)).unwrap();
    let mut batch = Batch::new();
    for d in &docs {
        batch = batch.put(galleon_store::conformance::doc_from_fixture(d), Expect::Absent);
    }
    let mut done = conformance::operation("fixture-done");
    done.status = galleon_store::OpStatus::Succeeded;
    done.end_time = Some(time::OffsetDateTime::UNIX_EPOCH);
    store.apply(batch.operation(conformance::operation("fixture-running")).operation(done)).await.unwrap();
}
