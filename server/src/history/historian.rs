//! The `Historian` reads each picture's update log once, in order, and keeps what the
//! history answers from: a checkpoint every K updates (or by weight: see
//! `checkpoint::CheckpointPolicy`), the activity (consecutive changes by one author less than a minute
//! apart, grouped), and every change to each shape with the shape as it became. It runs in the background shortly after updates are logged,
//! and before any history read, so answers are always up to date. Several nodes may index
//! the same picture: a run whose starting point another run moved is discarded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::{mpsc, Mutex};

use super::cache::{roots_bytes, state_line, LineKey, MomentCache, Roots};
use super::checkpoint::{self, CheckpointPolicy};
use super::cpu;
use super::replay::{Effects, Replay, Use};
use super::HistoryError;
use crate::store::{
    ActivityRow, Author, AuthorTally, IndexBatch, IndexState, LogRow, MetaStore, ShapeChangeRow,
};

/// Updates of one author closer than this are one activity entry.
pub const GROUP_GAP_MICROS: i64 = 60_000_000;

/// Log rows the indexer reads (and commits) at a time.
const INDEX_CHUNK: usize = 2000;

/// Shape ids an activity entry remembers per kind of change.
const ENTRY_IDS: usize = 2000;

/// Pictures whose replayed document the historian keeps between runs.
const CACHED_PICTURES: usize = 16;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct HistoryMetrics {
    /// Log rows read to rebuild a moment (state, frames, restore).
    pub updates_read: AtomicU64,
    /// Log rows indexed.
    pub updates_indexed: AtomicU64,
    /// Checkpoints written.
    pub checkpoints: AtomicU64,
    /// Checkpoint lines `history/frames` made (decoded and encoded) rather than found
    /// in its cache.
    pub checkpoint_lines_made: AtomicU64,
    /// Moments a state or restore found rebuilt a moment before.
    pub moments_kept: AtomicU64,
}

/// A picture's index position and its replayed document there.
struct Indexed {
    seq: i64,
    replay: Replay,
    base: Option<Base>,
}

/// Which thread replays: one for a request someone waits on, or the index's own.
#[derive(Clone, Copy)]
enum Worker {
    Request,
    Background,
}

/// The newest checkpoint, which the next delta applies to.
#[derive(Clone)]
struct Base {
    seq: i64,
    snapshot: yrs::Snapshot,
}

struct Inner {
    store: Arc<dyn MetaStore>,
    checkpoints: CheckpointPolicy,
    /// Per picture: one indexer at a time, and its document when it last stopped.
    pictures: std::sync::Mutex<HashMap<String, Arc<Mutex<Option<Indexed>>>>>,
    metrics: HistoryMetrics,
    lines: super::cache::LineCache,
    moments: MomentCache,
}

/// Keeps the history index of every picture up to date.
#[derive(Clone)]
pub struct Historian {
    inner: Arc<Inner>,
}

impl Historian {
    /// A historian over `store`, writing checkpoints as `checkpoints` says, keeping
    /// 64 MiB of the frames' checkpoint lines and 64 MiB of moments rebuilt.
    pub fn new(store: Arc<dyn MetaStore>, checkpoints: CheckpointPolicy) -> Historian {
        let budget = super::cache::DEFAULT_BUDGET;
        Historian::with_cache(store, checkpoints, budget, budget)
    }

    /// The same, keeping `line_bytes` of checkpoint lines and `moment_bytes` of moments.
    pub fn with_cache(
        store: Arc<dyn MetaStore>,
        checkpoints: CheckpointPolicy,
        line_bytes: usize,
        moment_bytes: usize,
    ) -> Historian {
        Historian {
            inner: Arc::new(Inner {
                store,
                checkpoints,
                pictures: std::sync::Mutex::default(),
                metrics: HistoryMetrics::default(),
                lines: super::cache::LineCache::new(line_bytes),
                moments: MomentCache::new(moment_bytes, super::cache::MOMENT_TTL),
            }),
        }
    }

    /// The checkpoint lines `history/frames` made.
    pub fn lines(&self) -> &super::cache::LineCache {
        &self.inner.lines
    }

    /// The store it reads.
    pub fn store(&self) -> &Arc<dyn MetaStore> {
        &self.inner.store
    }

    /// Updates between checkpoints.
    pub fn checkpoint_every(&self) -> i64 {
        self.inner.checkpoints.every
    }

    /// Its counters.
    pub fn metrics(&self) -> &HistoryMetrics {
        &self.inner.metrics
    }

