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
