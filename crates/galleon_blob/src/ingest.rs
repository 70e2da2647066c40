//! Raw images and fixed VHDs in, chunks and a manifest out.
//!
//! The file's data extents are found with SEEK_DATA/SEEK_HOLE, so chunks that lie in holes are
//! recorded as holes without being read (reading 9 GiB of holes costs 20 s on this machine's
//! cold page cache; skipping them costs nothing). The chunks that may hold data are shared out to
//! long-lived worker threads, each with one reused 1 MiB buffer: read, zero check, BLAKE3, and a
//! put only if the store lacks the chunk. Memory is bounded by the workers, whatever the image
//! size. One `sync` at the end makes the chunks durable before the manifest is handed back.

use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;

use crate::aligned::{AlignedBuf, BufPool};
use crate::store::{ChunkError, ChunkStore};
use crate::vhd::{self, FOOTER_LEN, FormatError};
use crate::zero::is_zero;
use crate::{CHUNK_SIZE, ChunkId, MIB, Manifest};

/// How to read the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A fixed VHD: the last 512 bytes must be a valid footer.
    Vhd,
    /// Raw data; galleon writes the footer (the size is rounded up to a whole MiB).
    Raw,
    /// A VHD if the last 512 bytes carry the VHD cookie, raw otherwise.
    Detect,
}

/// Why an ingest failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The input is not an acceptable image.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// Reading the input failed.
    #[error("reading the image: {0}")]
    Read(#[from] std::io::Error),
    /// Writing chunks failed.
    #[error(transparent)]
    Store(#[from] ChunkError),
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Chunks in the manifest.
    pub chunks: u64,
    /// Chunks read from the input (the rest lay in holes).
    pub chunks_read: u64,
    /// Chunks that held only zeros (read or skipped).
    pub holes: u64,
    /// Chunks written to the store (the rest were there already).
    pub chunks_written: u64,
    /// Bytes read from the input.
    pub bytes_read: u64,
}

/// The data extents of `file` within `[0, len)`, as `(start, end)`; all of it if the filesystem
/// cannot tell.
pub fn data_extents(file: &File, len: u64) -> Vec<(u64, u64)> {
    use rustix::fs::{SeekFrom, seek};
    let mut extents = Vec::new();
    let mut pos = 0u64;
    while pos < len {
        let start = match seek(file, SeekFrom::Data(pos)) {
            Ok(s) => s,
            Err(rustix::io::Errno::NXIO) => break,
            Err(_) => return vec![(0, len)],
        };
        if start >= len {
            break;
        }
        let end = match seek(file, SeekFrom::Hole(start)) {
            Ok(e) => e.min(len),
            Err(_) => len,
        };
        extents.push((start, end));
        pos = end;
    }
    extents
}

/// Ingests the image at `path` into `store`. Blocking: call it from a blocking thread; `rt`
/// runs the store's async calls.
pub fn ingest_file(
    path: &Path,
    format: Format,
    store: Arc<dyn ChunkStore>,
    rt: &Handle,
    workers: usize,
) -> Result<(Manifest, IngestStats), IngestError> {
    ingest_open(File::open(path)?, format, store, rt, workers)
}

/// Ingests an already opened image file (the caller checked what it opened) into `store`.
/// Blocking, as [`ingest_file`].
pub fn ingest_open(
    file: File,
    format: Format,
    store: Arc<dyn ChunkStore>,
    rt: &Handle,
    workers: usize,
) -> Result<(Manifest, IngestStats), IngestError> {
    let direct = reopen_direct(&file);
    let len = file.metadata()?.len();
    let mut tail = [0u8; FOOTER_LEN];
    let has_footer = len >= FOOTER_LEN as u64 && {
        file.read_exact_at(&mut tail, len - FOOTER_LEN as u64)?;
        vhd::has_cookie(&tail)
    };
    let (data_len, virtual_size, footer) = match (format, has_footer) {
        (Format::Vhd | Format::Detect, true) => {
            let f = vhd::parse(&tail, len)?;
            (f.current_size, f.current_size, tail.to_vec())
        }
        (Format::Vhd, false) => {
            return Err(FormatError::Truncated(
                "no VHD footer at the end of the file (it is cut short, or not a VHD)".into(),
            )
            .into());
        }
        (Format::Raw | Format::Detect, _) => {
            if len == 0 {
                return Err(FormatError::Empty.into());
            }
            let size = len.div_ceil(MIB) * MIB;
            (len, size, vhd::build(size).to_vec())
        }
    };

    let count = Manifest::chunk_count(virtual_size);
    let candidates = chunks_with_data(&file, data_len, count);
    let source = ChunkSource { file: &file, direct, data_len, virtual_size };
    let chunks: Mutex<Vec<Option<ChunkId>>> = Mutex::new(vec![None; count]);
    let counters = Counters::default();
    // Warm, reused, aligned buffers: about two per worker are ever in use.
    let pool = BufPool::new(CHUNK_SIZE as usize);
    parallel(&candidates, workers, &pool, |&i, aligned| {
        let id = source.store_chunk(i, aligned, &pool, store.as_ref(), rt, &counters)?;
        chunks.lock().expect("chunk table")[i] = id;
        Ok(())
    })?;
    rt.block_on(store.sync())?;
    let chunks = chunks.into_inner().expect("chunk table");
    let stats = counters.stats(&chunks);
    Ok((Manifest { virtual_size, footer, chunks }, stats))
}

/// What the workers of an ingest counted.
#[derive(Default)]
pub(crate) struct Counters {
    read: AtomicU64,
    written: AtomicU64,
    bytes_read: AtomicU64,
}

impl Counters {
    /// The statistics of an ingest whose chunk table is `chunks`.
    pub(crate) fn stats(self, chunks: &[Option<ChunkId>]) -> IngestStats {
        IngestStats {
            chunks: chunks.len() as u64,
            chunks_read: self.read.into_inner(),
            holes: chunks.iter().filter(|c| c.is_none()).count() as u64,
            chunks_written: self.written.into_inner(),
            bytes_read: self.bytes_read.into_inner(),
        }
    }

    /// Counts a chunk written to the store.
    pub(crate) fn wrote(&self) {
        self.written.fetch_add(1, Ordering::Relaxed);
    }
}

/// The chunks of an image file: `data_len` bytes of data padded with zeros to `virtual_size`.
pub(crate) struct ChunkSource<'a> {
    pub file: &'a File,
    /// The same file opened with O_DIRECT, when the filesystem allows.
    pub direct: Option<File>,
    pub data_len: u64,
    pub virtual_size: u64,
}

