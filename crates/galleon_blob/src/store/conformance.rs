//! The conformance suite every [`ChunkStore`] backend must pass, on a fresh empty store.

use bytes::Bytes;

use super::{ChunkError, ChunkStore};
use crate::ChunkId;

/// Runs every check.
pub async fn run_all(store: &dyn ChunkStore) {
    put_get_has_delete(store).await;
    puts_are_idempotent_and_checked(store).await;
    listing(store).await;
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
    let before = std::time::SystemTime::now() - std::time::Duration::from_secs(5);
    assert!(store.put(id, data.clone()).await.unwrap());
    assert!(store.has(id).await.unwrap());
    assert!(store.written_at(id).await.unwrap().unwrap() >= before);
    assert_eq!(store.get(id).await.unwrap(), data);
    store.sync().await.unwrap();
    store.delete(id).await.unwrap();
    assert!(!store.has(id).await.unwrap());
    store.delete(id).await.unwrap();
}

async fn puts_are_idempotent_and_checked(store: &dyn ChunkStore) {
    let (id, data) = chunk(2, 4096);
    assert!(store.put(id, data.clone()).await.unwrap());
    assert!(!store.put(id, data.clone()).await.unwrap(), "second put of the same chunk writes nothing");
    let (other, _) = chunk(3, 4096);
    assert!(matches!(store.put(other, data.clone()).await, Err(ChunkError::Mismatch(_))));
    assert!(!store.has(other).await.unwrap());
    // Tiny and odd-sized chunks (a last partial chunk) are fine.
    let (small, bytes) = chunk(4, 1);
    store.put(small, bytes.clone()).await.unwrap();
    assert_eq!(store.get(small).await.unwrap(), bytes);
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
}
