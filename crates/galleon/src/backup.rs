//! `galleon backup --to DIR` and `galleon restore --from DIR --data-dir NEW`.
//!
//! A backup is a directory (mode 0700: it holds the credentials, the CA key and the metadata
//! with its secret hashes and signing keys):
//! - `metadata.db`: a consistent snapshot of the SQLite metadata, taken while the server runs
//!   (`VACUUM INTO`). With PostgreSQL the metadata is the database's to back up (`pg_dump`);
//!   `metadata.txt` says so.
//! - `chunks/`: every chunk (manifests are chunks too) of every region store, content-addressed,
//!   one copy however many stores hold it. Chunks never change, so a second backup into the same
//!   directory copies only the new ones.
//! - `stores/<region>/<store>.ids`: which chunks each store held, for the restore.
//! - `credentials.json`, `tls/`, `galleon.toml` when the data directory has them.
//! - `backup.json`: what was backed up, when, by which galleon (written last: a directory without
//!   it is an unfinished backup).
//!
//! Chunks are listed before and after the metadata snapshot: every chunk the snapshot names was
//! written before it (jobs write chunks before the records that name them), so it is in the first
//! listing or, if younger, in the second (garbage collection only takes chunks older than its
//! grace period that nothing names). The restore checks every chunk's digest as it writes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use galleon_blob::ChunkId;
use galleon_blob::store::{ChunkStore, LocalStore};
use serde::{Deserialize, Serialize};

use crate::config::{ServeArgs, Settings};
use crate::files::private_dir;

/// How many chunk copies run at once.
const COPIES: usize = 8;

/// `galleon backup` flags.
#[derive(clap::Args, Debug)]
pub(crate) struct BackupArgs {
    /// The backup directory (created; a previous backup there is brought up to date).
    #[arg(long)]
    to: PathBuf,
    /// The server's settings (the same flags, environment and file as `galleon serve`).
    #[command(flatten)]
    serve: ServeArgs,
}

/// `galleon restore` flags.
#[derive(clap::Args, Debug)]
pub(crate) struct RestoreArgs {
    /// A directory written by `galleon backup`.
    #[arg(long)]
    from: PathBuf,
    /// The settings of the server to restore into (`--data-dir` must be new or empty).
    #[command(flatten)]
    serve: ServeArgs,
}

/// `backup.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    /// The layout of the backup directory.
    format: u32,
    galleon_version: String,
    /// RFC 3339.
    finished_at: String,
    /// `sqlite` (in `metadata.db`) or `postgres` (not in the backup).
    metadata: String,
    /// Chunks in `chunks/`.
    chunks: usize,
    /// Chunks this run copied (the rest were there from an earlier backup).
    chunks_copied: usize,
}

const FORMAT: u32 = 1;

fn copy_file_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    crate::files::write_private(to, &bytes).with_context(|| format!("writing {}", to.display()))
}

