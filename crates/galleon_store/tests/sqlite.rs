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
