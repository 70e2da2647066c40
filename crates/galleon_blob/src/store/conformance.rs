//! The conformance suite every [`ChunkStore`] backend must pass, on a fresh empty store.

use bytes::Bytes;

use super::{ChunkError, ChunkStore};
use crate::ChunkId;

/// Runs every check.
pub async fn run_all(store: &dyn ChunkStore) {
    run_all_with(store, Rewrites::Refused).await;
}

/// What a second put of a chunk does on the service behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrites {
    /// Refused (conditional create honoured): the put reports "already there".
    Refused,
    /// Silently accepted (some S3 servers, e.g. Garage, ignore `If-None-Match`): harmless for
    /// content-addressed chunks, and the put cannot know it rewrote.
    Accepted,
}

/// Runs every check, for a service whose handling of rewrites is `rewrites`.
pub async fn run_all_with(store: &dyn ChunkStore, rewrites: Rewrites) {
    put_get_has_delete(store).await;
    puts_are_idempotent_and_checked(store, rewrites).await;
    listing(store).await;
    lacking(store).await;
    concurrent_puts_of_one_chunk(store).await;
}

/// The object stores the tests run against, from the variables `scripts/objectstores.sh start`
/// prints: Azurite's account URL and an S3 server's URL, each with a container or bucket
/// `galleon-test`. `None` (the test is skipped, saying so) when they are not set, unless
/// `GALLEON_REQUIRE_OBJECT_STORES=1`, as `scripts/test.sh` sets.
pub fn test_object_stores() -> Option<(String, String)> {
    let az = std::env::var("GALLEON_TEST_AZURITE_ENDPOINT").ok();
    let s3 = std::env::var("GALLEON_TEST_S3_ENDPOINT").ok();
    match (az, s3) {
        (Some(az), Some(s3)) => Some((az, s3)),
        _ if std::env::var("GALLEON_REQUIRE_OBJECT_STORES").is_ok_and(|v| v == "1") => {
            panic!(
                "GALLEON_REQUIRE_OBJECT_STORES=1 but GALLEON_TEST_AZURITE_ENDPOINT/GALLEON_TEST_S3_ENDPOINT are unset"
            )
        }
        _ => {
            eprintln!("skipped: no test object stores (run scripts/objectstores.sh start DIR)");
            None
        }
    }
}

/// A store on Azurite (`endpoint` from [`test_object_stores`]) under `prefix` of `galleon-test`.
pub fn azurite_spec(endpoint: &str, prefix: &str) -> super::ObjectStoreSpec {
    super::ObjectStoreSpec {
        url: format!("az://galleon-test/{prefix}"),
        account: Some("devstoreaccount1".into()),
        // Azurite's well-known development key (public).
        key: Some("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==".into()),
        endpoint: Some(endpoint.into()),
        allow_http: true,
        ..Default::default()
    }
}

/// A store on the test S3 server under `prefix` of bucket `galleon-test`, with the credentials
/// and region in `GALLEON_TEST_S3_KEY_ID`, `GALLEON_TEST_S3_SECRET`, `GALLEON_TEST_S3_REGION`
/// (moto takes any; `scripts/garage.sh` sets Garage's).
pub fn s3_spec(endpoint: &str, prefix: &str) -> super::ObjectStoreSpec {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    super::ObjectStoreSpec {
        url: format!("s3://galleon-test/{prefix}"),
        endpoint: Some(endpoint.into()),
        access_key_id: Some(env("GALLEON_TEST_S3_KEY_ID", "galleon-test")),
        secret_access_key: Some(env("GALLEON_TEST_S3_SECRET", "galleon-test-secret")),
        region: Some(env("GALLEON_TEST_S3_REGION", "us-east-1")),
        path_style: true,
        allow_http: true,
        ..Default::default()
    }
}

fn chunk(n: u8, len: usize) -> (ChunkId, Bytes) {
    let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(n)).collect();
    (ChunkId::of(&data), Bytes::from(data))
}

