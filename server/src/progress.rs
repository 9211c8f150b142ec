//! Live progress of each picture's pipeline, for Server-Sent Events. In-process
//! broadcast, one channel per picture with listeners; the latest state also goes to the
//! store, so a late listener starts from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::store::Status;

/// One progress report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Channels of pictures someone listens to.
#[derive(Clone, Default)]
pub struct ProgressHub {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<ProgressEvent>>>>,
}

/// Events buffered per listener; a slow listener skips to newer ones.
const BUFFER: usize = 64;

impl ProgressHub {
    /// Sends `event` to everyone listening to `picture_id`.
    pub fn publish(&self, picture_id: &str, event: ProgressEvent) {
        if let Ok(mut channels) = self.channels.lock() {
            if let Some(sender) = channels.get(picture_id) {
                if sender.send(event).is_err() {
                    channels.remove(picture_id); // nobody listens any more
                }
            }
        }
    }

    /// Listens to `picture_id`.
    pub fn subscribe(&self, picture_id: &str) -> broadcast::Receiver<ProgressEvent> {
        match self.channels.lock() {
            Ok(mut channels) => channels
                .entry(picture_id.to_string())
                .or_insert_with(|| broadcast::channel(BUFFER).0)
                .subscribe(),
            Err(_) => broadcast::channel(1).1,
        }
    }
}
