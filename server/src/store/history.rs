//! What the annotation history reads and keeps: the update log as rows, checkpoints by
//! `(picture, seq)`, the activity index, every change to each shape, named versions.
//! The `HistoryStore` trait; SQLite and PostgreSQL implement it beside `MetaStore`.

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::StoreError;

pub use hugepic_hub_core::presence::Author;

/// One logged document update.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// Sequence in the picture's log (increasing; not contiguous in PostgreSQL).
    pub seq: i64,
    /// When it was logged, microseconds since 1970.
    pub at: i64,
    /// Who sent it.
    pub author: Author,
    /// The role of the link it came with, as checked by the server.
    pub role: String,
    /// The seq a restore went back to; `None` for ordinary edits.
    pub restored_to: Option<i64>,
    /// Yjs update, v1 encoding.
    pub update: Vec<u8>,
}

/// A compacted state: the document after every update up to `seq`, whole, or as a
/// delta on the checkpoint at `base`.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The last update it includes.
    pub seq: i64,
    /// For a delta, the seq of the checkpoint it applies to; `None` for a whole state.
    pub base: Option<i64>,
    /// The Yjs state (or delta) as stored (see `encoding`).
    pub state: Vec<u8>,
    /// How `state` is stored: `v1` (a Yjs v1 update), `v1+deflate` or `v2+deflate`.
    pub encoding: String,
    /// As read back: when its last update was logged (µs since 1970). Not written.
    pub at: Option<i64>,
}

/// How far the history index has read a picture's log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexState {
    /// Every update up to here is indexed.
    pub indexed_seq: i64,
    /// Updates indexed since the last checkpoint.
    pub since_checkpoint: i64,
    /// Bytes of the updates indexed since the last checkpoint.
    pub bytes_since: i64,
    /// Stored size of the last whole-state checkpoint.
    pub checkpoint_bytes: i64,
    /// Stored size of the deltas written since that whole state.
    pub chain_bytes: i64,
}

/// One entry of the activity: consecutive changes by one author, close in time.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    /// First update of the entry.
    pub from_seq: i64,
    /// Last update of the entry.
    pub to_seq: i64,
    /// When the first was logged (µs since 1970).
    pub from_at: i64,
    /// When the last was logged (µs since 1970).
    pub to_at: i64,
    /// Who.
    pub author: Author,
    /// Set when the entry is a restore: the seq it went back to.
    pub restored_to: Option<i64>,
    /// Updates in the entry.
    pub updates: i64,
    /// Comment messages posted or taken away.
    pub comments: i64,
    /// Shapes that appeared.
    pub added: Vec<String>,
    /// Shapes that changed (and did not appear within the entry).
    pub changed: Vec<String>,
    /// Shapes that went away.
    pub deleted: Vec<String>,
}

/// A change to one shape, as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeChangeRow {
    /// The shape.
    pub shape_id: String,
    /// The update that changed it.
    pub seq: i64,
    /// The shape as JSON after the change; `None` when it was deleted.
    pub after: Option<String>,
}

/// A change to one shape, with when and who (read back for the shape's history).
#[derive(Debug, Clone)]
pub struct ShapeChange {
    /// The update that changed it.
    pub seq: i64,
    /// When (µs since 1970).
    pub at: i64,
    /// Who.
    pub author: Author,
    /// Set when the change was a restore.
    pub restored_to: Option<i64>,
    /// The shape as JSON after the change; `None` when it was deleted.
    pub after: Option<String>,
}

/// What one run of the indexer adds, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct IndexBatch {
    /// Where the index stood when the run began; if another indexer moved it since, the
    /// batch is not written (`commit_index` answers false).
    pub expected: IndexState,
    /// Where it stands after the batch.
    pub next: IndexState,
    /// Activity entries to insert or replace (by `from_seq`).
    pub activity: Vec<ActivityRow>,
    /// Shape changes to add.
    pub shape_changes: Vec<ShapeChangeRow>,
    /// Checkpoints to add.
    pub checkpoints: Vec<Checkpoint>,
    /// Each author's updates in the batch, added to the picture's totals.
    pub authors: Vec<AuthorTally>,
}

/// One author's updates in an index batch: how many, and the name and colour of the
/// last one (which become the author's name and colour in the picture's list).
#[derive(Debug, Clone)]
pub struct AuthorTally {
    /// Grouped as the activity groups them (`historian::author_key`).
    pub author: Author,
    /// Updates in the batch.
    pub updates: i64,
    /// The last of them.
    pub latest_seq: i64,
}

