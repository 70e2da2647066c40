//! Staged uploads: page writes in any order, retried, partial, cleared and concurrent give the
//! content a plain file given the same writes holds, and whole chunks are not read again.

use std::path::Path;
use std::sync::Arc;

use galleon_blob::export::write_vhd;
use galleon_blob::ingest::{Format, IngestStats, ingest_file};
use galleon_blob::staged::{Pages, StagedUpload};
use galleon_blob::store::{ChunkStore, LocalStore};
use galleon_blob::{CHUNK_SIZE, MIB, Manifest, vhd};

const SIZE: u64 = 16 * MIB + 512;

/// xorshift: reproducible choices without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn pattern(len: u64, seed: u64) -> Vec<u8> {
    (0..len).map(|i| ((i.wrapping_mul(31) ^ seed) % 251) as u8 | 1).collect()
}

async fn finish(staged: StagedUpload, store: Arc<dyn ChunkStore>) -> (Manifest, IngestStats) {
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || staged.finish(store.as_ref(), &rt, 2)).await.unwrap().unwrap()
}

/// The manifest the ordinary import gives the bytes of `image`.
async fn ingested(dir: &Path, image: &[u8], store: Arc<dyn ChunkStore>) -> Manifest {
    let path = dir.join("reference.vhd");
    std::fs::write(&path, image).unwrap();
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || ingest_file(&path, Format::Vhd, store, &rt, 2)).await.unwrap().unwrap().0
}

async fn exported(m: &Manifest, store: &dyn ChunkStore) -> Vec<u8> {
    let mut out = Vec::new();
    write_vhd(m, store, &mut out).await.unwrap();
    out
}

