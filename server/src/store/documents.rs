//! Annotation documents as the hub stores them: the `DocStore` trait (append to a
//! picture's update log, load a document, save a snapshot), implemented by the SQLite
//! and PostgreSQL stores and, for tests and tools, in memory (`MemoryDocStore`).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Author, StoreError};

/// One update for a picture's document log.
#[derive(Debug, Clone)]
pub struct NewUpdate<'a> {
    /// The picture.
    pub picture_id: &'a str,
    /// Yjs update, v1 encoding.
    pub update: &'a [u8],
    /// Who sent it (from their awareness state; a name like "connection 3" if none).
    pub author: &'a Author,
    /// The role of their connection.
    pub role: &'a str,
    /// The server node that received it.
    pub node: &'a str,
    /// Set when the update is a restore: the seq it went back to.
    pub restored_to: Option<i64>,
}

/// What is stored of a document.
#[derive(Debug, Clone, Default)]
pub struct StoredDocument {
    /// Latest snapshot and the last sequence number it includes.
    pub snapshot: Option<(Vec<u8>, i64)>,
    /// Updates after the snapshot: (sequence, update).
    pub updates: Vec<(i64, Vec<u8>)>,
}

impl StoredDocument {
    /// The document it holds, and the seqs of parts that did not decode (skipped).
    pub fn open(&self) -> (hugepic_hub_core::document::Document, Vec<i64>) {
        let snapshot = self.snapshot.as_ref().map(|(s, seq)| (*seq, s.as_slice()));
        let updates = self.updates.iter().map(|(seq, u)| (*seq, u.as_slice()));
        hugepic_hub_core::document::Document::load(snapshot, updates)
    }
}

/// Where the hub keeps documents: a few methods, apart from the rest of the metadata.
#[async_trait]
pub trait DocStore: Send + Sync {
    /// Appends document updates to their pictures' logs, in order, in one transaction
    /// (the log writer hands over everything that arrived while it last wrote); the
    /// sequence number each got, in the same order. A picture's updates are numbered in
    /// the order they commit, also with several nodes writing.
    async fn append_updates(&self, updates: &[NewUpdate<'_>]) -> Result<Vec<i64>, StoreError>;
    /// The latest snapshot of a picture's document (state, last sequence it includes)
    /// and every logged update after it, in order.
    async fn load_document(&self, picture_id: &str) -> Result<StoredDocument, StoreError>;
    /// Records a compacted state including every update up to `upto_seq`.
    async fn save_snapshot(
        &self,
        picture_id: &str,
        state: &[u8],
        upto_seq: i64,
    ) -> Result<(), StoreError>;
    /// Whether the picture is known to be deleted (its updates can never be logged),
    /// as opposed to the store being unreachable now.
    async fn document_gone(&self, picture_id: &str) -> Result<bool, StoreError>;
}

/// Documents in memory, for pictures named up front (others are gone): what the hub's
/// tests run on, with no database.
#[derive(Debug, Default)]
pub struct MemoryDocStore {
    inner: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    pictures: HashSet<String>,
    logs: HashMap<String, Vec<(i64, Vec<u8>, Author)>>,
    snapshots: HashMap<String, (Vec<u8>, i64)>,
}

impl MemoryDocStore {
    /// A store that knows `pictures`.
    pub fn with_pictures<'a>(pictures: impl IntoIterator<Item = &'a str>) -> MemoryDocStore {
        let store = MemoryDocStore::default();
        store.lock().pictures = pictures.into_iter().map(str::to_string).collect();
        store
    }

    /// Deletes a picture: its log and snapshot go, and appends to it fail.
    pub fn delete(&self, picture_id: &str) {
        let mut memory = self.lock();
        memory.pictures.remove(picture_id);
        memory.logs.remove(picture_id);
        memory.snapshots.remove(picture_id);
    }

    /// The logged updates of a picture with their authors, in order.
    pub fn log(&self, picture_id: &str) -> Vec<(i64, Vec<u8>, Author)> {
        self.lock()
            .logs
            .get(picture_id)
            .cloned()
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl DocStore for MemoryDocStore {
    async fn append_updates(&self, updates: &[NewUpdate<'_>]) -> Result<Vec<i64>, StoreError> {
        let mut memory = self.lock();
        // All or nothing, as in one transaction.
        if let Some(gone) = updates
            .iter()
            .find(|u| !memory.pictures.contains(u.picture_id))
        {
            return Err(StoreError::Database(format!(
                "picture {} does not exist",
                gone.picture_id
            )));
        }
        let mut seqs = Vec::with_capacity(updates.len());
        for u in updates {
            let log = memory.logs.entry(u.picture_id.to_string()).or_default();
            let seq = log.last().map_or(1, |(seq, _, _)| seq + 1);
            log.push((seq, u.update.to_vec(), u.author.clone()));
            seqs.push(seq);
        }
        Ok(seqs)
    }

    async fn load_document(&self, picture_id: &str) -> Result<StoredDocument, StoreError> {
        let memory = self.lock();
        let snapshot = memory.snapshots.get(picture_id).cloned();
        let after = snapshot.as_ref().map_or(0, |(_, seq)| *seq);
        let updates = memory
            .logs
            .get(picture_id)
            .map(|log| {
                log.iter()
                    .filter(|(seq, _, _)| *seq > after)
                    .map(|(seq, update, _)| (*seq, update.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(StoredDocument { snapshot, updates })
    }

    async fn save_snapshot(
        &self,
        picture_id: &str,
        state: &[u8],
        upto_seq: i64,
    ) -> Result<(), StoreError> {
        let mut memory = self.lock();
        if !memory.pictures.contains(picture_id) {
            return Err(StoreError::Database(format!(
                "picture {picture_id} does not exist"
            )));
        }
        memory
            .snapshots
            .insert(picture_id.to_string(), (state.to_vec(), upto_seq));
        Ok(())
    }

    async fn document_gone(&self, picture_id: &str) -> Result<bool, StoreError> {
        Ok(!self.lock().pictures.contains(picture_id))
    }
}
