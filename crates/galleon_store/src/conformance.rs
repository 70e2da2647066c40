//! The conformance suite every [`MetadataStore`] backend must pass. Each backend's tests call
//! [`run_all`] on a fresh, empty store.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use serde_json::json;
use time::OffsetDateTime;

use crate::{Batch, Doc, Expect, Kind, LockMode, MetadataStore, OpStatus, Operation, StoreError};

/// The test PostgreSQL cluster's URL (`GALLEON_TEST_DATABASE_URL`, set by scripts/test.sh), or
/// `None` (the caller skips, saying so) when there is none; with `GALLEON_REQUIRE_POSTGRES=1` a
/// missing cluster is a failure instead.
pub fn test_database_url() -> Option<String> {
    match std::env::var("GALLEON_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("GALLEON_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("GALLEON_REQUIRE_POSTGRES=1 but GALLEON_TEST_DATABASE_URL is not set")
        }
        _ => {
            eprintln!("skipped: set GALLEON_TEST_DATABASE_URL to run the PostgreSQL tests");
            None
        }
    }
}

/// Runs every check, in order, on one fresh store.
pub async fn run_all(store: &dyn MetadataStore) {
    put_get_and_revisions(store).await;
    preconditions_and_atomicity(store).await;
    unique_keys_within_a_parent(store).await;
    prefix_listing(store).await;
    operations_and_leases(store).await;
    concurrent_claims_are_disjoint(store).await;
    races(store).await;
    named_locks(store).await;
}

fn doc(kind: Kind, key: &str, unique: Option<&str>, n: i64) -> Doc {
    Doc { kind, key: key.into(), unique: unique.map(Into::into), rev: 0, body: json!({ "n": n, "Name": key }) }
}

async fn put_get_and_revisions(store: &dyn MetadataStore) {
    assert!(store.get(Kind::Gallery, "/a/g1").await.unwrap().is_none());
    store.apply(Batch::new().put(doc(Kind::Gallery, "/a/g1", None, 1), Expect::Absent)).await.unwrap();
    let got = store.get(Kind::Gallery, "/a/g1").await.unwrap().unwrap();
    assert_eq!(got.body, json!({ "n": 1, "Name": "/a/g1" }));
    let first = got.rev;
    assert!(first > 0);
    store.apply(Batch::new().put(doc(Kind::Gallery, "/a/g1", None, 2), Expect::Rev(first))).await.unwrap();
    let got = store.get(Kind::Gallery, "/a/g1").await.unwrap().unwrap();
    assert_eq!(got.body["n"].as_i64(), Some(2));
    assert!(got.rev > first);
    let second = got.rev;
    // Kinds are separate.
    assert!(store.get(Kind::Image, "/a/g1").await.unwrap().is_none());
    store.apply(Batch::new().delete(Kind::Gallery, "/a/g1", Expect::Rev(second))).await.unwrap();
    assert!(store.get(Kind::Gallery, "/a/g1").await.unwrap().is_none());
    // Deleting what is absent is fine without a precondition.
    store.apply(Batch::new().delete(Kind::Gallery, "/a/g1", Expect::Any)).await.unwrap();
    // Created again, the document never repeats a revision of its earlier life: a write that
    // read the old one cannot land on the new one.
    store.apply(Batch::new().put(doc(Kind::Gallery, "/a/g1", None, 3), Expect::Absent)).await.unwrap();
    let again = store.get(Kind::Gallery, "/a/g1").await.unwrap().unwrap();
    assert!(again.rev > second, "revision {} reused after {second}", again.rev);
    for stale in [first, second] {
        let err = store.apply(Batch::new().put(doc(Kind::Gallery, "/a/g1", None, 4), Expect::Rev(stale))).await;
        assert!(matches!(err, Err(StoreError::Conflict { .. })), "{err:?}");
    }
    store.apply(Batch::new().delete(Kind::Gallery, "/a/g1", Expect::Any)).await.unwrap();
}