fn copy_dir_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    private_dir(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        // Regular files only: a symlink or FIFO planted in the data directory is not followed.
        if entry.file_type()?.is_file() {
            copy_file_private(&entry.path(), &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// Copies the chunks of `source` that `pool` lacks; returns how many it copied.
async fn copy_missing(source: &Arc<dyn ChunkStore>, ids: &[ChunkId], pool: &Arc<LocalStore>) -> anyhow::Result<usize> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let copied = stream::iter(ids.iter().copied())
        .map(|id| {
            let (source, pool) = (source.clone(), pool.clone());
            async move {
                if pool.has(id).await? {
                    return Ok::<usize, galleon_blob::store::ChunkError>(0);
                }
                // Read (verified against its id) and written whole: a torn copy is never kept.
                pool.put(id, source.get(id).await?).await?;
                Ok(1)
            }
        })
        .buffer_unordered(COPIES)
        .try_fold(0, |n, c| async move { Ok(n + c) })
        .await?;
    Ok(copied)
}

fn ids_path(root: &Path, region: &str, store: &str) -> PathBuf {
    root.join("stores").join(region).join(format!("{store}.ids"))
}

pub(crate) async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args.serve)?;
    let (data, to) = (&settings.data_dir, &args.to);
    crate::bootstrap::check_format_readable(data)?;
    anyhow::ensure!(
        data.join("metadata.db").is_file() || settings.database_url.is_some(),
        "{} has no metadata.db: is it a galleon data directory?",
        data.display()
    );
    if to.exists() {
        let empty = std::fs::read_dir(to)?.next().is_none();
        anyhow::ensure!(
            empty || to.join("backup.json").is_file() || to.join("chunks").is_dir(),
            "{} is not empty and holds no galleon backup: choose a new directory",
            to.display()
        );
    }
    private_dir(to)?;
    // An unfinished backup is recognisable: backup.json goes last.
    let _ = std::fs::remove_file(to.join("backup.json"));
    let pool = Arc::new(LocalStore::open(&to.join("chunks"))?);
    let stores = crate::stores::open(&settings)?;

    // 1. The chunks there now.
    let mut copied = 0;
    for (region, list) in &stores.by_region {
        for s in list {
            let ids = s.store.list().await.with_context(|| format!("listing {region}/{}", s.name))?;
            copied +=
                copy_missing(&s.store, &ids, &pool).await.with_context(|| format!("copying {region}/{}", s.name))?;
        }
    }
    // 2. The metadata, as one snapshot.
    let metadata = if settings.database_url.is_some() {
        std::fs::write(
            to.join("metadata.txt"),
            "The metadata of this installation is in PostgreSQL: back it up with pg_dump (e.g. `pg_dump --format=custom`) \
             at the same time as this directory, and restore it with pg_restore before starting galleon.\n",
        )?;
        "postgres"
    } else {
        let tmp = to.join("metadata.db.partial");
        let _ = std::fs::remove_file(&tmp);
        galleon_store::sqlite::SqliteStore::snapshot(&data.join("metadata.db"), &tmp)
            .context("taking a snapshot of the metadata")?;
        std::fs::rename(&tmp, to.join("metadata.db"))?;
        "sqlite"
    };
    // 3. Chunks written meanwhile, and each store's list.
    for (region, list) in &stores.by_region {
        private_dir(&to.join("stores").join(region))?;
        for s in list {
            let ids = s.store.list().await.with_context(|| format!("listing {region}/{}", s.name))?;
            copied +=
                copy_missing(&s.store, &ids, &pool).await.with_context(|| format!("copying {region}/{}", s.name))?;
            let text: String = ids.iter().map(|id| format!("{}\n", id.to_hex())).collect();
            crate::files::write_private(&ids_path(to, region, &s.name), text.as_bytes())?;
        }
    }
    pool.sync().await?;
    for file in ["credentials.json", "galleon.toml"] {
        if data.join(file).is_file() {
            copy_file_private(&data.join(file), &to.join(file))?;
        }
    }
    if data.join("tls").is_dir() {
        copy_dir_private(&data.join("tls"), &to.join("tls"))?;
    }
    let chunks = pool.list().await?.len();
    let summary = Summary {
        format: FORMAT,
        galleon_version: env!("CARGO_PKG_VERSION").to_string(),
        finished_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        metadata: metadata.to_string(),
        chunks,
        chunks_copied: copied,
    };
    crate::files::write_private(&to.join("backup.json"), &serde_json::to_vec_pretty(&summary)?)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

pub(crate) async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let from = &args.from;
    let summary: Summary = serde_json::from_slice(
        &std::fs::read(from.join("backup.json"))
            .with_context(|| format!("{} holds no finished backup (no backup.json)", from.display()))?,
    )?;
    anyhow::ensure!(
        summary.format <= FORMAT,
        "this backup's format {} is newer than this galleon's ({FORMAT}): use a newer galleon",
        summary.format
    );
    let settings = Settings::resolve(args.serve)?;
    let data = &settings.data_dir;
    if data.exists() {
        anyhow::ensure!(
            std::fs::read_dir(data)?.next().is_none(),
            "{} is not empty: restore into a new directory",
            data.display()
        );
    }
    anyhow::ensure!(
        summary.metadata == "sqlite" || settings.database_url.is_some(),
        "this backup's metadata is in PostgreSQL: restore it with pg_restore and pass --database-url"
    );
    private_dir(data)?;
    let _lock = crate::bootstrap::lock(data)?;
    if summary.metadata == "sqlite" && settings.database_url.is_none() {
        copy_file_private(&from.join("metadata.db"), &data.join("metadata.db"))?;
    }
    for file in ["credentials.json", "galleon.toml"] {
        if from.join(file).is_file() {
            copy_file_private(&from.join(file), &data.join(file))?;
        }
    }
    if from.join("tls").is_dir() {
        copy_dir_private(&from.join("tls"), &data.join("tls"))?;
    }
    let pool: Arc<dyn ChunkStore> = Arc::new(LocalStore::open(&from.join("chunks"))?);
    let stores = crate::stores::open(&settings)?;
    let mut restored: BTreeMap<String, usize> = BTreeMap::new();
    for (region, list) in &stores.by_region {
        for s in list {
            let path = ids_path(from, region, &s.name);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            let ids: Vec<ChunkId> = text
                .lines()
                .map(|l| l.parse().map_err(|_| anyhow::anyhow!("{}: '{l}' is not a chunk id", path.display())))
                .collect::<anyhow::Result<_>>()?;
            // `get` checks each chunk against its digest before it is written.
            let target = s.store.clone();
            let n = copy_into(&pool, &ids, &target).await.with_context(|| format!("restoring {region}/{}", s.name))?;
            target.sync().await?;
            restored.insert(format!("{region}/{}", s.name), n);
        }
    }
    // Every store the backup names must have found its place.
    for entry in std::fs::read_dir(from.join("stores"))? {
        let region = entry?.file_name().to_string_lossy().to_string();
        for f in std::fs::read_dir(from.join("stores").join(&region))? {
            let name = f?.file_name().to_string_lossy().trim_end_matches(".ids").to_string();
            anyhow::ensure!(
                restored.contains_key(&format!("{region}/{name}")),
                "the backup holds store {region}/{name}, which these settings do not have: configure the same regions and stores"
            );
        }
    }
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "restoredChunks": restored }))?);
    Ok(())
}

/// Puts every chunk of `ids` from `pool` into `target` (verified on read); returns how many.
async fn copy_into(pool: &Arc<dyn ChunkStore>, ids: &[ChunkId], target: &Arc<dyn ChunkStore>) -> anyhow::Result<usize> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    stream::iter(ids.iter().copied())
        .map(|id| {
            let (pool, target) = (pool.clone(), target.clone());
            async move {
                target.put(id, pool.get(id).await?).await?;
                Ok::<usize, galleon_blob::store::ChunkError>(1)
            }
        })
        .buffer_unordered(COPIES)
        .try_fold(0, |n, c| async move { Ok(n + c) })
        .await
        .map_err(Into::into)
}
