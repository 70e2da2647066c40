//! A read-through cache of documents, used by both backends.
//!
//! SQLite caches every kind: one process owns the database file (the server takes a lock on its
//! data directory), so every write goes through this process, which drops the written keys from
//! the cache right after the commit, while it still holds the writer connection (so no later
//! write, such as a job claim, can run before the cache forgets). PostgreSQL caches only kinds
//! that are read on every request and rarely written (subscriptions, groups, role assignments,
//! principals); other nodes' writes reach it by `NOTIFY` (see `postgres`). A reader that missed
//! records the generation before it queries and inserts what it read only if no write committed
//! meanwhile, so a stale row can never be put back after its invalidation. List pages are cached
//! too and all dropped on any write: writes are rare next to reads, and a page can change in
//! ways its keys do not show.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::{Doc, Kind};

/// How many documents the cache holds before it starts over.
const CAPACITY: usize = 100_000;

/// A cached read: the document, or `None` for "known to be absent".
type Entry = Option<Arc<Doc>>;

/// The arguments of one `list` call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ListKey {
    pub kind: Kind,
    pub prefix: String,
    pub after: Option<String>,
    pub limit: usize,
}

#[derive(Default)]
pub(crate) struct DocCache {
    map: RwLock<HashMap<(Kind, String), Entry>>,
    lists: RwLock<HashMap<ListKey, Vec<Arc<Doc>>>>,
    generation: AtomicU64,
}

impl DocCache {
    /// A cached answer (`Some(None)` caches "absent").
    fn get(&self, kind: Kind, key: &str) -> Option<Entry> {
        let map = self.map.read().ok()?;
        map.get(&(kind, key.to_string())).cloned()
    }

    /// The generation to pass to `insert` after reading the database.
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Remembers what a read found, unless a write committed since `generation`.
    fn insert(&self, generation: u64, kind: Kind, key: &str, doc: Entry) {
        let Ok(mut map) = self.map.write() else { return };
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert((kind, key.to_string()), doc);
    }

    /// A cached list page.
    fn get_list(&self, key: &ListKey) -> Option<Vec<Arc<Doc>>> {
        self.lists.read().ok()?.get(key).cloned()
    }

    /// Remembers a list page, unless a write committed since `generation`.
    fn insert_list(&self, generation: u64, key: ListKey, docs: Vec<Arc<Doc>>) {
        let Ok(mut lists) = self.lists.write() else { return };
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if lists.len() >= CAPACITY / 10 {
            lists.clear();
        }
        lists.insert(key, docs);
    }

    /// Forgets written keys; called after every commit under the writer lock (and after a
    /// failed batch, harmlessly).
    pub(crate) fn invalidate<'a>(&self, keys: impl IntoIterator<Item = (Kind, &'a str)>) {
        let Ok(mut map) = self.map.write() else { return };
        let Ok(mut lists) = self.lists.write() else { return };
        self.generation.fetch_add(1, Ordering::AcqRel);
        lists.clear();
        for (kind, key) in keys {
            map.remove(&(kind, key.to_string()));
        }
    }

    /// Forgets everything (another node's writes may have been missed).
    pub(crate) fn clear(&self) {
        let Ok(mut map) = self.map.write() else { return };
        let Ok(mut lists) = self.lists.write() else { return };
        self.generation.fetch_add(1, Ordering::AcqRel);
        lists.clear();
        map.clear();
    }

    /// The cached document, or what `read` finds (remembered unless a write committed meanwhile).
    pub(crate) async fn read_through<E>(
        &self,
        kind: Kind,
        key: &str,
        read: impl std::future::Future<Output = Result<Entry, E>>,
    ) -> Result<Entry, E> {
        if let Some(hit) = self.get(kind, key) {
            return Ok(hit);
        }
        let generation = self.generation();
        let doc = read.await?;
        self.insert(generation, kind, key, doc.clone());
        Ok(doc)
    }

    /// The cached list page, or what `read` finds (remembered unless a write committed meanwhile).
    pub(crate) async fn list_through<E>(
        &self,
        query: ListKey,
        read: impl std::future::Future<Output = Result<Vec<Arc<Doc>>, E>>,
    ) -> Result<Vec<Arc<Doc>>, E> {
        if let Some(hit) = self.get_list(&query) {
            return Ok(hit);
        }
        let generation = self.generation();
        let docs = read.await?;
        self.insert_list(generation, query, docs.clone());
        Ok(docs)
    }
}