async fn preconditions_and_atomicity(store: &dyn MetadataStore) {
    store.apply(Batch::new().put(doc(Kind::Group, "/b/rg", None, 1), Expect::Absent)).await.unwrap();
    let err = store.apply(Batch::new().put(doc(Kind::Group, "/b/rg", None, 2), Expect::Absent)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { ref key } if key == "/b/rg"), "{err:?}");
    let err = store.apply(Batch::new().put(doc(Kind::Group, "/b/rg", None, 2), Expect::Rev(7))).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }));
    let err = store.apply(Batch::new().delete(Kind::Group, "/b/none", Expect::Rev(1))).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }));
    // A batch whose second write fails writes nothing.
    let batch = Batch::new()
        .put(doc(Kind::Gallery, "/b/rg/g", None, 1), Expect::Absent)
        .put(doc(Kind::Group, "/b/rg", None, 3), Expect::Rev(99));
    assert!(store.apply(batch).await.is_err());
    assert!(store.get(Kind::Gallery, "/b/rg/g").await.unwrap().is_none());
    assert_eq!(store.get(Kind::Group, "/b/rg").await.unwrap().unwrap().body["n"], 1);
    // Checks on documents the batch does not write, and on children.
    let rg = store.get(Kind::Group, "/b/rg").await.unwrap().unwrap().rev;
    assert!(store.apply(Batch::new().check(Kind::Group, "/b/rg", Expect::Rev(rg))).await.is_ok());
    assert!(store.apply(Batch::new().check(Kind::Group, "/b/rg", Expect::Absent)).await.is_err());
    store.apply(Batch::new().put(doc(Kind::Gallery, "/b/rg/g1", None, 1), Expect::Absent)).await.unwrap();
    let err = store
        .apply(Batch::new().check_empty(Kind::Gallery, "/b/rg/").delete(Kind::Group, "/b/rg", Expect::Any))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { ref key } if key == "/b/rg/g1"), "{err:?}");
    assert!(store.get(Kind::Group, "/b/rg").await.unwrap().is_some());
    assert!(store.apply(Batch::new().check_empty(Kind::Image, "/b/rg/")).await.is_ok());
}

async fn unique_keys_within_a_parent(store: &dyn MetadataStore) {
    let put = |key: &str, u: &str| Batch::new().put(doc(Kind::Image, key, Some(u), 1), Expect::Any);
    store.apply(put("/c/g1/images/i1", "p/o/s")).await.unwrap();
    let err = store.apply(put("/c/g1/images/i2", "p/o/s")).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { ref unique } if unique == "p/o/s"), "{err:?}");
    assert!(store.get(Kind::Image, "/c/g1/images/i2").await.unwrap().is_none());
    // Rewriting the holder keeps its key; another parent may use the same triple.
    store.apply(put("/c/g1/images/i1", "p/o/s")).await.unwrap();
    store.apply(put("/c/g2/images/i1", "p/o/s")).await.unwrap();
    // Freed when the holder is deleted.
    store.apply(Batch::new().delete(Kind::Image, "/c/g1/images/i1", Expect::Any)).await.unwrap();
    store.apply(put("/c/g1/images/i2", "p/o/s")).await.unwrap();
}

async fn prefix_listing(store: &dyn MetadataStore) {
    let mut batch = Batch::new();
    for key in ["/d/rg1/g/b", "/d/rg1/g/a", "/d/rg1/g/c", "/d/rg2/g/a", "/d/rg10/g/a"] {
        batch = batch.put(doc(Kind::Gallery, key, None, 0), Expect::Absent);
    }
    batch = batch.put(doc(Kind::Image, "/d/rg1/g/a/images/x", None, 0), Expect::Absent);
    store.apply(batch).await.unwrap();
    let keys = |docs: Vec<Arc<Doc>>| docs.iter().map(|d| d.key.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(store.list(Kind::Gallery, "/d/rg1/", None, 10).await.unwrap()),
        ["/d/rg1/g/a", "/d/rg1/g/b", "/d/rg1/g/c"]
    );
    assert_eq!(keys(store.list(Kind::Gallery, "/d/rg1/", None, 2).await.unwrap()), ["/d/rg1/g/a", "/d/rg1/g/b"]);
    assert_eq!(keys(store.list(Kind::Gallery, "/d/rg1/", Some("/d/rg1/g/b"), 10).await.unwrap()), ["/d/rg1/g/c"]);
    assert_eq!(store.list(Kind::Gallery, "/d/", None, 100).await.unwrap().len(), 5);
    assert_eq!(keys(store.list(Kind::Image, "/d/", None, 100).await.unwrap()), ["/d/rg1/g/a/images/x"]);
    assert!(store.list(Kind::Gallery, "/zz/", None, 10).await.unwrap().is_empty());
    // A list read again after a write sees it (and after a delete, does not).
    store.apply(Batch::new().put(doc(Kind::Gallery, "/d/rg1/g/bb", None, 0), Expect::Absent)).await.unwrap();
    assert_eq!(
        keys(store.list(Kind::Gallery, "/d/rg1/", None, 10).await.unwrap()),
        ["/d/rg1/g/a", "/d/rg1/g/b", "/d/rg1/g/bb", "/d/rg1/g/c"]
    );
    store.apply(Batch::new().delete(Kind::Gallery, "/d/rg1/g/a", Expect::Any)).await.unwrap();
    assert_eq!(
        keys(store.list(Kind::Gallery, "/d/rg1/", None, 10).await.unwrap()),
        ["/d/rg1/g/b", "/d/rg1/g/bb", "/d/rg1/g/c"]
    );
}

