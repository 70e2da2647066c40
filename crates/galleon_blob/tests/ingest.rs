//! Ingest and export on real files: sparse raw images, fixed VHDs (ours and qemu-img's), the
//! refusals, dedupe, and that holes are never read.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use galleon_blob::export::{read_range, write_vhd};
use galleon_blob::ingest::{Format, IngestError, ingest_file};
use galleon_blob::store::{ChunkStore, LocalStore, MemoryStore};
use galleon_blob::vhd::{self, FormatError};
use galleon_blob::{CHUNK_SIZE, MIB, Manifest};

/// A sparse raw file of `size` bytes with 64 KiB blocks of pseudo-random data at 4 KiB-aligned offsets.
fn sparse_raw(path: &Path, size: u64, blocks: u64) {
    let mut f = std::fs::File::create(path).unwrap();
    f.set_len(size).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..blocks {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = (x % (size / 4096 - 16)) * 4096;
        let data: Vec<u8> = (0..65536u64).map(|i| ((i * 7 + x) % 251) as u8 + 1).collect();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&data).unwrap();
    }
}

/// A sparse fixed VHD: the same data as `sparse_raw`, then a footer. (Not `fs::copy` of the raw
/// file: it uses copy_file_range, which fills the holes in.)
fn sparse_vhd(out: &Path, size: u64, blocks: u64) {
    sparse_raw(out, size, blocks);
    let mut f = std::fs::OpenOptions::new().append(true).open(out).unwrap();
    f.write_all(&vhd::build(size)).unwrap();
}

async fn ingest(
    path: &Path,
    format: Format,
    store: Arc<dyn ChunkStore>,
) -> Result<(Manifest, galleon_blob::ingest::IngestStats), IngestError> {
    let path = path.to_path_buf();
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || ingest_file(&path, format, store, &rt, 2)).await.unwrap()
}

async fn exported(m: &Manifest, store: &dyn ChunkStore) -> Vec<u8> {
    let mut out = Vec::new();
    write_vhd(m, store, &mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vhd_round_trips_byte_for_byte_and_skips_holes() {
    let dir = tempfile::tempdir().unwrap();
    let vhd_path = dir.path().join("disk.vhd");
    sparse_vhd(&vhd_path, 256 * MIB, 40);
    let store: Arc<dyn ChunkStore> = Arc::new(LocalStore::open(&dir.path().join("chunks")).unwrap());

    let (m, stats) = ingest(&vhd_path, Format::Detect, store.clone()).await.unwrap();
    assert_eq!(m.virtual_size, 256 * MIB);
    assert_eq!(stats.chunks, 256);
    assert!(stats.chunks_read <= 80, "only chunks with data are read: {stats:?}");
    assert!(stats.bytes_read <= 80 * CHUNK_SIZE);
    assert!(stats.holes >= 256 - 80);
    assert_eq!(exported(&m, store.as_ref()).await, std::fs::read(&vhd_path).unwrap());

    // Ranges, including ones that straddle chunks and the footer.
    let original = std::fs::read(&vhd_path).unwrap();
    for (start, len) in
        [(0, 10), (MIB - 5, 10), (3 * MIB + 17, 2 * MIB), (256 * MIB - 100, 612), (256 * MIB + 500, 100)]
    {
        let got = read_range(&m, store.as_ref(), start, len).await.unwrap();
        let end = ((start + len) as usize).min(original.len());
        assert_eq!(got, original[start as usize..end], "range {start}+{len}");
    }

    // The same content again writes nothing new, and gives the same digest.
    let (again, stats) = ingest(&vhd_path, Format::Vhd, store.clone()).await.unwrap();
    assert_eq!(stats.chunks_written, 0);
    assert_eq!(again.digest(), m.digest());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_images_get_a_footer_and_round_up_to_a_mib() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("odd.raw");
    sparse_raw(&raw, 8 * MIB, 4);
    let mut f = std::fs::OpenOptions::new().append(true).open(&raw).unwrap();
    f.write_all(&[9u8; 1000]).unwrap();
    drop(f);
    let store: Arc<dyn ChunkStore> = Arc::new(MemoryStore::new());
    let (m, _) = ingest(&raw, Format::Raw, store.clone()).await.unwrap();
    assert_eq!(m.virtual_size, 9 * MIB);
    let out = exported(&m, store.as_ref()).await;
    let original = std::fs::read(&raw).unwrap();
    assert_eq!(&out[..original.len()], &original[..]);
    assert!(out[original.len()..9 * MIB as usize].iter().all(|b| *b == 0));
    let footer: [u8; 512] = out[9 * MIB as usize..].try_into().unwrap();
    assert_eq!(vhd::parse(&footer, out.len() as u64).unwrap().current_size, 9 * MIB);
    // Raw ingests are deterministic.
    assert_eq!(ingest(&raw, Format::Raw, store).await.unwrap().0.digest(), m.digest());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_images_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ChunkStore> = Arc::new(MemoryStore::new());
    let good = dir.path().join("d.vhd");
    sparse_vhd(&good, 4 * MIB, 2);
    let bytes = std::fs::read(&good).unwrap();

    let truncated = dir.path().join("cut.vhd");
    std::fs::write(&truncated, &bytes[..bytes.len() - 4096]).unwrap();
    assert!(matches!(
        ingest(&truncated, Format::Vhd, store.clone()).await,
        Err(IngestError::Format(FormatError::Truncated(_)))
    ));

    let bad_sum = dir.path().join("sum.vhd");
    let mut b = bytes.clone();
    let n = b.len();
    b[n - 100] ^= 0x55;
    std::fs::write(&bad_sum, &b).unwrap();
    assert!(matches!(
        ingest(&bad_sum, Format::Detect, store.clone()).await,
        Err(IngestError::Format(FormatError::BadChecksum { .. }))
    ));

    let empty = dir.path().join("empty.raw");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(ingest(&empty, Format::Raw, store.clone()).await, Err(IngestError::Format(FormatError::Empty))));
}

fn qemu_img() -> Option<PathBuf> {
    let ok = Command::new("qemu-img").arg("--version").output().is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("qemu-img"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_img_vhds_round_trip_and_its_other_formats_are_refused() {
    let Some(qemu) = qemu_img() else {
        eprintln!("qemu-img is not installed: skipping the qemu-img cross-check");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("d.raw");
    sparse_raw(&raw, 64 * MIB, 10);
    let convert = |opts: &str, out: &str| {
        let out = dir.path().join(out);
        let status = Command::new(&qemu)
            .args(["convert", "-f", "raw", "-O", "vpc", "-o", opts])
            .arg(&raw)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        out
    };
    let store: Arc<dyn ChunkStore> = Arc::new(MemoryStore::new());
    let fixed = convert("subformat=fixed,force_size=on", "fixed.vhd");
    let (m, _) = ingest(&fixed, Format::Vhd, store.clone()).await.unwrap();
    assert_eq!(exported(&m, store.as_ref()).await, std::fs::read(&fixed).unwrap());

    let dynamic = convert("subformat=dynamic", "dynamic.vhd");
    assert!(matches!(
        ingest(&dynamic, Format::Vhd, store.clone()).await,
        Err(IngestError::Format(FormatError::NotFixed("dynamic")))
    ));
    let unaligned = convert("subformat=fixed", "chs.vhd");
    assert!(matches!(
        ingest(&unaligned, Format::Vhd, store.clone()).await,
        Err(IngestError::Format(FormatError::NotMibAligned(_)))
    ));
}