    /// Indexes, in the background, the pictures named on `logged` (the hub names a
    /// picture each time it logs updates for it), a little after they arrive so that a
    /// run takes many updates at once. Ends when every sender is gone.
    pub fn start(&self, mut logged: mpsc::UnboundedReceiver<String>) {
        let historian = self.clone();
        tokio::spawn(async move {
            let mut due = BTreeSet::new();
            while let Some(picture) = logged.recv().await {
                due.insert(picture);
                tokio::time::sleep(Duration::from_millis(500)).await;
                while let Ok(picture) = logged.try_recv() {
                    due.insert(picture);
                }
                for picture in std::mem::take(&mut due) {
                    if let Err(e) = historian.catch_up(&picture).await {
                        tracing::warn!(picture, error = %e, "could not index the history");
                        crate::metrics::failed(crate::metrics::Failure::HistoryIndex);
                    }
                }
            }
        });
    }

    fn slot(&self, picture_id: &str) -> Arc<Mutex<Option<Indexed>>> {
        let mut pictures = self
            .inner
            .pictures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pictures.len() >= CACHED_PICTURES && !pictures.contains_key(picture_id) {
            // Forget documents nobody is indexing right now.
            pictures.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        Arc::clone(pictures.entry(picture_id.to_string()).or_default())
    }

    /// Indexes everything logged for `picture_id` that is not indexed yet; where the
    /// index stands after.
    pub async fn catch_up(&self, picture_id: &str) -> Result<IndexState, HistoryError> {
        let slot = self.slot(picture_id);
        let mut cached = slot.lock().await;
        let store = &self.inner.store;
        loop {
            let state = store.index_state(picture_id).await?;
            let rows = store
                .log_rows(picture_id, state.indexed_seq, None, INDEX_CHUNK)
                .await?;
            if rows.is_empty() {
                return Ok(state);
            }
            let (replay, base) = match cached.take() {
                Some(c) if c.seq == state.indexed_seq => (c.replay, c.base),
                _ => {
                    let (replay, base, _) = self
                        .open(
                            picture_id,
                            state.indexed_seq,
                            Use::Index,
                            Worker::Background,
                        )
                        .await?;
                    (replay, base)
                }
            };
            let open = store.last_activity(picture_id).await?;
            let count = rows.len() as u64;
            let indexer = self.clone();
            let picture = picture_id.to_string();
            let (indexed, replay, base) = cpu::background(move || {
                let mut base = base;
                let indexed = indexer.index(&picture, &replay, &mut base, state, open, &rows);
                (indexed, replay, base)
            })
            .await?;
            let Indexing { batch, last, lines } = indexed?;
            self.inner
                .metrics
                .updates_indexed
                .fetch_add(count, Ordering::Relaxed);
            if store.commit_index(picture_id, &batch).await? {
                for (key, line) in lines {
                    self.inner.lines.offer(key, line);
                }
                self.inner
                    .metrics
                    .checkpoints
                    .fetch_add(batch.checkpoints.len() as u64, Ordering::Relaxed);
                *cached = Some(Indexed {
                    seq: last,
                    replay,
                    base,
                });
            }
            // Else another node indexed these meanwhile: read where it got to.
        }
    }

    /// Indexes the picture's log if the index has not reached `seq` yet.
    pub async fn cover(&self, picture_id: &str, seq: i64) -> Result<(), HistoryError> {
        if self.inner.store.index_state(picture_id).await?.indexed_seq >= seq {
            return Ok(());
        }
        self.catch_up(picture_id).await.map(drop)
    }

    /// The document after every update up to `seq`, from the newest checkpoint at or
    /// before it; and how many log rows that took.
    pub async fn replay_to(
        &self,
        picture_id: &str,
        seq: i64,
        purpose: Use,
    ) -> Result<(Replay, usize), HistoryError> {
        let (replay, _, rows) = self.open(picture_id, seq, purpose, Worker::Request).await?;
        Ok((replay, rows))
    }

    /// The shapes and comments at `seq` if they were rebuilt a moment ago and kept.
    pub fn kept(&self, picture_id: &str, seq: i64) -> Option<Arc<Roots>> {
        let roots = self.inner.moments.get(picture_id, seq)?;
        self.inner
            .metrics
            .moments_kept
            .fetch_add(1, Ordering::Relaxed);
        Some(roots)
    }

    /// The shapes and comments at `seq`, and how many log rows were read to rebuild them
    /// (none when they were kept). What is rebuilt here is kept a short while (see
    /// `MomentCache`): a restore's target, asked for by its dry run first.
    ///
    /// Only moments likely to be asked for again are kept: with every random
    /// `history/state` read kept too, each read cost twice the CPU on the benchmark's
    /// history (p50 384 against 197 ms; why was not measured).
    pub async fn roots_at(
        &self,
        picture_id: &str,
        seq: i64,
    ) -> Result<(Arc<Roots>, Option<usize>), HistoryError> {
        if let Some(roots) = self.kept(picture_id, seq) {
            return Ok((roots, None));
        }
        let (replay, read) = self.replay_to(picture_id, seq, Use::Read).await?;
        let (roots, bytes) = cpu::request(move || {
            let roots = replay.roots();
            let bytes = roots_bytes(&roots);
            (Arc::new(roots), bytes)
        })
        .await?;
        self.inner
            .moments
            .put(picture_id, seq, Arc::clone(&roots), bytes);
        Ok((roots, Some(read)))
    }

    /// Forgets the moments kept of `picture_id` (it was deleted). Its checkpoint lines
    /// stay until the line cache needs their room.
    pub fn forget(&self, picture_id: &str) {
        self.inner.moments.forget_picture(picture_id);
    }

    /// The document after every update up to `seq`, the checkpoint it started from, and
    /// how many log rows it read after that checkpoint.
    async fn open(
        &self,
        picture_id: &str,
        seq: i64,
        purpose: Use,
        worker: Worker,
    ) -> Result<(Replay, Option<Base>, usize), HistoryError> {
        let store = &self.inner.store;
        let chain = store.checkpoint_chain(picture_id, seq).await?;
        let from = chain.last().map_or(0, |c| c.seq);
        let rows = store
            .log_rows(picture_id, from, Some(seq), usize::MAX)
            .await?;
        let read = rows.len();
        self.inner
            .metrics
            .updates_read
            .fetch_add(read as u64, Ordering::Relaxed);
        let picture = picture_id.to_string();
        let work = move || -> Result<(Replay, Option<Base>), HistoryError> {
            let (replay, base) = match (checkpoint::open(&picture, &chain, purpose)?, chain.last())
            {
                (Some(replay), Some(last)) => {
                    let base = Base {
                        seq: last.seq,
                        snapshot: replay.snapshot(),
                    };
                    (replay, Some(base))
                }
                _ => (Replay::new(purpose), None),
            };
            for row in &rows {
                apply_logged(&replay, &picture, row)?;
            }
            Ok((replay, base))
        };
        let (replay, base) = match worker {
            Worker::Request => cpu::request(work).await??,
            Worker::Background => cpu::background(work).await??,
        };
        Ok((replay, base, read))
    }

    /// What indexing `rows` adds, and the last seq it covers.
    fn index(
        &self,
        picture_id: &str,
        replay: &Replay,
        base: &mut Option<Base>,
        state: IndexState,
        open: Option<ActivityRow>,
        rows: &[LogRow],
    ) -> Result<Indexing, HistoryError> {
        let mut lines = Vec::new();
        let mut batch = IndexBatch {
            expected: state,
            ..IndexBatch::default()
        };
        let mut entries: Vec<Entry> = open.map(Entry::from_row).into_iter().collect();
        let mut authors: BTreeMap<String, AuthorTally> = BTreeMap::new();
        let mut at = state;
        for row in rows {
            let author = author_key(&row.author);
            let tally = authors
                .entry(author.id.clone())
                .or_insert_with(|| AuthorTally {
                    author: author.clone(),
                    updates: 0,
                    latest_seq: row.seq,
                });
            tally.author = author;
            tally.updates += 1;
            tally.latest_seq = row.seq;
            let effects = apply_logged(replay, picture_id, row)?;
            for id in effects.shapes() {
                batch.shape_changes.push(ShapeChangeRow {
                    shape_id: id.clone(),
                    seq: row.seq,
                    after: replay.shape(id).map(|v| v.to_string()),
                });
            }
            match entries.last_mut() {
                Some(entry) if entry.continues(row) => entry.extend(row, &effects),
                _ => entries.push(Entry::start(row, &effects)),
            }
            at.indexed_seq = row.seq;
            at.since_checkpoint += 1;
            at.bytes_since += row.update.len() as i64;
            let policy = self.inner.checkpoints;
            if checkpoint::due(&at, policy) {
                // Where the document stands: what a delta is cut against, and the next base.
                let now = replay.snapshot();
                // The frames' v1 line is made here too while the line cache has room: the
                // document is at hand, where a reader would convert the stored v2.
                let (kept, v1) = match base.as_ref() {
                    Some(b) if checkpoint::as_delta(&at, policy) => {
                        let (kept, v1) =
                            checkpoint::pack_delta(row.seq, replay, b.seq, &b.snapshot, &now);
                        (kept, Some(v1))
                    }
                    _ => {
                        let kept = checkpoint::pack(row.seq, replay);
                        let room = self.inner.lines.has_room(kept.state.len() * 4);
                        (kept, room.then(|| replay.state()))
                    }
                };
                if let Some(v1) = v1.filter(|v1| self.inner.lines.has_room(v1.len())) {
                    let key = LineKey {
                        picture: picture_id.to_string(),
                        seq: row.seq,
                        base: kept.base,
                        v2: false,
                    };
                    lines.push((
                        key,
                        state_line(row.seq, kept.base, Some(row.at), false, &v1),
                    ));
                }
                if kept.base.is_some() {
                    at.chain_bytes += kept.state.len() as i64;
                } else {
                    at.checkpoint_bytes = kept.state.len() as i64;
                    at.chain_bytes = 0;
                }
                at.since_checkpoint = 0;
                at.bytes_since = 0;
                *base = Some(Base {
                    seq: row.seq,
                    snapshot: now,
                });
                batch.checkpoints.push(kept);
            }
        }
        batch.next = at;
        batch.activity = entries.into_iter().map(Entry::into_row).collect();
        batch.authors = authors.into_values().collect();
        Ok(Indexing {
            batch,
            last: at.indexed_seq,
            lines,
        })
    }
}

/// What indexing a run of the log adds: the batch to write, the last seq it covers, and
/// the frames' lines of its checkpoints made meanwhile (kept once the batch is written).
struct Indexing {
    batch: IndexBatch,
    last: i64,
    lines: Vec<(LineKey, Bytes)>,
}

/// Applies a logged update, naming it if it does not decode.
fn apply_logged(replay: &Replay, picture_id: &str, row: &LogRow) -> Result<Effects, HistoryError> {
    replay
        .apply(&row.update)
        .map_err(|_| HistoryError::Corrupt {
            picture: picture_id.to_string(),
            seq: row.seq,
        })
}

/// Who an update is by, for grouping: its author id, or for updates logged before
/// browsers had ids, its name.
pub fn author_key(author: &Author) -> Author {
    let mut author = author.clone();
    if author.id.is_empty() {
        author.id = format!("name:{}", author.name);
    }
    author
}

/// An activity entry being built.
struct Entry {
    row: ActivityRow,
    added: BTreeSet<String>,
    changed: BTreeSet<String>,
    deleted: BTreeSet<String>,
}

impl Entry {
    fn from_row(row: ActivityRow) -> Entry {
        Entry {
            added: row.added.iter().cloned().collect(),
            changed: row.changed.iter().cloned().collect(),
            deleted: row.deleted.iter().cloned().collect(),
            row,
        }
    }