/// Which activity entries to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    /// At most this many.
    pub limit: u32,
    /// Only entries that end before this seq (paging).
    pub before: Option<i64>,
    /// Only this author's.
    pub author_id: Option<String>,
    /// Only entries that end at or after this time (µs).
    pub since: Option<i64>,
    /// Only entries that begin at or before this time (µs).
    pub until: Option<i64>,
}

/// The ends of a picture's log.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogBounds {
    /// First logged seq and its time, if anything is logged.
    pub first: Option<(i64, i64)>,
    /// Last logged seq and its time.
    pub latest: Option<(i64, i64)>,
}

/// A named version: a moment someone gave a name.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// Random id.
    pub id: String,
    /// The name given.
    pub name: String,
    /// The moment.
    pub seq: i64,
    /// When it was named (µs since 1970).
    pub created_at: i64,
    /// Who named it.
    pub author: Author,
}

/// The history's storage.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// At most `limit` logged updates with `after < seq <= upto` (no upper end without
    /// `upto`), in order.
    async fn log_rows(
        &self,
        picture_id: &str,
        after: i64,
        upto: Option<i64>,
        limit: usize,
    ) -> Result<Vec<LogRow>, StoreError>;
    /// Every logged update with `after < seq <= upto`, in order, into `sink` as they
    /// are read (the reader holds at most what `sink` buffers). Stops early, without
    /// error, when the receiver is gone.
    async fn stream_log(
        &self,
        picture_id: &str,
        after: i64,
        upto: i64,
        sink: mpsc::Sender<LogRow>,
    ) -> Result<(), StoreError>;
    /// The newest checkpoint at or before `seq` and the checkpoints it is a delta on,
    /// oldest (a whole state) first; empty if there is none.
    async fn checkpoint_chain(
        &self,
        picture_id: &str,
        seq: i64,
    ) -> Result<Vec<Checkpoint>, StoreError>;
    /// Keeps a checkpoint (one already kept at that seq stays).
    async fn save_checkpoint(
        &self,
        picture_id: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError>;
    /// How far the index has read the log.
    async fn index_state(&self, picture_id: &str) -> Result<IndexState, StoreError>;
    /// The newest activity entry, which the indexer may extend.
    async fn last_activity(&self, picture_id: &str) -> Result<Option<ActivityRow>, StoreError>;
    /// Writes `batch` unless the index moved since `batch.expected`; whether it did.
    async fn commit_index(&self, picture_id: &str, batch: &IndexBatch) -> Result<bool, StoreError>;
    /// Activity entries, newest first.
    async fn activity(
        &self,
        picture_id: &str,
        query: &ActivityQuery,
    ) -> Result<Vec<ActivityRow>, StoreError>;
    /// Everyone in the activity, with their latest name and colour and how many updates.
    async fn authors(&self, picture_id: &str) -> Result<Vec<(Author, i64)>, StoreError>;
    /// The first and last logged updates.
    async fn log_bounds(&self, picture_id: &str) -> Result<LogBounds, StoreError>;
    /// The last seq logged at or before `at` (µs since 1970); 0 when none.
    async fn seq_at(&self, picture_id: &str, at: i64) -> Result<i64, StoreError>;
    /// Every indexed change to one shape, oldest first.
    async fn shape_changes(
        &self,
        picture_id: &str,
        shape_id: &str,
    ) -> Result<Vec<ShapeChange>, StoreError>;
    /// Keeps a named version.
    async fn create_version(
        &self,
        picture_id: &str,
        version: &VersionRow,
    ) -> Result<(), StoreError>;
    /// Named versions, oldest moment first.
    async fn versions(&self, picture_id: &str) -> Result<Vec<VersionRow>, StoreError>;
}

/// Who wrote an update, as the log keeps it once in `document_writers`.
pub(super) type WriterKey = (String, String, String, String, String);

/// The ids of `document_writers` rows this process has used. Writers are never deleted,
/// so an id once read stays right.
#[derive(Debug, Default)]
pub(super) struct Writers(std::sync::Mutex<std::collections::HashMap<WriterKey, i64>>);

impl Writers {
    /// The key of `update`'s writer.
    pub(super) fn key(update: &super::NewUpdate<'_>) -> WriterKey {
        (
            update.author.id.clone(),
            update.author.name.clone(),
            update.author.color.clone(),
            update.role.to_string(),
            update.node.to_string(),
        )
    }

    pub(super) fn get(&self, key: &WriterKey) -> Option<i64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .copied()
    }

    pub(super) fn put(&self, key: WriterKey, id: i64) {
        let mut writers = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if writers.len() > 10_000 {
            writers.clear(); // a bound; the rows stay in the database
        }
        writers.insert(key, id);
    }
}
