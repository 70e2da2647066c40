//! A disk upload, staged as its page writes arrive.
//!
//! An Azure upload is page writes (up to 4 MiB, 512-byte aligned, in any order, retried at will)
//! into a blob of `uploadSizeBytes`, then `endGetAccess`. A write that covers whole 1 MiB chunks
//! is hashed where it lands and kept as a chunk file named by its hash; the upload's map records
//! which chunk each position holds. The finish then links (or copies) those files into the region
//! store without reading them again: the bytes are written once, as `cp` writes them. Whatever
//! else arrives (writes that cover part of a chunk, and the footer) goes into a sparse staging file
//! at its offset, and the finish reads those chunks from there.
//!
//! `uploads/{id}/` holds `pages.vhd` (the staging file, sparse), `map` (one [`ENTRY`]-byte entry
//! per chunk: a tag, 7 reserved bytes, a BLAKE3 hash) and `chunks/{hash}`. Tags: [`STAGED`], the
//! chunk's bytes are in `pages.vhd` (a missing or short map reads as all staged, and the sparse
//! staging file as zeros); [`CHUNK_FILE`], the chunk file the hash names; [`ZEROS`].
//!
//! Every write changes the map under an exclusive `flock` of the map file, so writes into one
//! chunk from several requests, threads or processes (nodes sharing the uploads directory) do not
//! undo each other: a write into part of a chunk held as a chunk file first copies that file into
//! the staging file. A write that returned is in the staging file or in a chunk file the map
//! names, so a killed server loses nothing it acknowledged (the bytes are not fsynced: a power
//! cut may, as it may for every staged byte).
//!
//! The chunk files belong to the upload, not to a region store, so garbage collection never sees
//! them before the finish makes them part of a manifest.

use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::runtime::Handle;

use crate::aligned::{ALIGN, BufPool};
use crate::ingest::{ChunkSource, Counters, IngestError, IngestStats, chunks_with_data, parallel, reopen_direct};
use crate::store::ChunkStore;
use crate::vhd::{self, FOOTER_LEN, FormatError};
use crate::{CHUNK_SIZE, ChunkId, Manifest, is_zero};

/// Bytes per map entry.
pub const ENTRY: u64 = 40;
/// Map tag: the chunk's bytes are in the staging file.
pub const STAGED: u8 = 0;
/// Map tag: the chunk is the chunk file its hash names.
pub const CHUNK_FILE: u8 = 1;
/// Map tag: the chunk is all zeros.
pub const ZEROS: u8 = 2;

/// What a chunk of the upload holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Staged,
    File(ChunkId),
    Zeros,
}

impl Entry {
    fn decode(raw: &[u8]) -> io::Result<Self> {
        match raw.first().copied().unwrap_or(STAGED) {
            STAGED => Ok(Entry::Staged),
            ZEROS => Ok(Entry::Zeros),
            CHUNK_FILE if raw.len() == ENTRY as usize => {
                Ok(Entry::File(ChunkId(raw[8..].try_into().expect("32 bytes"))))
            }
            _ => Err(io::Error::new(ErrorKind::InvalidData, "the upload's map has an unknown entry")),
        }
    }

    fn encode(self) -> [u8; ENTRY as usize] {
        let mut raw = [0u8; ENTRY as usize];
        match self {
            Entry::Staged => {}
            Entry::Zeros => raw[0] = ZEROS,
            Entry::File(id) => {
                raw[0] = CHUNK_FILE;
                raw[8..].copy_from_slice(&id.0);
            }
        }
        raw
    }
}

/// The bytes of a page write: data, or a clear (zeros) of a length.
#[derive(Debug, Clone, Copy)]
pub enum Pages<'a> {
    /// `x-ms-page-write: update`.
    Data(&'a [u8]),
    /// `x-ms-page-write: clear` of this many bytes.
    Zeros(u64),
}