/// An in-progress `provision` operation with id `id` (for backend tests).
pub fn operation(id: &str) -> Operation {
    Operation {
        id: id.into(),
        subscription: "s".into(),
        location: "eastus".into(),
        job: "provision".into(),
        resource_key: format!("/e/{id}"),
        status: OpStatus::InProgress,
        error: None,
        start_time: OffsetDateTime::UNIX_EPOCH,
        end_time: None,
        attempts: 0,
        payload: json!({ "x": 1 }),
        result: None,
        lease: None,
    }
}

const HOUR: Duration = Duration::from_secs(3600);

async fn operations_and_leases(store: &dyn MetadataStore) {
    assert_eq!(store.operations_in_progress().await.unwrap(), 0);
    store.apply(Batch::new().operation(operation("op1")).operation(operation("op2"))).await.unwrap();
    assert_eq!(store.operations_in_progress().await.unwrap(), 2);
    let mut keys = store.keys_in_progress().await.unwrap();
    keys.sort();
    assert_eq!(keys, ["/e/op1", "/e/op2"]);
    assert_eq!(store.get_operation("op1").await.unwrap().unwrap().payload, json!({ "x": 1 }));
    assert!(store.get_operation("nope").await.unwrap().is_none());

    let claimed = store.claim_operations("w1", HOUR, 10, &[]).await.unwrap();
    assert_eq!(claimed.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["op1", "op2"]);
    assert!(claimed.iter().all(|o| o.attempts == 1));
    assert!(claimed.iter().all(|o| o.lease.as_ref().is_some_and(|l| l.owner == "w1")));
    assert_eq!(store.get_operation("op1").await.unwrap().unwrap().attempts, 1);
    // Leased: nobody else gets them until the lease runs out.
    assert!(store.claim_operations("w2", HOUR, 10, &[]).await.unwrap().is_empty());
    // op1 finishes under its claim.
    let mut done = claimed[0].clone();
    done.status = OpStatus::Succeeded;
    done.end_time = Some(OffsetDateTime::UNIX_EPOCH);
    store.apply(Batch::new().operation(done)).await.unwrap();
    assert_eq!(store.get_operation("op1").await.unwrap().unwrap().status, OpStatus::Succeeded);
    assert_eq!(store.operations_in_progress().await.unwrap(), 1);
    assert!(!store.renew_lease("op1", claimed[0].lease.as_ref().unwrap(), HOUR).await.unwrap(), "op1 is finished");

    // op2's lease runs out; another worker takes it over under a later claim.
    let first = claimed[1].lease.clone().unwrap();
    assert!(store.renew_lease("op2", &first, Duration::ZERO).await.unwrap());
    let again = store.claim_operations("w2", HOUR, 10, &[]).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id.as_str(), again[0].attempts), ("op2", 2));
    let second = again[0].lease.clone().unwrap();
    assert_eq!((second.owner.as_str(), second.epoch), ("w2", first.epoch + 1));

    // The first claim is fenced: it cannot renew, and its late result fails with the whole
    // batch it came in, leaving the operation to its new holder.
    assert!(!store.renew_lease("op2", &first, HOUR).await.unwrap());
    let mut late = claimed[1].clone();
    late.status = OpStatus::Succeeded;
    let batch = Batch::new().put(doc(Kind::Gallery, "/e/late", None, 1), Expect::Absent).operation(late);
    let err = store.apply(batch).await.unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost { ref id } if id == "op2"), "{err:?}");
    assert!(store.get(Kind::Gallery, "/e/late").await.unwrap().is_none(), "a fenced batch writes nothing");
    assert_eq!(store.get_operation("op2").await.unwrap().unwrap().status, OpStatus::InProgress);
    // The same owner's earlier claim is fenced too: the epoch, not the name, decides.
    let stale = crate::Lease { owner: "w2".into(), epoch: first.epoch };
    assert!(!store.renew_lease("op2", &stale, HOUR).await.unwrap());

    // A progress write under the live claim keeps the lease.
    let mut progress = again[0].clone();
    progress.payload = json!({ "x": 2 });
    store.apply(Batch::new().operation(progress)).await.unwrap();
    assert_eq!(store.get_operation("op2").await.unwrap().unwrap().payload, json!({ "x": 2 }));
    assert!(store.renew_lease("op2", &second, HOUR).await.unwrap());
    assert!(store.claim_operations("w3", HOUR, 10, &[]).await.unwrap().is_empty());

    // A node frees only its own leases.
    assert_eq!(store.release_leases("w9").await.unwrap(), 0);
    assert_eq!(store.release_leases("w2").await.unwrap(), 1);
    let taken = store.claim_operations("w3", HOUR, 10, &[]).await.unwrap();
    assert_eq!(taken.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["op2"]);

    // Claims can ask for some kinds of job only.
    let mut content = operation("op3");
    content.job = "build_version".into();
    store.apply(Batch::new().operation(content).operation(operation("op4"))).await.unwrap();
    let only = store.claim_operations("w4", HOUR, 10, &["build_version", "build_disk"]).await.unwrap();
    assert_eq!(only.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["op3"]);
    let rest = store.claim_operations("w4", HOUR, 10, &["provision"]).await.unwrap();
    assert_eq!(rest.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["op4"]);
    let hostile = store.claim_operations("w5", HOUR, 10, &["') OR 1=1 --"]).await.unwrap();
    assert!(hostile.is_empty(), "job names are values, never SQL");
    // Listed in id order, in pages.
    let first = store.list_operations(None, 2).await.unwrap();
    assert_eq!(first.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["op1", "op2"]);
    let next = store.list_operations(Some("op2"), 10).await.unwrap();
    assert_eq!(next.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["op3", "op4"]);
    assert_eq!(next[0].attempts, 1);
    for op in only.into_iter().chain(rest).chain(taken) {
        let mut done = op;
        done.status = OpStatus::Succeeded;
        store.apply(Batch::new().operation(done)).await.unwrap();
    }
    assert_eq!(store.operations_in_progress().await.unwrap(), 0);
}

