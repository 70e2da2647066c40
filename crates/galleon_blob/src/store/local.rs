//! Chunks as files in a local directory: `ROOT/ab/cd/<64 hex>`. A put writes a temporary file in
//! `ROOT/tmp` and renames it into place, so a chunk file is always whole; a crash leaves at most
//! stray temporary files, which [`LocalStore::open`] removes.

use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use super::{ChunkError, ChunkStore, verify};
use crate::ChunkId;

/// A chunk store in a directory.
pub struct LocalStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    tmp_seq: AtomicU64,
}

fn io(e: std::io::Error) -> ChunkError {
    ChunkError::Io(e.to_string())
}

impl Inner {
    fn path(&self, id: ChunkId) -> PathBuf {
        let hex = id.to_hex();
        self.root.join(&hex[..2]).join(&hex[2..4]).join(hex)
    }

    /// Calls `f` with every file under `ROOT/ab/cd/` (the chunk files; not `tmp`).
    fn each_chunk_file(
        &self,
        mut f: impl FnMut(std::fs::DirEntry) -> Result<(), ChunkError>,
    ) -> Result<(), ChunkError> {
        for a in std::fs::read_dir(&self.root).map_err(io)? {
            let a = a.map_err(io)?;
            if a.file_name().len() != 2 || !a.file_type().map_err(io)?.is_dir() {
                continue;
            }
            for b in std::fs::read_dir(a.path()).map_err(io)? {
                for file in std::fs::read_dir(b.map_err(io)?.path()).map_err(io)? {
                    f(file.map_err(io)?)?;
                }
            }
        }
        Ok(())
    }
}

/// Whether a temporary file (named `{chunk}.{pid}.{n}`) may still be written by another live
/// process: its pid runs on this machine and the file changed in the last ten minutes.
fn in_flight_elsewhere(entry: &std::fs::DirEntry) -> bool {
    let name = entry.file_name();
    let Some(pid) = name.to_str().and_then(|n| n.split('.').nth(1)).and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    let recent = entry
        .metadata()
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < std::time::Duration::from_secs(600)));
    pid != std::process::id() && recent && Path::new(&format!("/proc/{pid}")).exists()
}

/// Reads a chunk file. A whole-block chunk (every data chunk) is read with O_DIRECT into a warm
/// aligned buffer that returns to the pool when the bytes are dropped: reading through the page
/// cache into fresh memory cost more than the hash check; chunks are written with O_DIRECT too,
/// so the page cache seldom holds them. Anything else (manifests) is read normally.
fn read_chunk_file(path: &Path) -> std::io::Result<Bytes> {
    let pool = crate::aligned::chunk_buffers();
    if let Ok(f) = std::fs::OpenOptions::new().read(true).custom_flags(crate::aligned::direct_flag()).open(path) {
        let len = f.metadata()?.len();
        if len > 0 && len <= crate::CHUNK_SIZE && len.is_multiple_of(crate::aligned::ALIGN as u64) {
            let mut buf = pool.take();
            let read = std::os::unix::fs::FileExt::read_exact_at(&f, &mut buf.as_mut_slice()[..len as usize], 0);
            return match read {
                Ok(()) => Ok(pool.share(buf, len as usize)),
                Err(e) => {
                    pool.give_back(buf);
                    Err(e)
                }
            };
        }
    }
    std::fs::read(path).map(Bytes::from)
}

impl LocalStore {
    /// Opens (creating if needed) a store rooted at `root`, clearing interrupted writes: the
    /// temporary files of processes that are gone. Another process may be writing to the same
    /// store (a server while `galleon backup` reads it, or a second node): its recent temporary
    /// files are left alone.
    pub fn open(root: &Path) -> Result<Self, ChunkError> {
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(io)?;
        for entry in std::fs::read_dir(&tmp).map_err(io)? {
            let entry = entry.map_err(io)?;
            if !in_flight_elsewhere(&entry) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self { inner: Arc::new(Inner { root: root.to_path_buf(), tmp_seq: AtomicU64::new(0) }) })
    }

    /// Where a chunk's file is (for link-based copies between stores on one filesystem).
    pub fn chunk_path(&self, id: ChunkId) -> PathBuf {
        self.inner.path(id)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, ChunkError> + Send + 'static,
    ) -> Result<T, ChunkError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner)).await.map_err(|e| ChunkError::Io(e.to_string()))?
    }
}

#[async_trait]
impl ChunkStore for LocalStore {
    async fn put(&self, id: ChunkId, data: Bytes) -> Result<bool, ChunkError> {
        if ChunkId::of(&data) != id {
            return Err(ChunkError::Mismatch(id));
        }
        self.blocking(move |s| {
            let path = s.path(id);
            if path.exists() {
                return Ok(false);
            }
            std::fs::create_dir_all(path.parent().expect("nested path")).map_err(io)?;
            let n = s.tmp_seq.fetch_add(1, Ordering::Relaxed);
            let tmp = s.root.join("tmp").join(format!("{}.{}.{n}", id.to_hex(), std::process::id()));
            // Aligned chunks go straight to the disk (O_DIRECT), skipping the page cache; anything
            // else, or a filesystem without O_DIRECT, is written normally.
            let direct = if crate::aligned::is_aligned(&data) {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(crate::aligned::direct_flag())
                    .open(&tmp)
                    .ok()
            } else {
                None
            };
            let mut f = match direct {
                Some(f) => f,
                None => std::fs::File::create(&tmp).map_err(io)?,
            };
            f.write_all(&data).map_err(io)?;
            drop(f);
            std::fs::rename(&tmp, &path).map_err(io)?;
            Ok(true)
        })
        .await
    }

