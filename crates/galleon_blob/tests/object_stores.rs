//! The chunk-store conformance suite on real object-storage services: Azurite (Azure Blob) and an
//! S3 server, as `scripts/objectstores.sh` starts them; plus what only object stores do
//! (server-side copies, stores sharing a container, errors that name the store).

use std::sync::Arc;

use bytes::Bytes;
use galleon_blob::ChunkId;
use galleon_blob::store::conformance::{self, azurite_spec, s3_spec, test_object_stores};
use galleon_blob::store::{ChunkError, ChunkStore, ObjectStoreSpec, ObjectStores};

/// A prefix no other test run uses.
fn fresh(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), uuid_like())
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn chunk(n: u8) -> (ChunkId, Bytes) {
    let data: Vec<u8> = (0..(1usize << 20)).map(|i| (i as u8).wrapping_mul(13).wrapping_add(n)).collect();
    (ChunkId::of(&data), Bytes::from(data))
}

#[tokio::test]
async fn azurite_passes_the_chunk_store_suite() {
    let Some((az, _)) = test_object_stores() else { return };
    let store = ObjectStores::new().open(&azurite_spec(&az, &fresh("suite"))).unwrap();
    store.probe().await.unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn s3_passes_the_chunk_store_suite() {
    let Some((_, s3)) = test_object_stores() else { return };
    let store = ObjectStores::new().open(&s3_spec(&s3, &fresh("suite"))).unwrap();
    store.probe().await.unwrap();
    // scripts/garage.sh says so: Garage accepts a put that `If-None-Match: *` should refuse.
    let rewrites = match std::env::var("GALLEON_TEST_S3_ACCEPTS_REWRITES").as_deref() {
        Ok("1") => conformance::Rewrites::Accepted,
        _ => conformance::Rewrites::Refused,
    };
    conformance::run_all_with(&store, rewrites).await;
}

/// Stores in one container copy server-side; a store under a longer prefix is not listed as ours.
async fn copies_between_stores_of_one_service(spec: impl Fn(&str) -> ObjectStoreSpec) {
    let stores = ObjectStores::new();
    let base = fresh("copy");
    let a = Arc::new(stores.open(&spec(&format!("{base}/a"))).unwrap());
    let b = stores.open(&spec(&format!("{base}/b"))).unwrap();
    let nested = stores.open(&spec(&format!("{base}/a/nested"))).unwrap();
    assert!(a.shares_service_with(&b));
    let (id, data) = chunk(1);
    a.put(id, data.clone()).await.unwrap();
    assert!(b.copy_from(&*a, id).await.unwrap());
    assert_eq!(b.get(id).await.unwrap(), data);
    // A chunk the source lacks is missing, not an I/O failure.
    let (absent, _) = chunk(2);
    assert!(matches!(b.copy_from(&*a, absent).await, Err(ChunkError::NotFound(_))));
    let (other, other_data) = chunk(3);
    nested.put(other, other_data).await.unwrap();
    assert_eq!(a.list().await.unwrap(), vec![id], "a store lists only its own chunks");
    // The copy never read the bytes through this process: a source that cannot be read, but can
    // say where the chunk is, still copies.
    let c = stores.open(&spec(&format!("{base}/c2"))).unwrap();
    assert!(c.copy_from(&Unreadable(a.clone()), id).await.unwrap(), "server-side copy");
    assert_eq!(c.get(id).await.unwrap(), data);
    // A store on another client streams instead (read, verify, write).
    let elsewhere = ObjectStores::new().open(&spec(&format!("{base}/c"))).unwrap();
    assert!(!elsewhere.shares_service_with(&a));
    assert!(elsewhere.copy_from(&*a, id).await.unwrap());
    assert_eq!(elsewhere.get(id).await.unwrap(), data);
}

/// A store whose reads fail: only a server-side copy can take a chunk from it.
struct Unreadable(Arc<galleon_blob::store::ObjectChunkStore>);

#[async_trait::async_trait]
impl ChunkStore for Unreadable {
    async fn put(&self, _: ChunkId, _: Bytes) -> Result<bool, ChunkError> {
        unreachable!()
    }
    async fn get(&self, _: ChunkId) -> Result<Bytes, ChunkError> {
        Err(ChunkError::Io("reads are not allowed here".into()))
    }
    async fn has(&self, id: ChunkId) -> Result<bool, ChunkError> {
        self.0.has(id).await
    }
    async fn delete(&self, _: ChunkId) -> Result<(), ChunkError> {
        unreachable!()
    }
    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError> {
        unreachable!()
    }
    async fn sync(&self) -> Result<(), ChunkError> {
        Ok(())
    }
    async fn written_at(&self, id: ChunkId) -> Result<Option<std::time::SystemTime>, ChunkError> {
        self.0.written_at(id).await
    }
    async fn size(&self, id: ChunkId) -> Result<Option<u64>, ChunkError> {
        self.0.size(id).await
    }
    async fn locate_in(
        &self,
        service: &Arc<dyn galleon_blob::store::ObjectStore>,
        id: ChunkId,
    ) -> Option<galleon_blob::store::ObjectPath> {
        self.0.locate_in(service, id).await
    }
}

#[tokio::test]
async fn azurite_copies_server_side_between_its_stores() {
    let Some((az, _)) = test_object_stores() else { return };
    copies_between_stores_of_one_service(|p| azurite_spec(&az, p)).await;
}

#[tokio::test]
async fn s3_copies_server_side_between_its_stores() {
    let Some((_, s3)) = test_object_stores() else { return };
    copies_between_stores_of_one_service(|p| s3_spec(&s3, p)).await;
}

/// Wrong credentials and an unreachable service fail with an error that names the store and what
/// went wrong, and never the key.
#[tokio::test]
async fn failures_name_the_store_and_reveal_no_secret() {
    let Some((az, _)) = test_object_stores() else { return };
    let mut bad_key = azurite_spec(&az, "badkey");
    bad_key.key = Some("c2VjcmV0LWJ1dC13cm9uZw==".into());
    let err = ObjectStores::new().open(&bad_key).unwrap().probe().await.unwrap_err().to_string();
    assert!(err.contains("az://galleon-test/badkey") && err.contains("access was denied"), "{err}");
    assert!(!err.contains("c2VjcmV0"), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut unreachable = azurite_spec(&format!("http://127.0.0.1:{closed}/devstoreaccount1"), "gone");
    unreachable.retry_timeout = Some(std::time::Duration::from_millis(500));
    let store = Arc::new(ObjectStores::new().open(&unreachable).unwrap());
    let (id, data) = chunk(4);
    let err = store.put(id, data).await.unwrap_err();
    assert!(matches!(err, ChunkError::Io(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("az://galleon-test/gone") && text.contains("could not be reached"), "{text}");
    assert!(!text.contains("127.0.0.1"), "{text}");
}

/// Over HTTPS (rustls with ring): a service whose certificate a private CA signed is used when
/// the store names that CA in `ca_file`, and refused (naming the store) when it does not.
#[tokio::test]
async fn https_stores_trust_their_ca_file_and_nothing_else() {
    let Some(_) = test_object_stores() else { return };
    let endpoint = std::env::var("GALLEON_TEST_AZURITE_TLS_ENDPOINT").expect("scripts/objectstores.sh sets it");
    let ca = std::env::var("GALLEON_TEST_AZURITE_CA").expect("scripts/objectstores.sh sets it");
    let mut spec = azurite_spec(&endpoint, &fresh("tls"));
    spec.allow_http = false;
    spec.ca_file = Some(ca.into());
    let store = ObjectStores::new().open(&spec).unwrap();
    store.probe().await.unwrap();
    conformance::run_all(&store).await;

    spec.ca_file = None;
    spec.retry_timeout = Some(std::time::Duration::from_millis(300));
    let err = ObjectStores::new().open(&spec).unwrap().probe().await.unwrap_err().to_string();
    assert!(err.contains(&spec.url) && err.contains("could not be reached"), "{err}");

    spec.ca_file = Some("/nonexistent/ca.pem".into());
    let err = ObjectStores::new().open(&spec).err().expect("an unreadable ca_file is refused").to_string();
    assert!(err.contains(&spec.url) && err.contains("ca_file"), "{err}");
}