    fn start(log: &LogRow, effects: &Effects) -> Entry {
        let mut entry = Entry::from_row(ActivityRow {
            from_seq: log.seq,
            to_seq: log.seq,
            from_at: log.at,
            to_at: log.at,
            author: author_key(&log.author),
            restored_to: log.restored_to,
            updates: 0,
            comments: 0,
            added: Vec::new(),
            changed: Vec::new(),
            deleted: Vec::new(),
        });
        entry.extend(log, effects);
        entry
    }

    /// Whether `log` belongs in this entry: same author, within a minute, and neither
    /// is a restore (a restore is an entry of its own).
    fn continues(&self, log: &LogRow) -> bool {
        self.row.restored_to.is_none()
            && log.restored_to.is_none()
            && self.row.author.id == author_key(&log.author).id
            && log.at - self.row.to_at < GROUP_GAP_MICROS
    }

    fn extend(&mut self, log: &LogRow, effects: &Effects) {
        let author = author_key(&log.author);
        self.row.to_seq = log.seq;
        self.row.to_at = log.at;
        self.row.author.name = author.name;
        self.row.author.color = author.color;
        self.row.updates += 1;
        self.row.comments += effects.comments;
        let room = |set: &BTreeSet<String>| set.len() < ENTRY_IDS;
        for id in &effects.added {
            if room(&self.added) {
                self.added.insert(id.clone());
            }
        }
        for id in &effects.changed {
            if !self.added.contains(id) && room(&self.changed) {
                self.changed.insert(id.clone());
            }
        }
        for id in &effects.deleted {
            if room(&self.deleted) {
                self.deleted.insert(id.clone());
            }
        }
    }

    fn into_row(mut self) -> ActivityRow {
        self.row.added = self.added.into_iter().collect();
        self.row.changed = self.changed.into_iter().collect();
        self.row.deleted = self.deleted.into_iter().collect();
        self.row
    }
}