impl Pages<'_> {
    /// Bytes written.
    pub fn len(&self) -> u64 {
        match self {
            Pages::Data(d) => d.len() as u64,
            Pages::Zeros(n) => *n,
        }
    }

    /// Whether nothing is written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes `[from, to)` of this write.
    fn part(&self, from: u64, to: u64) -> Self {
        match self {
            Pages::Data(d) => Pages::Data(&d[from as usize..to as usize]),
            Pages::Zeros(_) => Pages::Zeros(to - from),
        }
    }
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// One staged upload of `size` bytes (a whole number of MiB and the 512-byte footer).
#[derive(Debug, Clone)]
pub struct StagedUpload {
    dir: PathBuf,
    size: u64,
}

/// The map file, locked exclusively until dropped.
struct LockedMap(File);

/// One map entry from `read(buffer, bytes already read)`; a short map reads as staged.
fn read_entry(mut read: impl FnMut(&mut [u8], usize) -> io::Result<usize>) -> io::Result<Entry> {
    let mut raw = [0u8; ENTRY as usize];
    let mut got = 0;
    while got < raw.len() {
        match read(&mut raw[got..], got)? {
            0 => break,
            n => got += n,
        }
    }
    Entry::decode(&raw[..got])
}

impl LockedMap {
    fn read(&self, i: usize) -> io::Result<Entry> {
        read_entry(|buf, got| self.0.read_at(buf, i as u64 * ENTRY + got as u64))
    }

    /// Every entry of an upload of `count` chunks, in order, read in one sequential pass (one
    /// `pread` per entry was a million system calls for a 1 TiB disk).
    fn each(&self, count: usize, mut f: impl FnMut(usize, Entry)) -> io::Result<()> {
        let mut reader = io::BufReader::with_capacity(1 << 16, &self.0);
        for i in 0..count {
            f(i, read_entry(|buf, _| io::Read::read(&mut reader, buf))?);
        }
        Ok(())
    }

    fn write(&self, i: usize, entry: Entry) -> io::Result<()> {
        self.0.write_all_at(&entry.encode(), i as u64 * ENTRY)
    }
}

impl StagedUpload {
    /// Opens the staged upload `id` in `uploads`: a plain name (the disk's unique id). A file
    /// staged by an earlier release (`{id}.vhd`, every byte in it) is moved into the layout here.
    pub fn open(uploads: &Path, id: &str, size: u64) -> io::Result<Self> {
        if id.is_empty() || id.starts_with('.') || id.contains(['/', '\0']) {
            return Err(io::Error::new(ErrorKind::InvalidInput, "an upload id is a plain name"));
        }
        let dir = uploads.join(id);
        if !dir.exists() {
            adopt_legacy(uploads, id)?;
        }
        Ok(Self { dir, size })
    }

    /// Creates the staged upload (or reopens it, as a second grant of write access does).
    pub fn create(uploads: &Path, id: &str, size: u64) -> io::Result<Self> {
        let staged = Self::open(uploads, id, size)?;
        std::fs::create_dir_all(staged.dir.join("chunks"))?;
        let pages = OpenOptions::new().create(true).truncate(false).write(true).open(staged.pages_path())?;
        if pages.metadata()?.len() != size {
            pages.set_len(size)?;
        }
        Ok(staged)
    }

