//! 4 KiB-aligned buffers for O_DIRECT I/O, without `unsafe`: an ordinary `Vec` with 4 KiB of
//! slack, used from its first aligned byte (`align_offset`). O_DIRECT moves image data between
//! the disk and our buffers without copying it through the page cache, which on this machine
//! class is the dominant cost of bulk writes (first touch of fresh page-cache memory).

use bytes::Bytes;

/// O_DIRECT's alignment for addresses, offsets and lengths.
pub const ALIGN: usize = 4096;

/// A zeroed buffer of `len` bytes whose start is `ALIGN`-aligned.
pub struct AlignedBuf {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    /// Allocates.
    pub fn new(len: usize) -> Self {
        let raw = vec![0u8; len + ALIGN];
        let start = raw.as_ptr().align_offset(ALIGN);
        Self { raw, start, len }
    }

    /// The aligned bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }

    /// The aligned bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    /// The first `n` bytes as `Bytes`, still aligned (no copy).
    pub fn into_bytes(self, n: usize) -> Bytes {
        Bytes::from(self.raw).slice(self.start..self.start + n.min(self.len))
    }
}

/// A pool of aligned buffers of one size. A buffer handed out as `Bytes` comes back to the
/// pool when the last `Bytes` referring to it is dropped, so bulk I/O reuses warm memory instead
/// of faulting in fresh pages for every chunk.
#[derive(Clone)]
pub struct BufPool {
    size: usize,
    free: std::sync::Arc<std::sync::Mutex<Vec<AlignedBuf>>>,
}

impl BufPool {
    /// A pool of `size`-byte buffers.
    pub fn new(size: usize) -> Self {
        Self { size, free: Default::default() }
    }

    /// A buffer from the pool (or a new one).
    pub fn take(&self) -> AlignedBuf {
        self.free.lock().ok().and_then(|mut f| f.pop()).unwrap_or_else(|| AlignedBuf::new(self.size))
    }

    /// Returns a buffer taken with [`BufPool::take`] and used in place.
    pub fn give_back(&self, buf: AlignedBuf) {
        keep(&self.free, buf);
    }

    /// The first `n` bytes of `buf` as `Bytes`; the buffer returns to the pool when they are dropped.
    pub fn share(&self, buf: AlignedBuf, n: usize) -> Bytes {
        Bytes::from_owner(Pooled { buf: Some(buf), n, pool: self.free.clone() })
    }
}

struct Pooled {
    buf: Option<AlignedBuf>,
    n: usize,
    pool: std::sync::Arc<std::sync::Mutex<Vec<AlignedBuf>>>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        self.buf.as_ref().map_or(&[], |b| &b.as_slice()[..self.n])
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            keep(&self.pool, buf);
        }
    }
}

/// Most buffers a pool keeps idle: a burst of concurrent transfers does not pin its peak memory.
const MAX_IDLE: usize = 16;

fn keep(free: &std::sync::Mutex<Vec<AlignedBuf>>, buf: AlignedBuf) {
    if let Ok(mut free) = free.lock()
        && free.len() < MAX_IDLE
    {
        free.push(buf);
    }
}

/// Warm buffers of one chunk (1 MiB), shared by everything that moves single chunks with O_DIRECT
/// (chunk reads of local stores, chunk files of staged uploads).
pub fn chunk_buffers() -> &'static BufPool {
    static POOL: std::sync::OnceLock<BufPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| BufPool::new(crate::CHUNK_SIZE as usize))
}

/// The largest page write Azure accepts (one `PUT ?comp=page`): 4 MiB.
pub const PAGE_WRITE: usize = 4 << 20;

/// Warm buffers of [`PAGE_WRITE`] bytes, shared by page transfers: bodies of page writes on the
/// server, pages read and written by the CLI.
pub fn page_buffers() -> &'static BufPool {
    static POOL: std::sync::OnceLock<BufPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| BufPool::new(PAGE_WRITE))
}

/// Writes `data` at `offset` of `direct` (a file opened with O_DIRECT): from `data` itself when it
/// is aligned, else through a warm aligned buffer of `pool` (its buffers must hold `data`).
pub fn write_direct(direct: &std::fs::File, pool: &BufPool, data: &[u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    if is_aligned(data) {
        return direct.write_all_at(data, offset);
    }
    let mut buf = pool.take();
    let aligned = &mut buf.as_mut_slice()[..data.len()];
    aligned.copy_from_slice(data);
    let written = direct.write_all_at(aligned, offset);
    pool.give_back(buf);
    written
}

/// Whether `data` can be written with O_DIRECT.
pub fn is_aligned(data: &[u8]) -> bool {
    (data.as_ptr() as usize).is_multiple_of(ALIGN) && data.len().is_multiple_of(ALIGN)
}

/// Open flags for O_DIRECT.
pub fn direct_flag() -> i32 {
    rustix::fs::OFlags::DIRECT.bits() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_and_their_bytes_are_aligned() {
        let mut b = AlignedBuf::new(1 << 20);
        b.as_mut_slice()[0] = 7;
        assert!(is_aligned(b.as_slice()));
        let bytes = b.into_bytes(1 << 20);
        assert_eq!(bytes[0], 7);
        assert!(is_aligned(&bytes));
        assert!(!is_aligned(&bytes[1..4097]));
    }

    #[test]
    fn pooled_buffers_come_back_when_dropped() {
        let pool = BufPool::new(8192);
        let mut b = pool.take();
        b.as_mut_slice()[0] = 9;
        let bytes = pool.share(b, 4096);
        assert!(is_aligned(&bytes));
        assert_eq!((bytes.len(), bytes[0]), (4096, 9));
        let clone = bytes.clone();
        drop(bytes);
        assert!(pool.free.lock().unwrap().is_empty(), "still referenced");
        drop(clone);
        assert_eq!(pool.free.lock().unwrap().len(), 1);
        assert_eq!(pool.take().as_slice()[0], 9, "the same warm buffer is reused");
    }
}