async fn put_get_has_delete(store: &dyn ChunkStore) {
    let (id, data) = chunk(1, 1 << 20);
    assert!(!store.has(id).await.unwrap());
    assert!(matches!(store.get(id).await, Err(ChunkError::NotFound(x)) if x == id));
    assert_eq!(store.written_at(id).await.unwrap(), None);
    assert_eq!(store.size(id).await.unwrap(), None);
    let before = std::time::SystemTime::now() - std::time::Duration::from_secs(5);
    assert!(store.put(id, data.clone()).await.unwrap());
    assert!(store.has(id).await.unwrap());
    assert!(store.written_at(id).await.unwrap().unwrap() >= before);
    assert_eq!(store.size(id).await.unwrap(), Some(1 << 20));
    assert_eq!(store.get(id).await.unwrap(), data);
    store.sync().await.unwrap();
    store.delete(id).await.unwrap();
    assert!(!store.has(id).await.unwrap());
    store.delete(id).await.unwrap();
}

async fn puts_are_idempotent_and_checked(store: &dyn ChunkStore, rewrites: Rewrites) {
    let (id, data) = chunk(2, 4096);
    assert!(store.put(id, data.clone()).await.unwrap());
    let again = store.put(id, data.clone()).await.unwrap();
    if rewrites == Rewrites::Refused {
        assert!(!again, "second put of the same chunk writes nothing");
    }
    assert_eq!(store.get(id).await.unwrap(), data, "a second put leaves the chunk whole");
    let (other, _) = chunk(3, 4096);
    assert!(matches!(store.put(other, data.clone()).await, Err(ChunkError::Mismatch(_))));
    assert!(!store.has(other).await.unwrap());
    // Tiny and odd-sized chunks (a last partial chunk) are fine.
    let (small, bytes) = chunk(4, 1);
    store.put(small, bytes.clone()).await.unwrap();
    assert_eq!(store.get(small).await.unwrap(), bytes);
}

async fn lacking(store: &dyn ChunkStore) {
    let ids: Vec<ChunkId> = (30..50).map(|n| chunk(n, 256).0).collect();
    assert_eq!(store.lacking(&[]).await.unwrap(), Vec::<ChunkId>::new());
    assert_eq!(store.lacking(&ids).await.unwrap(), ids, "an empty store lacks them all, in order");
    for n in (30..50).step_by(3) {
        let (id, data) = chunk(n, 256);
        store.put(id, data).await.unwrap();
    }
    let expected: Vec<ChunkId> = (30..50).filter(|n| (n - 30) % 3 != 0).map(|n| chunk(n, 256).0).collect();
    assert_eq!(store.lacking(&ids).await.unwrap(), expected);
    let mut reversed = ids.clone();
    reversed.reverse();
    let mut expected_reversed = expected;
    expected_reversed.reverse();
    assert_eq!(store.lacking(&reversed).await.unwrap(), expected_reversed, "answers keep the order asked");
}

async fn listing(store: &dyn ChunkStore) {
    let mut expected: Vec<ChunkId> = store.list().await.unwrap();
    for n in 10..20 {
        let (id, data) = chunk(n, 512);
        store.put(id, data).await.unwrap();
        expected.push(id);
    }
    let mut listed = store.list().await.unwrap();
    listed.sort();
    expected.sort();
    expected.dedup();
    assert_eq!(listed, expected);
    let usage = store.usage().await.unwrap();
    assert_eq!(usage.chunks, listed.len() as u64, "usage counts what list lists");
    if let Some(bytes) = usage.bytes {
        let mut sum = 0;
        for id in &listed {
            sum += store.get(*id).await.unwrap().len() as u64;
        }
        assert_eq!(bytes, sum, "usage's bytes are the chunks' lengths");
    }
    assert!(!store.backend().is_empty());
}

/// Two writers of one chunk at once (two nodes replicating the same content): both succeed, at
/// most one reports writing it, and the chunk reads back whole.
async fn concurrent_puts_of_one_chunk(store: &dyn ChunkStore) {
    for n in 30..34 {
        let (id, data) = chunk(n, 256 << 10);
        let (a, b) = tokio::join!(store.put(id, data.clone()), store.put(id, data.clone()));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a || b || store.has(id).await.unwrap(), "one of the writers stored it");
        assert_eq!(store.get(id).await.unwrap(), data);
    }
}