impl ChunkSource<'_> {
    /// Reads chunk `i` into `aligned`; stores it unless it is all zeros (a hole, `None`) or the
    /// store has it.
    pub(crate) fn store_chunk(
        &self,
        i: usize,
        aligned: &mut AlignedBuf,
        pool: &BufPool,
        store: &dyn ChunkStore,
        rt: &Handle,
        counters: &Counters,
    ) -> Result<Option<ChunkId>, IngestError> {
        let start = i as u64 * CHUNK_SIZE;
        let end = (start + CHUNK_SIZE).min(self.data_len);
        let len = (end - start) as usize;
        let buf = aligned.as_mut_slice();
        match &self.direct {
            Some(d) if len == buf.len() => d.read_exact_at(buf, start)?,
            _ => self.file.read_exact_at(&mut buf[..len], start)?,
        }
        buf[len..].fill(0);
        counters.read.fetch_add(1, Ordering::Relaxed);
        counters.bytes_read.fetch_add(len as u64, Ordering::Relaxed);
        let size = ((self.virtual_size - start).min(CHUNK_SIZE)) as usize;
        if is_zero(&buf[..size]) {
            return Ok(None);
        }
        let id = ChunkId::of(&buf[..size]);
        if !rt.block_on(store.has(id))? {
            // Hand the aligned buffer to the store and take a fresh one: the store may write it
            // with O_DIRECT.
            let full = std::mem::replace(aligned, pool.take());
            if rt.block_on(store.put(id, pool.share(full, size)))? {
                counters.wrote();
            }
        }
        Ok(Some(id))
    }
}

/// Runs `work` on every item on `workers` long-lived threads, each with one aligned buffer from
/// `pool` (which `work` may swap for another); stops at the first error and returns it.
pub(crate) fn parallel<T: Sync>(
    items: &[T],
    workers: usize,
    pool: &BufPool,
    work: impl Fn(&T, &mut AlignedBuf) -> Result<(), IngestError> + Sync,
) -> Result<(), IngestError> {
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<IngestError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                let mut aligned = pool.take();
                loop {
                    if first_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                        return;
                    }
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(n) else { return };
                    if let Err(e) = work(item, &mut aligned) {
                        first_error.lock().expect("error slot").get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    match first_error.into_inner().expect("error slot") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The same open file with O_DIRECT when the filesystem allows (whole chunks are read without
/// page-cache churn), reopened through its descriptor, so no path is looked up twice.
pub fn reopen_direct(file: &File) -> Option<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(crate::aligned::direct_flag())
        .open(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(file)))
        .ok()
}

/// The indexes of the `count` chunks that overlap a data extent of the file's first `data_len`
/// bytes; every other chunk is a hole, never read.
pub(crate) fn chunks_with_data(file: &File, data_len: u64, count: usize) -> Vec<usize> {
    let extents = data_extents(file, data_len);
    let mut candidates = Vec::new();
    let mut e = 0;
    for i in 0..count {
        let (start, end) = (i as u64 * CHUNK_SIZE, ((i as u64 + 1) * CHUNK_SIZE).min(data_len));
        while e < extents.len() && extents[e].1 <= start {
            e += 1;
        }
        if start < data_len && e < extents.len() && extents[e].0 < end {
            candidates.push(i);
        }
    }
    candidates
}