    /// The upload's length.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn virtual_size(&self) -> u64 {
        self.size.saturating_sub(FOOTER_LEN as u64)
    }

    fn pages_path(&self) -> PathBuf {
        self.dir.join("pages.vhd")
    }

    fn chunk_path(&self, id: ChunkId) -> PathBuf {
        self.dir.join("chunks").join(id.to_hex())
    }

    fn lock_map(&self) -> io::Result<LockedMap> {
        let map = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(self.dir.join("map"))?;
        rustix::fs::flock(&map, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(LockedMap(map))
    }

    /// Writes `pages` at `offset` (the caller checked that it is 512-byte aligned and inside the
    /// upload). Blocking.
    pub fn write(&self, offset: u64, pages: Pages<'_>) -> io::Result<()> {
        let end = offset + pages.len();
        if end > self.size {
            return Err(io::Error::new(ErrorKind::InvalidInput, "the pages end past the upload"));
        }
        // The whole chunks this write covers, `[from, to)`; the bytes around them are staged.
        let from = offset.next_multiple_of(CHUNK_SIZE);
        let to = end.min(self.virtual_size()) / CHUNK_SIZE * CHUNK_SIZE;
        if from >= to {
            return self.write_staged(offset, pages);
        }
        if offset < from {
            self.write_staged(offset, pages.part(0, from - offset))?;
        }
        for start in (from..to).step_by(CHUNK_SIZE as usize) {
            let chunk = pages.part(start - offset, start - offset + CHUNK_SIZE);
            self.write_chunk((start / CHUNK_SIZE) as usize, chunk)?;
        }
        if to < end {
            self.write_staged(to, pages.part(to - offset, end - offset))?;
        }
        Ok(())
    }

    /// A whole chunk: kept as a chunk file (or recorded as zeros), then named in the map.
    fn write_chunk(&self, i: usize, pages: Pages<'_>) -> io::Result<()> {
        let entry = match pages {
            Pages::Data(data) if !is_zero(data) => {
                let id = ChunkId::of(data);
                self.keep_chunk_file(id, data)?;
                Entry::File(id)
            }
            _ => Entry::Zeros,
        };
        self.lock_map()?.write(i, entry)
    }

    /// Writes `chunks/{id}` unless it is there: a temporary file renamed into place, so the file
    /// is always whole.
    fn keep_chunk_file(&self, id: ChunkId, data: &[u8]) -> io::Result<()> {
        let path = self.chunk_path(id);
        if path.exists() {
            return Ok(());
        }
        let n = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join("chunks").join(format!(".{}.{}.{n}", id.to_hex(), std::process::id()));
        // With O_DIRECT, from the data itself when it is aligned (the transport reads page writes
        // into aligned buffers), else from a warm aligned buffer: copying through the page cache
        // (fresh memory to fault in) costs more than a copy into the buffer.
        let direct = data.len().is_multiple_of(ALIGN)
            && OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(crate::aligned::direct_flag())
                .open(&tmp)
                .and_then(|f| crate::aligned::write_direct(&f, crate::aligned::chunk_buffers(), data, 0))
                .is_ok();
        if !direct {
            let _ = std::fs::remove_file(&tmp);
            std::fs::write(&tmp, data)?;
        }
        std::fs::rename(&tmp, &path)
    }

    /// Bytes that are not whole chunks: into the staging file, after the chunks they touch are
    /// moved there (so the rest of each chunk keeps its bytes).
    fn write_staged(&self, offset: u64, pages: Pages<'_>) -> io::Result<()> {
        let map = self.lock_map()?;
        let file = OpenOptions::new().read(true).write(true).open(self.pages_path())?;
        let end = offset + pages.len();
        let first = offset / CHUNK_SIZE;
        let last = end.min(self.virtual_size()).div_ceil(CHUNK_SIZE);
        for i in first..last {
            let i = i as usize;
            let at = i as u64 * CHUNK_SIZE;
            match map.read(i)? {
                Entry::Staged => continue,
                Entry::File(id) => file.write_all_at(&std::fs::read(self.chunk_path(id))?, at)?,
                Entry::Zeros => zero_range(&file, at, CHUNK_SIZE)?,
            }
            map.write(i, Entry::Staged)?;
        }
        match pages {
            Pages::Data(data) => file.write_all_at(data, offset),
            Pages::Zeros(len) => zero_range(&file, offset, len),
        }
    }

    /// Stores the upload in `store` and returns its manifest: chunk files are linked or copied
    /// in, staged chunks read, hashed and stored, all on `workers` threads, then one `sync`. The
    /// footer must make it an acceptable fixed VHD. Blocking; `rt` runs the store's calls.
    pub fn finish(
        &self,
        store: &dyn ChunkStore,
        rt: &Handle,
        workers: usize,
    ) -> Result<(Manifest, IngestStats), IngestError> {
        let file = File::open(self.pages_path())?;
        let mut footer = [0u8; FOOTER_LEN];
        file.read_exact_at(&mut footer, self.virtual_size())?;
        if !vhd::has_cookie(&footer) {
            return Err(FormatError::Truncated("no VHD footer at the end of the upload".into()).into());
        }
        let virtual_size = vhd::parse(&footer, self.size)?.current_size;
        let count = Manifest::chunk_count(virtual_size);
        let map = self.lock_map()?;
        let mut staged_data = chunks_with_data(&file, virtual_size, count).into_iter().peekable();
        let mut tasks = Vec::new();
        map.each(count, |i, entry| {
            let has_data = staged_data.next_if_eq(&i).is_some();
            match entry {
                Entry::Staged if has_data => tasks.push((i, None)),
                Entry::File(id) => tasks.push((i, Some(id))),
                Entry::Staged | Entry::Zeros => {}
            }
        })?;
        let source = ChunkSource { file: &file, direct: reopen_direct(&file), data_len: virtual_size, virtual_size };
        let chunks: Mutex<Vec<Option<ChunkId>>> = Mutex::new(vec![None; count]);
        let counters = Counters::default();
        let pool = BufPool::new(CHUNK_SIZE as usize);
        parallel(&tasks, workers, &pool, |&(i, kept), aligned| {
            let id = match kept {
                None => source.store_chunk(i, aligned, &pool, store, rt, &counters)?,
                Some(id) => {
                    if !rt.block_on(store.has(id))? && rt.block_on(store.put_file(id, &self.chunk_path(id)))? {
                        counters.wrote();
                    }
                    Some(id)
                }
            };
            chunks.lock().expect("chunk table")[i] = id;
            Ok(())
        })?;
        rt.block_on(store.sync())?;
        drop(map);
        let chunks = chunks.into_inner().expect("chunk table");
        let stats = counters.stats(&chunks);
        Ok((Manifest { virtual_size, footer: footer.to_vec(), chunks }, stats))
    }

    /// Removes everything staged.
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// The ids of the uploads staged in `uploads` (not the files of an earlier release, nor anything
/// being built beside them).
pub fn staged_ids(uploads: &Path) -> io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(uploads) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(vec![]),
        other => other?,
    };
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() && !name.starts_with('.') {
            ids.push(name);
        }
    }
    Ok(ids)
}

