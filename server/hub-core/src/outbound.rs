//! What a room passes on of its people's awareness, a short tick at a time. Every state
//! the room took since the last tick is gathered (the latest of each client) and sent as
//! one y-protocols awareness message, encoded once for every connection, instead of one
//! message (and one socket write per connection) for each change.
//!
//! A connection is sent its own states back only together with others' (one shared
//! message for everyone): stock y-protocols clients ignore a state of their own at the
//! clock they hold, and the y-websocket reference server echoes every state too. A tick
//! whose states all came from one connection skips that connection.

use std::collections::HashMap;

use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::Message;
use yrs::updates::encoder::Encode;
use yrs::ClientID;

/// A state gathered for the next tick.
#[derive(Debug, Clone)]
struct Gathered {
    entry: AwarenessUpdateEntry,
    /// The connection it came in on (`presence::REMOTE` for other nodes and the server).
    from: u64,
    /// Whether the room on other nodes is to hear it (not what came from them).
    publish: bool,
}

/// The states a room took since its last tick.
#[derive(Debug, Default)]
pub struct Outbound {
    gathered: HashMap<ClientID, Gathered>,
}

/// One tick's awareness, ready to send.
#[derive(Debug, PartialEq, Eq)]
pub struct Tick {
    /// One awareness message with every state: the same bytes for every connection.
    pub message: Vec<u8>,
    /// The connection every state came from, when they all came from one: it is not
    /// sent the message.
    pub only_from: Option<u64>,
    /// The message for the room on other nodes (the states taken here), if any.
    pub publish: Option<Vec<u8>>,
}

impl Outbound {
    /// Gathers `update`'s states (taken into presence: news only), as sent by connection
    /// `from`; `publish` when other nodes are to hear them. A later state of a client
    /// replaces an earlier one (presence took it, so it is newer). Whether the room had
    /// nothing gathered before: it needs a tick.
    pub fn gather(&mut self, update: AwarenessUpdate, from: u64, publish: bool) -> bool {
        let was_empty = self.gathered.is_empty();
        for (client, entry) in update.clients {
            self.gathered.insert(
                client,
                Gathered {
                    entry,
                    from,
                    publish,
                },
            );
        }
        was_empty && !self.gathered.is_empty()
    }

    /// Whether nothing is gathered.
    pub fn is_empty(&self) -> bool {
        self.gathered.is_empty()
    }

    /// Everything gathered, as one tick's messages; `None` if nothing was.
    pub fn take(&mut self) -> Option<Tick> {
        if self.gathered.is_empty() {
            return None;
        }
        let gathered = std::mem::take(&mut self.gathered);
        let mut senders = gathered.values().map(|g| g.from);
        let first = senders.next();
        let only_from = first.filter(|first| senders.all(|from| from == *first));
        let published = gathered.values().filter(|g| g.publish).count();
        let encode = |keep: &dyn Fn(&Gathered) -> bool| {
            let clients = gathered
                .iter()
                .filter(|(_, g)| keep(g))
                .map(|(client, g)| (*client, g.entry.clone()))
                .collect();
            Message::Awareness(AwarenessUpdate { clients }).encode_v1()
        };
        let message = encode(&|_| true);
        let publish = if published == gathered.len() {
            Some(message.clone())
        } else if published > 0 {
            Some(encode(&|g| g.publish))
        } else {
            None
        };
        Some(Tick {
            message,
            only_from,
            publish,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use yrs::updates::decoder::Decode;

    use super::*;
    use crate::presence::REMOTE;

    fn update(states: &[(u64, u32, &str)]) -> AwarenessUpdate {
        let clients = states
            .iter()
            .map(|(id, clock, json)| {
                let entry = AwarenessUpdateEntry {
                    clock: *clock,
                    json: Arc::from(*json),
                };
                (ClientID::new(*id), entry)
            })
            .collect();
        AwarenessUpdate { clients }
    }

    fn states(message: &[u8]) -> Vec<(u64, u32, String)> {
        let Ok(Message::Awareness(update)) = Message::decode_v1(message) else {
            panic!("an awareness message");
        };
        let mut states: Vec<_> = update
            .clients
            .into_iter()
            .map(|(id, e)| (id.get(), e.clock, e.json.to_string()))
            .collect();
        states.sort();
        states
    }

    #[test]
    fn a_tick_sends_the_latest_state_of_each_client_once() {
        let mut outbound = Outbound::default();
        assert!(outbound.take().is_none());
        assert!(outbound.gather(update(&[(1, 1, r#"{"x":1}"#)]), 7, true));
        assert!(!outbound.gather(update(&[(1, 2, r#"{"x":2}"#)]), 7, true));
        assert!(!outbound.gather(update(&[(2, 5, r#"{"x":9}"#)]), 8, true));
        // Nothing new gathered is not news either.
        assert!(!outbound.gather(update(&[]), 8, true));
        let tick = outbound.take().expect("a tick");
        assert_eq!(
            states(&tick.message),
            vec![(1, 2, r#"{"x":2}"#.into()), (2, 5, r#"{"x":9}"#.into())]
        );
        // Two senders: both hear the shared message (their own state at its clock is
        // nothing new to them).
        assert_eq!(tick.only_from, None);
        assert_eq!(tick.publish.as_deref(), Some(tick.message.as_slice()));
        assert!(outbound.is_empty());
        assert!(outbound.take().is_none());
    }

    #[test]
    fn a_tick_from_one_connection_skips_it_and_what_came_from_other_nodes_stays_here() {
        let mut outbound = Outbound::default();
        outbound.gather(update(&[(1, 3, "{}")]), 7, true);
        let tick = outbound.take().expect("a tick");
        assert_eq!(tick.only_from, Some(7));
        // States from other nodes are passed to this node's connections, not back.
        outbound.gather(update(&[(4, 1, "{}")]), REMOTE, false);
        let tick = outbound.take().expect("a tick");
        assert_eq!(tick.only_from, Some(REMOTE));
        assert_eq!(tick.publish, None);
        // Mixed: other nodes hear only what was taken here; a removal is a state too.
        outbound.gather(update(&[(4, 2, "{}")]), REMOTE, false);
        outbound.gather(update(&[(1, 4, "null")]), 7, true);
        let tick = outbound.take().expect("a tick");
        assert_eq!(states(&tick.message).len(), 2);
        assert_eq!(
            states(tick.publish.as_deref().expect("published")),
            vec![(1, 4, "null".into())]
        );
    }
}
