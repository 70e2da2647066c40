//! The PostgreSQL backend against the conformance suite, plus what only a shared database shows.
//!
//! Needs a server: `GALLEON_TEST_DATABASE_URL` (scripts/test.sh starts a throwaway cluster with
//! scripts/postgres.sh and sets it). Without it these tests say so and pass, unless
//! `GALLEON_REQUIRE_POSTGRES=1` (set by scripts/test.sh), which makes a missing server a failure.

use std::time::Duration;

use galleon_store::postgres::PgStore;
use galleon_store::{Batch, Doc, Expect, Kind, MetadataStore, conformance};

fn url() -> Option<String> {
    conformance::test_database_url()
}

/// A schema no other test uses.
fn schema(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("t_{name}_{}_{nanos}", std::process::id())
}

fn doc(key: &str) -> Doc {
    Doc { kind: Kind::Gallery, key: key.into(), unique: None, rev: 0, body: serde_json::json!({ "k": key }) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_passes_the_conformance_suite() {
    let Some(url) = url() else { return };
    let store = PgStore::connect_in_schema(&url, &schema("conformance")).await.unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn keys_sort_bytewise_as_in_sqlite_and_rust() {
    let Some(url) = url() else { return };
    let store = PgStore::connect_in_schema(&url, &schema("collation")).await.unwrap();
    // A linguistic collation puts `a_b` before `a-b`; bytewise order does not, and paging
    // cursors and prefix ranges depend on the same order everywhere.
    let mut keys = vec!["/s/a_b", "/s/a-b", "/s/a.b", "/s/a/b", "/s/A", "/s/é", "/s/z", "/s/a~", "/s/a\u{10000}"];
    let batch = keys.iter().fold(Batch::new(), |b, k| b.put(doc(k), Expect::Absent));
    store.apply(batch).await.unwrap();
    keys.sort();
    let listed: Vec<String> =
        store.list(Kind::Gallery, "/s/", None, 100).await.unwrap().iter().map(|d| d.key.clone()).collect();
    assert_eq!(listed, keys);
    let prefixed: Vec<String> =
        store.list(Kind::Gallery, "/s/a", None, 100).await.unwrap().iter().map(|d| d.key.clone()).collect();
    let expected: Vec<&str> = keys.iter().copied().filter(|k| k.starts_with("/s/a")).collect();
    assert_eq!(prefixed, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_migrate_once_and_share_writes() {
    let Some(url) = url() else { return };
    let schema = schema("nodes");
    let opens = (0..4).map(|_| PgStore::connect_in_schema(&url, &schema));
    let nodes: Vec<PgStore> = futures_util::future::join_all(opens).await.into_iter().map(Result::unwrap).collect();
    // What one node writes, every other reads at once: no node-local cache.
    nodes[0].apply(Batch::new().put(doc("/n/g"), Expect::Absent)).await.unwrap();
    for node in &nodes[1..] {
        let got = node.get(Kind::Gallery, "/n/g").await.unwrap().expect("written by another node");
        assert_eq!(got.body["k"], "/n/g");
    }
    let rev = nodes[1].get(Kind::Gallery, "/n/g").await.unwrap().unwrap().rev;
    nodes[2].apply(Batch::new().delete(Kind::Gallery, "/n/g", Expect::Rev(rev))).await.unwrap();
    assert!(nodes[3].get(Kind::Gallery, "/n/g").await.unwrap().is_none());
}

#[tokio::test]
async fn an_unreachable_database_is_named_and_its_password_is_not() {
    let started = std::time::Instant::now();
    // Port 1 on loopback: refused at once.
    let err = PgStore::connect("postgres://galleon:s3cret-pw@127.0.0.1:1/galleon").await.err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("127.0.0.1") && text.contains("port 1"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = PgStore::connect("mysql://nope").await.err().expect("not a postgres URL");
    assert!(err.to_string().contains("database URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_content_lock_spans_nodes_and_dies_with_its_node() {
    use galleon_store::LockMode;
    let Some(url) = url() else { return };
    let schema = schema("locks");
    let a = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    let b = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    let short = Duration::from_millis(300);
    let shared = a.lock("content", LockMode::Shared, short).await.unwrap().expect("free");
    assert!(b.lock("content", LockMode::Exclusive, short).await.unwrap().is_none(), "A's job blocks B's collector");
    assert!(b.lock("content", LockMode::Shared, short).await.unwrap().is_some(), "jobs on both nodes run together");
    // A node that goes away (its session ends) frees what it held.
    drop(shared);
    drop(a);
    let gc = b.lock("content", LockMode::Exclusive, Duration::from_secs(10)).await.unwrap();
    assert!(gc.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_queued_on_one_node_wakes_the_others() {
    let Some(url) = url() else { return };
    let schema = schema("Notify");
    let a = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    let b = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    let signal = b.job_signal().expect("PostgreSQL announces work");
    // Drain the wake-up the listener gives when it starts.
    let _ = tokio::time::timeout(Duration::from_millis(200), signal.notified()).await;
    assert!(tokio::time::timeout(Duration::from_millis(300), signal.notified()).await.is_err(), "nothing queued yet");
    let op = conformance::operation("queued");
    let mut other = op.clone();
    other.id = "never".into();
    let started = std::time::Instant::now();
    a.apply(Batch::new().operation(op)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(2), signal.notified()).await.expect("B heard A's new job");
    eprintln!("woken {:?} after the commit", started.elapsed());
    // A batch that fails queues nothing and wakes nobody.
    let failing = Batch::new().operation(other).check(Kind::Gallery, "/none", Expect::Rev(1));
    assert!(a.apply(failing).await.is_err());
    assert!(tokio::time::timeout(Duration::from_millis(300), signal.notified()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cannot_finish_after_its_shared_lock_session_was_lost() {
    use galleon_store::{LockMode, OpStatus, StoreError};
    let Some(url) = url() else { return };
    let schema = schema("lostlock");
    let store = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    store.apply(Batch::new().operation(conformance::operation("job"))).await.unwrap();
    let mut claimed = store.claim_operations("n1", Duration::from_secs(60), 1, &[]).await.unwrap().remove(0);
    let held = store.lock("content", LockMode::Shared, Duration::from_secs(5)).await.unwrap().unwrap();
    // The server ends the lock's session (a restart, an operator, a network cut it noticed): the
    // lock is gone, and garbage collection elsewhere may run.
    let (admin, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let name = format!("galleon lock galleon_jobs_{}", schema.to_ascii_lowercase());
    let killed = admin
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&name])
        .await
        .unwrap();
    assert_eq!(killed, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    claimed.status = OpStatus::Succeeded;
    let refused = store.apply(Batch::new().operation(claimed.clone())).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
    assert_eq!(store.get_operation("job").await.unwrap().unwrap().status, OpStatus::InProgress);
    // Under a new lock, the job finishes.
    drop(held);
    let _again = store.lock("content", LockMode::Shared, Duration::from_secs(5)).await.unwrap().unwrap();
    store.apply(Batch::new().operation(claimed)).await.unwrap();
    assert_eq!(store.get_operation("job").await.unwrap().unwrap().status, OpStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_kinds_follow_other_nodes_writes() {
    let Some(url) = url() else { return };
    let schema = schema("cache");
    let a = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    let b = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    let group = |n: i64| Doc {
        kind: Kind::Group,
        key: "/s/rg".into(),
        unique: None,
        rev: 0,
        body: serde_json::json!({ "n": n }),
    };
    a.apply(Batch::new().put(group(1), Expect::Absent)).await.unwrap();
    // Both read it (and cache it).
    assert_eq!(a.get(Kind::Group, "/s/rg").await.unwrap().unwrap().body["n"], 1);
    let on_b = b.get(Kind::Group, "/s/rg").await.unwrap().unwrap();
    assert_eq!(b.list(Kind::Group, "/s/", None, 10).await.unwrap().len(), 1);
    // B writes: its own cache forgets at once; A's within moments (NOTIFY).
    b.apply(Batch::new().put(group(2), Expect::Rev(on_b.rev))).await.unwrap();
    assert_eq!(b.get(Kind::Group, "/s/rg").await.unwrap().unwrap().body["n"], 2);
    let started = std::time::Instant::now();
    loop {
        if a.get(Kind::Group, "/s/rg").await.unwrap().unwrap().body["n"] == 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "A still serves the old group");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("A saw B's write after {:?}", started.elapsed());
    // A delete reaches lists too.
    let rev = a.get(Kind::Group, "/s/rg").await.unwrap().unwrap().rev;
    a.apply(Batch::new().delete(Kind::Group, "/s/rg", Expect::Rev(rev))).await.unwrap();
    let started = std::time::Instant::now();
    while !b.list(Kind::Group, "/s/", None, 10).await.unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(2), "B still lists the deleted group");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_database_from_a_newer_release_is_refused() {
    let Some(url) = url() else { return };
    let schema = schema("newer");
    drop(PgStore::connect_in_schema(&url, &schema).await.unwrap());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(&format!("UPDATE {schema}.schema_version SET version = version + 1")).await.unwrap();
    let err = PgStore::connect_in_schema(&url, &schema).await.err().expect("a newer schema is refused").to_string();
    assert!(err.contains("is newer than this galleon") && err.contains("upgrade galleon"), "{err}");
}
