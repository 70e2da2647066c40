//! Both chunk store backends against the conformance suite, and what only files can show.

use bytes::Bytes;
use galleon_blob::ChunkId;
use galleon_blob::store::{ChunkError, ChunkStore, LocalStore, MemoryStore, conformance};

#[tokio::test]
async fn memory_store_conforms() {
    conformance::run_all(&MemoryStore::new()).await;
}

#[tokio::test]
async fn local_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run_all(&LocalStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn object_store_backends_conform() {
    use std::sync::Arc;

    use galleon_blob::store::ObjectChunkStore;
    use object_store::local::LocalFileSystem;
    use object_store::memory::InMemory;

    conformance::run_all(&ObjectChunkStore::new(Arc::new(InMemory::new()), "region/chunks")).await;
    let dir = tempfile::tempdir().unwrap();
    let fs = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    conformance::run_all(&ObjectChunkStore::new(Arc::new(fs), "chunks")).await;
}

#[tokio::test]
async fn corrupted_chunks_are_never_served() {
    let data = Bytes::from(vec![7u8; 4096]);
    let id = ChunkId::of(&data);
    let memory = MemoryStore::new();
    memory.put(id, data.clone()).await.unwrap();
    memory.overwrite_unchecked(id, Bytes::from(vec![8u8; 4096]));
    assert!(matches!(memory.get(id).await, Err(ChunkError::Corrupt(x)) if x == id));

    let dir = tempfile::tempdir().unwrap();
    let local = LocalStore::open(dir.path()).unwrap();
    local.put(id, data).await.unwrap();
    let mut bytes = std::fs::read(local.chunk_path(id)).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(local.chunk_path(id), bytes).unwrap();
    assert!(matches!(local.get(id).await, Err(ChunkError::Corrupt(_))));
}

#[tokio::test]
async fn interrupted_writes_are_cleared_on_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(LocalStore::open(dir.path()).unwrap());
    std::fs::write(dir.path().join("tmp").join("half-written"), b"x").unwrap();
    // A write of a process that is gone (pid 0 never names one) is cleared; one of a live
    // process (pid 1 always runs) is its own, and stays while it is recent.
    let dead = format!("{}.0.1", "ab".repeat(32));
    let live = format!("{}.1.1", "cd".repeat(32));
    for name in [&dead, &live] {
        std::fs::write(dir.path().join("tmp").join(name), b"x").unwrap();
    }
    let store = LocalStore::open(dir.path()).unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.path().join("tmp")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from(&live)]);
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn local_stores_on_one_filesystem_link_chunks() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (LocalStore::open(&dir.path().join("a")).unwrap(), LocalStore::open(&dir.path().join("b")).unwrap());
    let data = Bytes::from(vec![5u8; 8192]);
    let id = ChunkId::of(&data);
    a.put(id, data.clone()).await.unwrap();
    let path = a.local_path(id).unwrap();
    assert!(b.put_file(id, &path).await.unwrap());
    assert!(!b.put_file(id, &path).await.unwrap(), "idempotent");
    assert_eq!(b.get(id).await.unwrap(), data);
    assert_eq!(
        std::fs::metadata(b.chunk_path(id)).unwrap().ino(),
        std::fs::metadata(&path).unwrap().ino(),
        "a link, not a copy"
    );
    // A store without files copies through put (and verifies).
    let memory = MemoryStore::new();
    assert!(memory.put_file(id, &path).await.unwrap());
    assert_eq!(memory.get(id).await.unwrap(), data);
}

#[tokio::test]
async fn asking_what_a_store_lacks_stops_at_its_first_failure() {
    use galleon_blob::store::faulty::{Call, Faulty};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let ids: Vec<ChunkId> = (0..1000u32).map(|n| ChunkId::of(&n.to_le_bytes())).collect();
    let (bad, asked) = (ids[10], Arc::new(AtomicUsize::new(0)));
    let counted = asked.clone();
    let store = Faulty {
        inner: Arc::new(MemoryStore::new()),
        fault: move |call, id| {
            if call != Call::Has {
                return None;
            }
            counted.fetch_add(1, Ordering::SeqCst);
            (id == Some(bad)).then(|| ChunkError::Io("injected: the store is unavailable".into()))
        },
    };
    assert!(matches!(store.lacking(&ids).await, Err(ChunkError::Io(_))));
    let asked = asked.load(Ordering::SeqCst);
    assert!(asked < 50, "asked {asked} of 1000 questions after the 11th failed");
}
