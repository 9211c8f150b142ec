//! Between nodes: what a room publishes to the same room on other nodes, and what it
//! does with what they publish (updates, awareness, and the repair exchange of state
//! vectors and delete digests that brings back whatever a node missed).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use hugepic_hub_core::document::Merged;
use hugepic_hub_core::presence::{only_taken, REMOTE};
use hugepic_hub_core::wire::{Body, Envelope};
use hugepic_hub_core::Close;
use tokio::sync::mpsc;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;

use super::closing::Closing;
use super::relay::Inbound;
use super::room::{now_micros, Room};

impl Room {
    /// Publishes this room's state vector and a digest of its deletions, so other
    /// nodes send what it lacks; `hello` asks for their awareness too.
    async fn ask(&self, hello: bool, answer: bool) {
        let (state_vector, deletes) = self.document.lock().await.ask();
        self.context
            .metrics
            .repair_asks
            .fetch_add(1, Ordering::Relaxed);
        self.publish(Body::Ask {
            state_vector,
            deletes,
            hello,
            answer,
        });
    }

    /// Listens to the room's channel while the room is loaded, and asks for repairs on
    /// joining, on every resubscription and every `repair_every`.
    pub(super) fn start_relay(self: &Arc<Self>, mut inbound: mpsc::Receiver<Inbound>) {
        let room = Arc::downgrade(self);
        let every = self.context.limits.repair_every;
        let shutdown = self.context.shutdown.clone();
        self.context.spawn(async move {
            if let Some(room) = room.upgrade() {
                room.ask(true, false).await;
            }
            let mut repair = tokio::time::interval(every);
            repair.tick().await;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    message = inbound.recv() => {
                        let Some(message) = message else { return };
                        let Some(room) = room.upgrade() else { return };
                        match message {
                            Inbound::Envelope(envelope) => room.on_envelope(envelope).await,
                            Inbound::Resubscribed => room.ask(true, false).await,
                        }
                    }
                    _ = repair.tick() => {
                        let Some(room) = room.upgrade() else { return };
                        room.ask(false, false).await;
                    }
                }
            }
        });
    }

    /// A message from the same room on another node.
    async fn on_envelope(self: &Arc<Self>, envelope: Envelope) {
        if envelope.node == self.context.node_id {
            return; // our own, back from the channel
        }
        let metrics = Arc::clone(&self.context.metrics);
        let latency = || now_micros().saturating_sub(envelope.sent_micros) as f64 / 1e6;
        match envelope.body {
            Body::Update(bytes) => {
                metrics.fanout_latency.observe(latency());
                self.merge_remote(&bytes).await;
            }
            Body::Diff { to, update } => {
                if to == self.context.node_id && self.merge_remote(&update).await {
                    metrics.repair_syncs.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(picture = %self.id, "repaired from another node");
                }
            }
            Body::Awareness(bytes) => {
                metrics.fanout_latency.observe(latency());
                let Ok(Message::Awareness(update)) = Message::decode_v1(&bytes) else {
                    return;
                };
                let taken = self.presence().merge(&update, REMOTE, Instant::now());
                if !taken.is_empty() {
                    self.share_remote(only_taken(update, &taken));
                }
            }
            Body::Close {
                roles,
                code,
                reason,
            } => self.close_connections(Closing::from_bits(roles), Close::new(code, reason)),
            // News for every node, handled by whoever joined the pictures channel.
            Body::Gone { .. } => {}
            Body::Ask {
                state_vector,
                deletes,
                hello,
                answer,
            } => {
                let answer = self
                    .document
                    .lock()
                    .await
                    .answer(&state_vector, deletes, answer);
                if let Some(update) = answer.diff {
                    self.publish(Body::Diff {
                        to: envelope.node,
                        update,
                    });
                }
                if answer.ask_back {
                    self.ask(false, true).await;
                }
                if hello {
                    let present = {
                        let presence = self.presence();
                        presence.message(&presence.local())
                    };
                    if let Some(present) = present {
                        self.publish(Body::Awareness(present));
                    }
                }
            }
        }
    }

    /// Applies an update another node accepted (and logged) and passes it on to this
    /// node's connections; whether it brought anything new. One that does not continue
    /// the document (a message in between was lost) is left to a repair, asked for now.
    pub(super) async fn merge_remote(&self, bytes: &[u8]) -> bool {
        let merged = self.document.lock().await.merge_remote(bytes);
        match merged {
            Merged::Changed => {
                self.fan_out(
                    REMOTE,
                    &Message::Sync(SyncMessage::Update(bytes.to_vec())).encode_v1(),
                );
                true
            }
            Merged::Nothing => false,
            Merged::Gap => {
                self.ask_soon().await;
                false
            }
            Merged::Unreadable => {
                tracing::warn!(picture = %self.id, "an update from another node does not decode");
                crate::metrics::failed(crate::metrics::Failure::NodeUpdate);
                false
            }
        }
    }

    /// Asks for a repair unless this room asked within the last 100 ms.
    async fn ask_soon(&self) {
        let now = now_micros();
        let last = self.asked_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) > 100_000
            && self
                .asked_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.ask(false, false).await;
        }
    }
}
