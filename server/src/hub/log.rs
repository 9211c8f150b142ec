//! The update log's writer: what rooms applied is logged in batches, and only then sent
//! on, so an update anyone has seen is stored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hugepic_hub_core::Close;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::room::Room;
use crate::auth::Role;
use crate::store::{Author, DocStore, NewUpdate};

/// Updates logged in one transaction at most.
const BATCH: usize = 1024;

/// A document update a room has applied, on its way to the log; it is sent on to the
/// room's connections and to other nodes once it is logged.
pub(super) struct Unlogged {
    pub(super) update: Vec<u8>,
    pub(super) author: Author,
    pub(super) role: Role,
    /// The connection it came from (`REMOTE` for changes the server made), told if it
    /// cannot be stored.
    pub(super) from: u64,
    pub(super) ends: mpsc::Sender<Close>,
    /// Set when the update is a restore: the seq it went back to.
    pub(super) restored_to: Option<i64>,
    /// Told the update's seq once it is logged (`None` if it could not be).
    pub(super) seq: Option<oneshot::Sender<Option<i64>>>,
}

type Queued = (Arc<Room>, Unlogged);

/// What became of one room's part of a batch.
struct Written {
    room: Arc<Room>,
    /// Every update of it is in the log.
    logged: bool,
    /// Who sent them, told if they could not be stored.
    ends: Vec<mpsc::Sender<Close>>,
}

/// Logs what rooms applied, in batches: everything that arrived (from every room) while
/// the last batch was written goes in one transaction. Only then is it sent on; the
/// connections that sent it go on meanwhile. A room whose updates cannot be logged
/// (its picture was deleted) is told at once and never holds up the others; when the
/// database is away for everyone, the batch is retried a few times. Ends when `stop` is
/// cancelled and the queue is empty.
pub(super) async fn write(
    store: Arc<dyn DocStore>,
    mut queue: mpsc::Receiver<Queued>,
    stop: CancellationToken,
) {
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            biased;
            n = queue.recv_many(&mut batch, BATCH) => if n == 0 { return },
            _ = stop.cancelled() => return,
        }
        let seqs = append(&*store, &batch).await;
        // Keyed by address: the rooms of this batch.
        let mut rooms: HashMap<usize, Written> = HashMap::new();
        for ((room, mut u), seq) in batch.drain(..).zip(seqs) {
            if let Some(told) = u.seq.take() {
                let _ = told.send(seq);
            }
            // The document has it either way: everyone gets it.
            room.logged(u.update, u.from);
            let written = rooms.entry(Arc::as_ptr(&room) as usize).or_insert(Written {
                room,
                logged: true,
                ends: Vec::new(),
            });
            written.logged &= seq.is_some();
            written.ends.push(u.ends);
        }
        for Written { room, logged, ends } in rooms.into_values() {
            let context = Arc::clone(&room.context);
            if logged {
                context.tell_logged(&room.id);
                context.spawn(async move {
                    let due = room.document.lock().await.since_snapshot;
                    if due >= room.context.limits.snapshot_every {
                        room.snapshot().await;
                    }
                });
            } else {
                context.spawn(async move {
                    if !room.snapshot().await {
                        // Neither in the log nor in a snapshot: a restart would lose them.
                        for end in ends {
                            let _ = end.try_send(Close::new(
                                1011,
                                "the server could not store your change; reconnect to send it again",
                            ));
                        }
                    }
                });
            }
        }
    }
}

/// Appends `batch` to the log: each update's seq, `None` for those that could not be
/// logged. If the whole batch fails, each room's part is tried alone: a room whose
/// picture is gone is given up at once; the others' parts are retried a few times (the
/// database is away).
async fn append(store: &dyn DocStore, batch: &[Queued]) -> Vec<Option<i64>> {
    let rows = |indices: &[usize]| -> Vec<NewUpdate<'_>> {
        indices
            .iter()
            .map(|i| {
                let (room, u) = &batch[*i];
                NewUpdate {
                    picture_id: &room.id,
                    update: &u.update,
                    author: &u.author,
                    role: u.role.as_str(),
                    node: &room.context.node,
                    restored_to: u.restored_to,
                }
            })
            .collect()
    };
    let Some(metrics) = batch
        .first()
        .map(|(room, _)| Arc::clone(&room.context.metrics))
    else {
        return Vec::new();
    };
    let count = |counter: &AtomicU64| counter.fetch_add(1, Ordering::Relaxed);
    let everything: Vec<usize> = (0..batch.len()).collect();
    if let Ok(seqs) = store.append_updates(&rows(&everything)).await {
        count(&metrics.log_written);
        return seqs.into_iter().map(Some).collect();
    }
    let mut seqs = vec![None; batch.len()];
    let mut pending: Vec<&str> = batch.iter().map(|(room, _)| room.id.as_str()).collect();
    pending.sort_unstable();
    pending.dedup();
    for wait in [0, 50, 250, 1000] {
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        let mut again = Vec::new();
        for picture in pending {
            let part: Vec<usize> = everything
                .iter()
                .copied()
                .filter(|i| batch[*i].0.id == picture)
                .collect();
            match store.append_updates(&rows(&part)).await {
                Ok(logged) => {
                    count(&metrics.log_written);
                    for (i, seq) in part.into_iter().zip(logged) {
                        seqs[i] = Some(seq);
                    }
                }
                Err(e) if gone(store, picture).await => {
                    tracing::warn!(picture, error = %e, "the picture is gone: its updates are not logged");
                }
                Err(e) => {
                    tracing::warn!(picture, error = %e, "could not log updates; retrying");
                    count(&metrics.log_retried);
                    again.push(picture);
                }
            }
        }
        pending = again;
        if pending.is_empty() {
            break;
        }
    }
    for picture in pending {
        count(&metrics.log_failed);
        tracing::error!(picture, "could not log updates");
    }
    seqs
}

/// Whether `picture` is known to be deleted (not merely unreadable now).
async fn gone(store: &dyn DocStore, picture: &str) -> bool {
    matches!(store.document_gone(picture).await, Ok(true))
}
