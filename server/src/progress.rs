//! Live progress of each picture's pipeline, for Server-Sent Events. Listeners get an
//! in-process broadcast channel per picture. With Redis configured, reports go through
//! one Redis pub/sub channel, and every server process relays what arrives there to its
//! own listeners, so a worker on another machine reaches a browser on this one. The
//! latest state also goes to the store, so a late listener starts from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::store::Status;

/// The Redis channel progress reports travel on.
const CHANNEL: &str = "hugepic:progress";

/// One progress report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgressEvent {
    /// Life stage.
    pub status: Status,
    /// Stage within it (`decoding`, `tiling`, …).
    pub stage: String,
    /// Done of `total`.
    pub done: u64,
    /// Total units of the stage.
    pub total: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A report as it travels through Redis.
#[derive(Serialize, Deserialize)]
struct Envelope {
    picture: String,
    #[serde(flatten)]
    event: ProgressEvent,
}

/// Why Redis could not be used.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct BusError(#[from] redis::RedisError);

/// Channels of pictures someone listens to, and the way reports reach them.
#[derive(Clone, Default)]
pub struct ProgressHub {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<ProgressEvent>>>>,
    redis: Option<Redis>,
}

#[derive(Clone)]
struct Redis {
    client: redis::Client,
    connection: ConnectionManager,
}

/// One listener of a picture's progress.
pub struct Listener {
    receiver: broadcast::Receiver<ProgressEvent>,
    picture: String,
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<ProgressEvent>>>>,
}

impl Listener {
    /// The next event.
    pub async fn recv(&mut self) -> Result<ProgressEvent, broadcast::error::RecvError> {
        self.receiver.recv().await
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Ok(mut channels) = self.channels.lock() {
            // This listener's receiver is still counted: one means nobody else.
            let last = channels
                .get(&self.picture)
                .is_some_and(|sender| sender.receiver_count() <= 1);
            if last {
                channels.remove(&self.picture);
            }
        }
    }
}

/// Events buffered per listener; a slow listener skips to newer ones.
const BUFFER: usize = 64;

impl ProgressHub {
    /// A hub sending reports through the Redis at `url`.
    pub async fn redis(url: &str) -> Result<Self, BusError> {
        let client = redis::Client::open(url)?;
        let connection = client.get_connection_manager().await?;
        Ok(ProgressHub {
            channels: Arc::default(),
            redis: Some(Redis { client, connection }),
        })
    }

    /// Sends `event` to everyone listening to `picture_id`, in every process.
    pub async fn publish(&self, picture_id: &str, event: ProgressEvent) {
        if let Some(redis) = &self.redis {
            let envelope = Envelope {
                picture: picture_id.to_string(),
                event,
            };
            let Ok(payload) = serde_json::to_string(&envelope) else {
                return;
            };
            let mut connection = redis.connection.clone();
            let sent: Result<(), _> = redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(payload)
                .query_async(&mut connection)
                .await;
            if let Err(e) = sent {
                // Listeners here still hear it; others read the stored state.
                tracing::warn!(error = %e, "could not publish progress to Redis");
                crate::metrics::failed(crate::metrics::Failure::ProgressPublish);
                self.deliver(picture_id, envelope.event);
            }
        } else {
            self.deliver(picture_id, event);
        }
    }

    /// Hands `event` to this process's listeners of `picture_id`.
    fn deliver(&self, picture_id: &str, event: ProgressEvent) {
        if let Ok(mut channels) = self.channels.lock() {
            if let Some(sender) = channels.get(picture_id) {
                if sender.send(event).is_err() {
                    channels.remove(picture_id); // nobody listens any more
                }
            }
        }
    }

    /// Listens to `picture_id`; the picture's channel goes when its last listener does.
    pub fn subscribe(&self, picture_id: &str) -> Listener {
        let receiver = match self.channels.lock() {
            Ok(mut channels) => channels
                .entry(picture_id.to_string())
                .or_insert_with(|| broadcast::channel(BUFFER).0)
                .subscribe(),
            Err(_) => broadcast::channel(1).1,
        };
        Listener {
            receiver,
            picture: picture_id.to_string(),
            channels: Arc::clone(&self.channels),
        }
    }

    /// Pictures with a channel (someone listening).
    pub fn listened(&self) -> usize {
        self.channels.lock().map_or(0, |c| c.len())
    }

    /// Whether the bus works (for `/readyz`); `None` without Redis.
    pub async fn check(&self) -> Option<Result<(), BusError>> {
        let redis = self.redis.as_ref()?;
        let mut connection = redis.connection.clone();
        Some(
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
                .map(|_| ())
                .map_err(BusError::from),
        )
    }

    /// Relays reports from Redis to this process's listeners until `shutdown`,
    /// subscribing again whenever the connection drops. Without Redis it returns at once.
    pub async fn relay(self, shutdown: CancellationToken) {
        let Some(redis) = self.redis.clone() else {
            return;
        };
        while !shutdown.is_cancelled() {
            let subscribed = async {
                let mut pubsub = redis.client.get_async_pubsub().await?;
                pubsub.subscribe(CHANNEL).await?;
                Ok::<_, redis::RedisError>(pubsub)
            }
            .await;
            match subscribed {
                Ok(pubsub) => {
                    tracing::debug!("listening to progress on Redis");
                    let mut messages = pubsub.into_on_message();
                    loop {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            message = messages.next() => match message {
                                Some(message) => {
                                    let payload: String = message.get_payload().unwrap_or_default();
                                    if let Ok(envelope) = serde_json::from_str::<Envelope>(&payload) {
                                        self.deliver(&envelope.picture, envelope.event);
                                    }
                                }
                                None => break,
                            },
                        }
                    }
                    tracing::warn!("lost the Redis progress subscription; subscribing again");
                    crate::metrics::failed(crate::metrics::Failure::ProgressSubscription);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot subscribe to progress on Redis");
                    crate::metrics::failed(crate::metrics::Failure::ProgressSubscription);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pictures_channel_goes_with_its_last_listener() {
        let hub = ProgressHub::default();
        // Listeners of pictures that do not exist (the events route answers 404 after
        // subscribing) leave nothing behind.
        for i in 0..20_000 {
            drop(hub.subscribe(&format!("unknown-{i}")));
        }
        assert_eq!(hub.listened(), 0);
        let first = hub.subscribe("p");
        let mut second = hub.subscribe("p");
        drop(first);
        assert_eq!(hub.listened(), 1, "one listener is left");
        let event = ProgressEvent {
            status: crate::store::Status::Tiling,
            stage: "tiling".into(),
            done: 1,
            total: 2,
            error: None,
        };
        hub.publish("p", event).await;
        assert_eq!(second.recv().await.map(|e| e.done).ok(), Some(1));
        drop(second);
        assert_eq!(hub.listened(), 0);
    }
}
