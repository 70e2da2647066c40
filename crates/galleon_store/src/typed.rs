//! Typed access on top of the document primitives.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Doc, Kind, MetadataStore, StoreError};

/// A decoded document with its revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<T> {
    /// Revision for optimistic concurrency.
    pub rev: i64,
    /// The value.
    pub value: T,
}

/// Encodes a value as a document.
pub fn doc<T: Serialize>(kind: Kind, key: &str, unique: Option<String>, value: &T) -> Doc {
    Doc {
        kind,
        key: key.to_string(),
        unique,
        rev: 0,
        body: serde_json::to_value(value).expect("model values always encode"),
    }
}

/// Decodes a document.
pub fn decode<T: DeserializeOwned>(doc: Doc) -> Result<Record<T>, StoreError> {
    decode_ref(&doc)
}

/// Decodes a shared document without copying its JSON tree.
pub fn decode_ref<T: DeserializeOwned>(doc: &Doc) -> Result<Record<T>, StoreError> {
    let value =
        T::deserialize(&doc.body).map_err(|e| StoreError::Corrupt { key: doc.key.clone(), reason: e.to_string() })?;
    Ok(Record { rev: doc.rev, value })
}

/// Reads and decodes one document.
pub async fn get<T: DeserializeOwned>(
    store: &dyn MetadataStore,
    kind: Kind,
    key: &str,
) -> Result<Option<Record<T>>, StoreError> {
    store.get(kind, key).await?.map(|d| decode_ref(&d)).transpose()
}

/// Lists and decodes documents under a prefix.
pub async fn list<T: DeserializeOwned>(
    store: &dyn MetadataStore,
    kind: Kind,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Record<T>)>, StoreError> {
    let docs = store.list(kind, prefix, after, limit).await?;
    docs.iter().map(|d| Ok((d.key.clone(), decode_ref(d)?))).collect()
}