/// Zeros `[offset, offset + len)` of the staging file: a punched hole where the filesystem can.
fn zero_range(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use rustix::fs::{FallocateFlags, fallocate};
    if fallocate(file, FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE, offset, len).is_ok() {
        return Ok(());
    }
    let zeros = vec![0u8; len.min(CHUNK_SIZE) as usize];
    let mut at = offset;
    while at < offset + len {
        let n = (offset + len - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// Moves an upload staged by an earlier release (`uploads/{id}.vhd`, every byte staged) into
/// `uploads/{id}/`: built beside it, then renamed into place, so a concurrent opener finds either
/// layout whole (or neither for an instant, and fails that one request).
fn adopt_legacy(uploads: &Path, id: &str) -> io::Result<()> {
    let legacy = uploads.join(format!("{id}.vhd"));
    if !legacy.exists() {
        return Ok(());
    }
    let n = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let building = uploads.join(format!(".{id}.{}.{n}", std::process::id()));
    std::fs::create_dir_all(building.join("chunks"))?;
    if let Err(e) = std::fs::rename(&legacy, building.join("pages.vhd")) {
        let _ = std::fs::remove_dir_all(&building);
        // Another opener moved it first.
        return if e.kind() == ErrorKind::NotFound { Ok(()) } else { Err(e) };
    }
    std::fs::rename(&building, uploads.join(id))
}