/// Workers claiming at once take disjoint sets, and together take everything.
async fn concurrent_claims_are_disjoint(store: &dyn MetadataStore) {
    let batch = (0..60).fold(Batch::new(), |b, i| b.operation(operation(&format!("many{i:02}"))));
    store.apply(batch).await.unwrap();
    let worker = |name: String| async move {
        let mut mine = vec![];
        loop {
            let got = store.claim_operations(&name, HOUR, 3, &[]).await.unwrap();
            if got.is_empty() {
                return mine;
            }
            mine.extend(got.into_iter().map(|o| o.id));
        }
    };
    let all: Vec<Vec<String>> = join_all((0..4).map(|w| worker(format!("claimer{w}")))).await;
    let mut ids: Vec<String> = all.into_iter().flatten().collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "an operation was claimed twice");
    assert_eq!(ids.len(), 60);
}

/// What only a store with several writers can get wrong; on SQLite they pass trivially.
async fn races(store: &dyn MetadataStore) {
    // 8 conditional writes of one document: exactly one wins.
    store.apply(Batch::new().put(doc(Kind::Gallery, "/r/g", None, 0), Expect::Absent)).await.unwrap();
    let rev = store.get(Kind::Gallery, "/r/g").await.unwrap().unwrap().rev;
    let writes = (0..8).map(|i| store.apply(Batch::new().put(doc(Kind::Gallery, "/r/g", None, i), Expect::Rev(rev))));
    let results = join_all(writes).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict { .. }))), "{results:?}");

    // 8 creates of one publisher/offer/SKU under one gallery: exactly one.
    let creates = (0..8).map(|i| {
        store.apply(Batch::new().put(doc(Kind::Image, &format!("/r/g/images/i{i}"), Some("p/o/s"), i), Expect::Absent))
    });
    let results = join_all(creates).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || matches!(r, Err(StoreError::Duplicate { .. }))), "{results:?}");

    // A parent deleted only when childless, racing a child written only while the parent is
    // unchanged: never an orphan.
    for i in 0..100 {
        let parent = format!("/r/p{i}");
        store.apply(Batch::new().put(doc(Kind::Group, &parent, None, 0), Expect::Absent)).await.unwrap();
        let rev = store.get(Kind::Group, &parent).await.unwrap().unwrap().rev;
        let delete = store.apply(Batch::new().check_empty(Kind::Gallery, format!("{parent}/")).delete(
            Kind::Group,
            &parent,
            Expect::Rev(rev),
        ));
        let child = store.apply(
            Batch::new()
                .check(Kind::Group, &parent, Expect::Rev(rev))
                .put(doc(Kind::Gallery, &format!("{parent}/g"), None, 0), Expect::Absent),
        );
        let (deleted, created) = tokio::join!(delete, child);
        let parent_there = store.get(Kind::Group, &parent).await.unwrap().is_some();
        let child_there = store.get(Kind::Gallery, &format!("{parent}/g")).await.unwrap().is_some();
        assert!(!child_there || parent_there, "orphan at round {i}: delete {deleted:?}, create {created:?}");
        assert_eq!(deleted.is_ok(), !parent_there);
        assert_eq!(created.is_ok(), child_there);
    }
}