/// Applies a write to the staged upload and to the plain image.
fn write(staged: &StagedUpload, image: &mut [u8], offset: u64, pages: Pages<'_>) {
    staged.write(offset, pages).unwrap();
    let range = offset as usize..(offset + pages.len()) as usize;
    match pages {
        Pages::Data(d) => image[range].copy_from_slice(d),
        Pages::Zeros(_) => image[range].fill(0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_in_any_order_retried_partial_and_cleared_give_the_same_content_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ChunkStore> = Arc::new(LocalStore::open(&dir.path().join("store")).unwrap());
    for seed in 1..=6u64 {
        let uploads = dir.path().join(format!("uploads{seed}"));
        let staged = StagedUpload::create(&uploads, "disk", SIZE).unwrap();
        let mut image = vec![0u8; SIZE as usize];
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for n in 0..60 {
            // Offsets and lengths in 512-byte pages; a third of them whole-MiB aligned, as azcopy
            // and the SDK send them.
            let (offset, len) = if rng.below(3) == 0 {
                let at = rng.below(16) * MIB;
                (at, ((rng.below(4) + 1) * MIB).min(16 * MIB - at))
            } else {
                let at = rng.below((SIZE - 512) / 512) * 512;
                (at, ((rng.below(8192) + 1) * 512).min(SIZE - 512 - at))
            };
            match rng.below(8) {
                0 => write(&staged, &mut image, offset, Pages::Zeros(len)),
                1 => write(&staged, &mut image, offset, Pages::Data(&vec![0u8; len as usize])),
                _ => {
                    let data = pattern(len, rng.next());
                    write(&staged, &mut image, offset, Pages::Data(&data));
                    if rng.below(4) == 0 {
                        // A retry of the same write, after another instance opened the upload.
                        let again = StagedUpload::open(&uploads, "disk", SIZE).unwrap();
                        write(&again, &mut image, offset, Pages::Data(&data));
                    }
                }
            }
            if n == 30 {
                write(&staged, &mut image, SIZE - 512, Pages::Data(&vhd::build(SIZE - 512)));
            }
        }
        let (got, _) = finish(staged.clone(), store.clone()).await;
        let want = ingested(dir.path(), &image, store.clone()).await;
        assert_eq!(got.digest(), want.digest(), "seed {seed}");
        assert!(exported(&got, store.as_ref()).await == image, "seed {seed}: exported bytes differ");
        staged.remove().unwrap();
        assert!(!uploads.join("disk").exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_chunks_are_linked_into_the_store_without_being_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let local = Arc::new(LocalStore::open(&dir.path().join("store")).unwrap());
    let store: Arc<dyn ChunkStore> = local.clone();
    let staged = StagedUpload::create(&dir.path().join("uploads"), "disk", SIZE).unwrap();
    let mut image = vec![0u8; SIZE as usize];
    // 4 MiB pages, the last of them all zeros, sent in reverse order; then the footer.
    for page in (0..4u64).rev() {
        let data = if page == 3 { vec![0u8; 4 << 20] } else { pattern(4 << 20, page) };
        write(&staged, &mut image, page * (4 << 20), Pages::Data(&data));
    }
    write(&staged, &mut image, SIZE - 512, Pages::Data(&vhd::build(SIZE - 512)));
    let (m, stats) = finish(staged, store.clone()).await;
    assert_eq!(stats.chunks_read, 0, "no chunk was read from the staging file");
    assert_eq!(stats.chunks_written, 12);
    assert_eq!(m.chunks.iter().filter(|c| c.is_none()).count(), 4, "the zero page is holes");
    let first = m.chunks[0].unwrap();
    let linked = std::fs::metadata(local.chunk_path(first)).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::nlink(&linked), 2, "the store's chunk is the upload's file, linked");
    assert!(exported(&m, store.as_ref()).await == image);
    assert_eq!(m.digest(), ingested(dir.path(), &image, store).await.digest());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_partial_writes_into_a_kept_chunk_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    for round in 0..20u64 {
        let id = format!("disk{round}");
        let staged = StagedUpload::create(&uploads, &id, SIZE).unwrap();
        // Chunk 1 is a chunk file; eight writers then each write one eighth of it at once, through
        // their own opens (as requests on several nodes would).
        staged.write(MIB, Pages::Data(&pattern(MIB, 99))).unwrap();
        let slice = MIB / 8;
        std::thread::scope(|s| {
            for w in 0..8u64 {
                let (uploads, id) = (&uploads, &id);
                s.spawn(move || {
                    let mine = StagedUpload::open(uploads, id, SIZE).unwrap();
                    mine.write(MIB + w * slice, Pages::Data(&vec![w as u8 + 1; slice as usize])).unwrap();
                });
            }
        });
        staged.write(SIZE - 512, Pages::Data(&vhd::build(SIZE - 512))).unwrap();
        let store: Arc<dyn ChunkStore> = Arc::new(LocalStore::open(&dir.path().join("store")).unwrap());
        let (m, _) = finish(staged, store.clone()).await;
        let bytes = store.get(m.chunks[1].unwrap()).await.unwrap();
        for w in 0..8u64 {
            let part = &bytes[(w * slice) as usize..((w + 1) * slice) as usize];
            assert!(part.iter().all(|&b| b == w as u8 + 1), "round {round}: writer {w}'s bytes were lost");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_staged_by_the_previous_release_is_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    // The earlier layout: every byte in `uploads/{id}.vhd`.
    let mut image = pattern(SIZE - 512, 7);
    image[..CHUNK_SIZE as usize].fill(0);
    image.extend_from_slice(&vhd::build(SIZE - 512));
    std::fs::write(uploads.join("old.vhd"), &image).unwrap();
    let staged = StagedUpload::open(&uploads, "old", SIZE).unwrap();
    assert!(!uploads.join("old.vhd").exists() && uploads.join("old/pages.vhd").exists());
    // A write after the upgrade lands on top of the adopted bytes.
    write(&staged, &mut image, 2 * MIB, Pages::Data(&pattern(MIB, 8)));
    let store: Arc<dyn ChunkStore> = Arc::new(LocalStore::open(&dir.path().join("store")).unwrap());
    let (m, _) = finish(staged, store.clone()).await;
    assert_eq!(m.digest(), ingested(dir.path(), &image, store).await.digest());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_bad_footer_and_odd_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    let store: Arc<dyn ChunkStore> = Arc::new(LocalStore::open(&dir.path().join("store")).unwrap());
    let staged = StagedUpload::create(&uploads, "nofooter", SIZE).unwrap();
    staged.write(0, Pages::Data(&pattern(MIB, 1))).unwrap();
    let rt = tokio::runtime::Handle::current();
    let (s, st) = (staged.clone(), store.clone());
    let err = tokio::task::spawn_blocking(move || s.finish(st.as_ref(), &rt, 2).unwrap_err()).await.unwrap();
    assert!(err.to_string().contains("no VHD footer"), "{err}");
    // A footer for another size.
    staged.write(SIZE - 512, Pages::Data(&vhd::build(8 * MIB))).unwrap();
    let rt = tokio::runtime::Handle::current();
    let err = tokio::task::spawn_blocking(move || staged.finish(store.as_ref(), &rt, 2).unwrap_err()).await.unwrap();
    assert!(matches!(err, galleon_blob::ingest::IngestError::Format(_)), "{err}");
    for id in ["", "..", "../x", "a/b", ".hidden"] {
        assert!(StagedUpload::open(&uploads, id, SIZE).is_err(), "{id:?}");
    }
    assert!(StagedUpload::create(&uploads, "ok", SIZE).unwrap().write(SIZE - 511, Pages::Data(&[1; 512])).is_err());
}
