//! `galleon db copy`: moves a single node's metadata (SQLite in its data directory) into a
//! PostgreSQL database several nodes can share: every document of every kind (resources,
//! principals, role assignments, deployments, the instance's identity and signing key, portal
//! sessions) and every operation, then reads both back and compares them. The target must be
//! empty; the source must not be served meanwhile (its directory lock is taken). Chunks stay
//! where the region stores keep them: point every node's `[[stores]]` at the same places.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use galleon_store::postgres::PgStore;
use galleon_store::sqlite::SqliteStore;
use galleon_store::{Batch, Doc, Expect, Kind, MetadataStore, Operation};

use crate::bootstrap;

const PAGE: usize = 500;

/// `galleon db …`
#[derive(clap::Subcommand)]
pub(crate) enum DbCommand {
    /// Copy a data directory's metadata into an empty PostgreSQL database.
    Copy {
        /// The data directory whose metadata.db to copy (no server may be running on it).
        #[arg(long)]
        from: std::path::PathBuf,
        /// The PostgreSQL URL to copy into (postgres://user@host:port/db).
        #[arg(long, env = "GALLEON_DATABASE_URL", hide_env_values = true)]
        to: String,
    },
}

pub(crate) async fn run(command: DbCommand) -> anyhow::Result<()> {
    match command {
        DbCommand::Copy { from, to } => {
            let counts = copy(&from, &to).await?;
            for (what, n) in &counts {
                println!("{what}: {n}");
            }
            println!("copied and verified: {} rows", counts.values().sum::<usize>());
            Ok(())
        }
    }
}

/// Copies and verifies; returns how many rows of each kind (and "operation") were copied.
pub(crate) async fn copy(dir: &Path, url: &str) -> anyhow::Result<BTreeMap<String, usize>> {
    let db = dir.join("metadata.db");
    anyhow::ensure!(db.is_file(), "{} has no metadata.db: is it a galleon data directory?", dir.display());
    let _lock = bootstrap::lock(dir).context("the data directory is being served: stop galleon first")?;
    let source = SqliteStore::open(&db).context("opening the source metadata")?;
    // Data directories from before kept the identity and key in files: adopt them first, so
    // they travel with the rest.
    bootstrap::instance(&source, dir).await?;
    bootstrap::signing_key(&source, dir).await?;
    let target = PgStore::connect(url).await.context("opening the target database")?;
    ensure_empty(&target).await?;

    let mut counts = BTreeMap::new();
    for kind in Kind::ALL {
        let mut after: Option<String> = None;
        loop {
            let docs = source.list(kind, "", after.as_deref(), PAGE).await?;
            let Some(last) = docs.last() else { break };
            after = Some(last.key.clone());
            let n = docs.len();
            let batch = docs.iter().fold(Batch::new(), |b, d| b.put(Doc::clone(d), Expect::Absent));
            target.apply(batch).await.with_context(|| format!("writing {} documents", kind.as_str()))?;
            *counts.entry(kind.as_str().to_string()).or_default() += n;
            if n < PAGE {
                break;
            }
        }
    }
    let mut after: Option<String> = None;
    loop {
        let ops = source.list_operations(after.as_deref(), PAGE).await?;
        let Some(last) = ops.last() else { break };
        after = Some(last.id.clone());
        let n = ops.len();
        let batch = ops.into_iter().fold(Batch::new(), Batch::operation);
        target.apply(batch).await.context("writing operations")?;
        *counts.entry("operation".to_string()).or_default() += n;
        if n < PAGE {
            break;
        }
    }
    verify(&source, &target).await?;
    Ok(counts)
}

async fn ensure_empty(target: &dyn MetadataStore) -> anyhow::Result<()> {
    for kind in Kind::ALL {
        if let Some(doc) = target.list(kind, "", None, 1).await?.first() {
            bail!("the target database is not empty (it has {} '{}'); copy into an empty one", kind.as_str(), doc.key);
        }
    }
    if !target.list_operations(None, 1).await?.is_empty() {
        bail!("the target database is not empty (it has operations); copy into an empty one");
    }
    Ok(())
}

/// Everything in the source is in the target, the same (revisions aside: the target numbers
/// its own), and nothing else.
async fn verify(source: &dyn MetadataStore, target: &dyn MetadataStore) -> anyhow::Result<()> {
    for kind in Kind::ALL {
        let (a, b) = (all_docs(source, kind).await?, all_docs(target, kind).await?);
        anyhow::ensure!(a.len() == b.len(), "{}: {} in the source, {} copied", kind.as_str(), a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            anyhow::ensure!(
                x.key == y.key && x.unique == y.unique && x.body == y.body,
                "{} '{}' differs after the copy",
                kind.as_str(),
                x.key
            );
        }
    }
    let (a, b) = (all_operations(source).await?, all_operations(target).await?);
    anyhow::ensure!(a == b, "operations differ after the copy ({} in the source, {} copied)", a.len(), b.len());
    Ok(())
}

async fn all_docs(store: &dyn MetadataStore, kind: Kind) -> anyhow::Result<Vec<Doc>> {
    let mut out = Vec::new();
    loop {
        let page = store.list(kind, "", out.last().map(|d: &Doc| d.key.as_str()), PAGE).await?;
        let n = page.len();
        out.extend(page.iter().map(|d| Doc::clone(d)));
        if n < PAGE {
            return Ok(out);
        }
    }
}

async fn all_operations(store: &dyn MetadataStore) -> anyhow::Result<Vec<Operation>> {
    let mut out: Vec<Operation> = Vec::new();
    loop {
        let page = store.list_operations(out.last().map(|o| o.id.as_str()), PAGE).await?;
        let n = page.len();
        out.extend(page);
        if n < PAGE {
            return Ok(out);
        }
    }
}