/// Named locks: shared holders together, an exclusive one alone; names are independent.
async fn named_locks(store: &dyn MetadataStore) {
    let short = Duration::from_millis(200);
    // A dropped holder may be released asynchronously (a database session closing).
    let long = Duration::from_secs(10);
    let a = store.lock("content", LockMode::Shared, short).await.unwrap().expect("free");
    let b = store.lock("content", LockMode::Shared, short).await.unwrap().expect("shared twice");
    assert!(store.lock("content", LockMode::Exclusive, short).await.unwrap().is_none(), "held shared");
    drop(a);
    assert!(store.lock("content", LockMode::Exclusive, short).await.unwrap().is_none(), "still held shared");
    drop(b);
    let x = store.lock("content", LockMode::Exclusive, long).await.unwrap().expect("released");
    assert!(store.lock("content", LockMode::Shared, short).await.unwrap().is_none(), "held exclusively");
    assert!(store.lock("content", LockMode::Exclusive, short).await.unwrap().is_none(), "held exclusively");
    let other = store.lock("scrub/eastus", LockMode::Exclusive, short).await.unwrap();
    assert!(other.is_some(), "another name is another lock");
    assert!(store.lock("scrub/eastus", LockMode::Exclusive, short).await.unwrap().is_none());
    drop((x, other));
    assert!(store.lock("content", LockMode::Shared, long).await.unwrap().is_some());
    assert!(store.lock("scrub/eastus", LockMode::Exclusive, long).await.unwrap().is_some());
}

/// A document from the JSON form the stored-format fixtures use
/// (`{"kind", "key", "unique", "body"}`), revision 0 (the store sets it).
pub fn doc_from_fixture(d: &serde_json::Value) -> crate::Doc {
    crate::Doc {
        kind: crate::Kind::parse(d["kind"].as_str().unwrap_or_default()).expect("a fixture names a known kind"),
        key: d["key"].as_str().unwrap_or_default().to_string(),
        unique: d["unique"].as_str().map(str::to_string),
        rev: 0,
        body: d["body"].clone(),
    }
}