    async fn get(&self, id: ChunkId) -> Result<Bytes, ChunkError> {
        let data = self
            .blocking(move |s| match read_chunk_file(&s.path(id)) {
                Ok(d) => Ok(d),
                Err(e) if e.kind() == ErrorKind::NotFound => Err(ChunkError::NotFound(id)),
                Err(e) => Err(io(e)),
            })
            .await?;
        verify(id, data)
    }

    async fn has(&self, id: ChunkId) -> Result<bool, ChunkError> {
        self.blocking(move |s| Ok(s.path(id).exists())).await
    }

    /// One blocking task for all of them: a replication asks about every chunk of a version,
    /// and a task per chunk (a thread hand-off each, and blocking threads started to run them)
    /// was most of a small update's replication time.
    async fn lacking(&self, ids: &[ChunkId]) -> Result<Vec<ChunkId>, ChunkError> {
        let ids = ids.to_vec();
        self.blocking(move |s| Ok(ids.into_iter().filter(|&id| !s.path(id).exists()).collect())).await
    }

    async fn delete(&self, id: ChunkId) -> Result<(), ChunkError> {
        self.blocking(move |s| match std::fs::remove_file(s.path(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        })
        .await
    }

    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError> {
        self.blocking(|s| {
            let mut out = Vec::new();
            s.each_chunk_file(|f| {
                if let Some(id) = f.file_name().to_str().and_then(|n| n.parse().ok()) {
                    out.push(id);
                }
                Ok(())
            })?;
            Ok(out)
        })
        .await
    }

    async fn check(&self) -> Result<(), ChunkError> {
        // Its directory is there (a lost mount leaves an empty mount point, or nothing).
        self.blocking(|s| match std::fs::metadata(s.root.join("tmp")) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(ChunkError::Io("the store's tmp directory is not a directory".into())),
            Err(e) => Err(io(e)),
        })
        .await
    }

    fn backend(&self) -> String {
        format!("dir://{}", self.inner.root.display())
    }

    async fn usage(&self) -> Result<super::StoreUsage, ChunkError> {
        self.blocking(|s| {
            let (mut chunks, mut bytes) = (0, 0);
            s.each_chunk_file(|f| {
                chunks += 1;
                bytes += f.metadata().map_err(io)?.len();
                Ok(())
            })?;
            Ok(super::StoreUsage { chunks, bytes: Some(bytes) })
        })
        .await
    }

    fn local_path(&self, id: ChunkId) -> Option<PathBuf> {
        let path = self.inner.path(id);
        path.exists().then_some(path)
    }

    async fn put_file(&self, id: ChunkId, source: &Path) -> Result<bool, ChunkError> {
        let source = source.to_path_buf();
        self.blocking(move |s| {
            let path = s.path(id);
            if path.exists() {
                return Ok(false);
            }
            std::fs::create_dir_all(path.parent().expect("nested path")).map_err(io)?;
            // Chunks are immutable, so two stores on one filesystem can share the file.
            match std::fs::hard_link(&source, &path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
                Err(_) => {
                    let data = std::fs::read(&source).map_err(io)?;
                    if ChunkId::of(&data) != id {
                        return Err(ChunkError::Corrupt(id));
                    }
                    let n = s.tmp_seq.fetch_add(1, Ordering::Relaxed);
                    let tmp = s.root.join("tmp").join(format!("{}.{}.{n}", id.to_hex(), std::process::id()));
                    std::fs::write(&tmp, &data).map_err(io)?;
                    std::fs::rename(&tmp, &path).map_err(io)?;
                    Ok(true)
                }
            }
        })
        .await
    }

    async fn written_at(&self, id: ChunkId) -> Result<Option<std::time::SystemTime>, ChunkError> {
        self.blocking(move |s| match std::fs::metadata(s.path(id)) {
            Ok(m) => m.modified().map(Some).map_err(io),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        })
        .await
    }

    async fn size(&self, id: ChunkId) -> Result<Option<u64>, ChunkError> {
        self.blocking(move |s| match std::fs::metadata(s.path(id)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        })
        .await
    }

    async fn sync(&self) -> Result<(), ChunkError> {
        // One syncfs for everything written since the last sync (chunk files and renames).
        self.blocking(|s| {
            let dir = std::fs::File::open(&s.root).map_err(io)?;
            rustix::fs::syncfs(&dir).map_err(|e| ChunkError::Io(e.to_string()))
        })
        .await
    }
}
