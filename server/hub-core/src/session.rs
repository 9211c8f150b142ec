//! One connection's side of a room: what each message it sends does, under its role and
//! its limits, as effects for the shell to carry out (replies, what the room shares,
//! what goes to the log) or a reason to close it.
//!
//! A message is handled in two steps so that the shell can hold the room's document
//! only when needed: `read` decodes it and applies the update limit; a document request
//! is then served with the document (`on_document`), everything else with presence
//! alone (`on_presence`). `handle` does both, for tests and for shells with one lock.

use std::collections::HashMap;
use std::time::Instant;

use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{ClientID, StateVector, Update};

use crate::document::{Applied, Document};
use crate::limits::TokenBucket;
use crate::presence::{only_taken, withhold_tour, Author, Presence};
use crate::roles::Role;
use crate::wire::{decode_client, ClientMessage};

/// Why a connection ends: a WebSocket close code and a reason a person can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code.
    pub code: u16,
    /// Why, in words.
    pub reason: String,
}

impl Close {
    /// A close with `code` and `reason`.
    pub fn new(code: u16, reason: impl Into<String>) -> Close {
        Close {
            code,
            reason: reason.into(),
        }
    }
}

/// What the shell does for a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send to this connection.
    Reply(Vec<u8>),
    /// Awareness states the room passes on to its connections and to the room on other
    /// nodes (gathered with others into one message per tick: `outbound`).
    Share(AwarenessUpdate),
    /// A document update was applied: log it; once logged it is passed on to everyone
    /// (so an update anyone has seen is stored).
    Log {
        /// The update as applied.
        update: Vec<u8>,
        /// Who wrote it, as their awareness says.
        author: Author,
    },
    /// An update was refused (for the counters); a `Reply` tells the sender why.
    Refused,
    /// Close the connection, once the effects before this one are carried out.
    Close(Close),
}

/// What one connection is held to.
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// Document updates per second, sustained.
    pub updates_per_second: u32,
    /// Short bursts above that rate.
    pub update_burst: u32,
    /// Awareness messages passed on per second, sustained; what comes faster is merged
    /// (the latest state of each client wins) and passed on when the rate allows.
    pub awareness_per_second: u32,
    /// Awareness messages per second beyond which the sender is closed.
    pub awareness_flood: u32,
    /// Largest awareness state, bytes of JSON; a larger one is dropped.
    pub max_awareness_bytes: usize,
    /// Largest document, bytes.
    pub max_document_bytes: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            updates_per_second: 60,
            update_burst: 300,
            awareness_per_second: 30,
            awareness_flood: 300,
            max_awareness_bytes: 4096,
            max_document_bytes: 32 << 20,
        }
    }
}

/// A message that needs the room's document.
#[derive(Debug)]
pub enum DocumentRequest {
    /// Sync step 1: the client's state vector.
    Step1(StateVector),
    /// Sync step 2 or an update.
    Update {
        /// As sent (v1).
        bytes: Vec<u8>,
        /// Decoded.
        update: Update,
    },
}

/// A message that needs only presence.
#[derive(Debug)]
pub enum PresenceRequest {
    /// Awareness states.
    Update(AwarenessUpdate),
    /// The client asks for everyone's.
    Query,
}

/// A message, read.
#[derive(Debug)]
pub enum Read {
    /// Serve it with the document (`Session::on_document`).
    Document(DocumentRequest),
    /// Serve it with presence (`Session::on_presence`).
    Presence(PresenceRequest),
    /// Nothing to do (auth and custom messages).
    Nothing,
}

/// One connection in a room.
#[derive(Debug)]
pub struct Session {
    connection: u64,
    role: Role,
    limits: SessionLimits,
    updates: TokenBucket,
    awareness: TokenBucket,
    flood: TokenBucket,
    /// States that came faster than the awareness rate, latest per client.
    held: HashMap<ClientID, AwarenessUpdateEntry>,
}

impl Session {
    /// Connection number `connection` (unique in its room, never `presence::REMOTE`)
    /// with `role`, opened at `now`.
    pub fn new(connection: u64, role: Role, limits: SessionLimits, now: Instant) -> Session {
        Session {
            connection,
            role,
            updates: TokenBucket::new(limits.updates_per_second, limits.update_burst, now),
            awareness: TokenBucket::new(
                limits.awareness_per_second,
                limits.awareness_per_second,
                now,
            ),
            flood: TokenBucket::new(limits.awareness_flood, limits.awareness_flood, now),
            limits,
            held: HashMap::new(),
        }
    }

    /// The connection number.
    pub fn connection(&self) -> u64 {
        self.connection
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// What the server says first: its state vector, and who is here.
    pub fn greeting(document: &Document, presence: &Presence) -> Vec<Vec<u8>> {
        let mut hello = vec![document.step1()];
        hello.extend(presence.message(&presence.clients()));
        hello
    }

    /// Decodes a message and applies the update limit.
    pub fn read(&mut self, bytes: &[u8], now: Instant) -> Result<Read, Close> {
        let message = decode_client(bytes).map_err(|e| Close::new(1003, e.0))?;
        Ok(match message {
            ClientMessage::SyncStep1(sv) => Read::Document(DocumentRequest::Step1(sv)),
            ClientMessage::Update { bytes, update } => {
                if !self.updates.take(now) {
                    return Err(Close::new(
                        1008,
                        "too many updates; slow down and reconnect",
                    ));
                }
                Read::Document(DocumentRequest::Update { bytes, update })
            }
            ClientMessage::Awareness(update) => Read::Presence(PresenceRequest::Update(update)),
            ClientMessage::AwarenessQuery => Read::Presence(PresenceRequest::Query),
            ClientMessage::Ignored => Read::Nothing,
        })
    }

    /// Serves a document request; `names` says who wrote an update (from presence:
    /// `Author::of`), asked only when one is applied.
    pub fn on_document(
        &mut self,
        request: DocumentRequest,
        document: &mut Document,
        names: impl FnOnce(u64, Option<ClientID>) -> Author,
    ) -> Vec<Effect> {
        let (bytes, update) = match request {
            DocumentRequest::Step1(sv) => return vec![Effect::Reply(document.step2(&sv))],
            DocumentRequest::Update { bytes, update } => (bytes, update),
        };
        let connection = self.connection;
        let author = |writer| names(connection, writer);
        match document.apply(bytes, update, self.role, self.limits.max_document_bytes) {
            Applied::Nothing => Vec::new(),
            Applied::Changed { update, writer } => vec![Effect::Log {
                update,
                author: author(writer),
            }],
            Applied::Resync(sv) => vec![Effect::Reply(
                Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1(),
            )],
            Applied::Refused(refusal) => vec![
                Effect::Refused,
                Effect::Reply(Message::Auth(Some(refusal.0)).encode_v1()),
            ],
            Applied::Broken { partial, error } => {
                // What did apply is logged and passed on like any update.
                let mut effects: Vec<Effect> = partial
                    .map(|update| Effect::Log {
                        update,
                        author: author(None),
                    })
                    .into_iter()
                    .collect();
                effects.push(Effect::Close(Close::new(
                    1003,
                    format!("the update does not apply: {error}"),
                )));
                effects
            }
        }
    }

    /// Serves a presence request at `now`.
    pub fn on_presence(
        &mut self,
        request: PresenceRequest,
        now: Instant,
        presence: &mut Presence,
    ) -> Vec<Effect> {
        let mut update = match request {
            PresenceRequest::Query => {
                return presence
                    .message(&presence.clients())
                    .into_iter()
                    .map(Effect::Reply)
                    .collect()
            }
            PresenceRequest::Update(update) => update,
        };
        // Only what this connection may speak for, at a size other clients can take.
        let max = self.limits.max_awareness_bytes;
        update.clients.retain(|client, entry| {
            entry.json.len() <= max && presence.may_speak_for(*client, self.connection)
        });
        if update.clients.is_empty() {
            return Vec::new(); // an echo of others' states, or nothing acceptable
        }
        if !self.flood.take(now) {
            return vec![Effect::Close(Close::new(
                1008,
                "too many awareness messages; slow down and reconnect",
            ))];
        }
        // Only the owner leads tours (others' maps follow a `tour`).
        if self.role != Role::Owner {
            withhold_tour(&mut update);
        }
        if self.held.is_empty() && self.awareness.take(now) {
            // Within the rate, nothing waiting: straight through.
            return Self::share(update, self.connection, now, presence);
        }
        for (client, entry) in update.clients {
            let newer = self
                .held
                .get(&client)
                .is_none_or(|held| entry.clock >= held.clock);
            if newer {
                self.held.insert(client, entry);
            }
        }
        self.flush(now, presence)
    }

    /// Takes `update` into presence as connection `connection`'s; what of it to share.
    fn share(
        update: AwarenessUpdate,
        connection: u64,
        now: Instant,
        presence: &mut Presence,
    ) -> Vec<Effect> {
        let taken = presence.merge(&update, connection, now);
        if taken.is_empty() {
            return Vec::new(); // nothing new
        }
        vec![Effect::Share(only_taken(update, &taken))]
    }

    /// When `flush` has something to pass on, if anything is held.
    pub fn held_until(&self, now: Instant) -> Option<Instant> {
        (!self.held.is_empty()).then(|| self.awareness.ready_at(now))
    }

    /// Passes on the held awareness states if the rate allows at `now`.
    pub fn flush(&mut self, now: Instant, presence: &mut Presence) -> Vec<Effect> {
        if self.held.is_empty() || !self.awareness.take(now) {
            return Vec::new();
        }
        let update = AwarenessUpdate {
            clients: std::mem::take(&mut self.held),
        };
        Self::share(update, self.connection, now, presence)
    }

    /// Leaving: the awareness update that removes this connection's people, if any.
    pub fn leave(&self, presence: &mut Presence) -> Option<AwarenessUpdate> {
        let mine = presence.of_connection(self.connection);
        presence.remove(&mine)
    }

    /// Handles one message with the document and presence at hand.
    pub fn handle(
        &mut self,
        bytes: &[u8],
        now: Instant,
        document: &mut Document,
        presence: &mut Presence,
    ) -> Vec<Effect> {
        match self.read(bytes, now) {
            Ok(Read::Document(request)) => {
                self.on_document(request, document, |c, w| Author::of(presence, c, w))
            }
            Ok(Read::Presence(request)) => self.on_presence(request, now, presence),
            Ok(Read::Nothing) => Vec::new(),
            Err(close) => vec![Effect::Close(close)],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use yrs::updates::decoder::Decode;
    use yrs::{Doc, Map, MapPrelim, Transact};

    use super::*;
    use crate::presence::REMOTE;
    use crate::testing::update_of;

    fn sync_update(update: Vec<u8>) -> Vec<u8> {
        Message::Sync(SyncMessage::Update(update)).encode_v1()
    }

    fn awareness(states: &[(u64, u32, &str)]) -> Vec<u8> {
        let clients = states
            .iter()
            .map(|(id, clock, json)| {
                (
                    ClientID::new(*id),
                    AwarenessUpdateEntry {
                        clock: *clock,
                        json: (*json).into(),
                    },
                )
            })
            .collect();
        Message::Awareness(AwarenessUpdate { clients }).encode_v1()
    }

    fn shared(effects: &[Effect]) -> Vec<AwarenessUpdate> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Share(update) => Some(update.clone()),
                _ => None,
            })
            .collect()
    }

    fn closed(effects: &[Effect]) -> Option<u16> {
        effects.iter().find_map(|e| match e {
            Effect::Close(close) => Some(close.code),
            _ => None,
        })
    }

    struct Room {
        document: Document,
        presence: Presence,
        now: Instant,
    }

    impl Room {
        fn new() -> Room {
            Room {
                document: Document::load(None, []).0,
                presence: Presence::default(),
                now: Instant::now(),
            }
        }

        fn send(&mut self, session: &mut Session, bytes: &[u8]) -> Vec<Effect> {
            session.handle(bytes, self.now, &mut self.document, &mut self.presence)
        }
    }

    fn has_shape(document: &Document, key: &str) -> bool {
        let shapes = document.doc().get_or_insert_map("shapes");
        let txn = document.doc().transact();
        shapes.get(&txn, key).is_some()
    }

    #[test]
    fn a_client_syncs_and_its_edits_are_logged_under_the_name_its_awareness_gives() {
        let mut room = Room::new();
        let mut ada = Session::new(1, Role::Edit, SessionLimits::default(), room.now);
        let client = Doc::new();
        let hello = Session::greeting(&room.document, &room.presence);
        assert!(matches!(
            Message::decode_v1(&hello[0]),
            Ok(Message::Sync(SyncMessage::SyncStep1(_)))
        ));
        let id = client.client_id().get();
        let said = awareness(&[(
            id,
            1,
            r##"{"user":{"id":"a1","name":"Ada","color":"#e91e63"}}"##,
        )]);
        assert_eq!(shared(&room.send(&mut ada, &said)).len(), 1);
        let shapes = client.get_or_insert_map("shapes");
        let drawn = update_of(&client, |txn| {
            shapes.insert(txn, "s1", MapPrelim::from([("type", "marker")]));
        });
        let effects = room.send(&mut ada, &sync_update(drawn.clone()));
        match &effects[..] {
            [Effect::Log { update, author }] => {
                assert_eq!(update, &drawn);
                assert_eq!((author.id.as_str(), author.name.as_str()), ("a1", "Ada"));
            }
            other => panic!("logged, not {other:?}"),
        }
        assert!(has_shape(&room.document, "s1"));
        // A latecomer's sync step 1 brings it the shape.
        let mut bo = Session::new(2, Role::View, SessionLimits::default(), room.now);
        let step1 = Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1();
        let [Effect::Reply(step2)] = &room.send(&mut bo, &step1)[..] else {
            panic!("sync step 2");
        };
        let Ok(Message::Sync(SyncMessage::SyncStep2(diff))) = Message::decode_v1(step2) else {
            panic!("sync step 2");
        };
        let latecomer = Doc::new();
        latecomer
            .transact_mut()
            .apply_update(Update::decode_v1(&diff).expect("decodes"))
            .expect("applies");
        assert!(latecomer
            .get_or_insert_map("shapes")
            .get(&latecomer.transact(), "s1")
            .is_some());
        // Asking for awareness gets Ada's.
        let query = Message::AwarenessQuery.encode_v1();
        assert!(matches!(
            &room.send(&mut bo, &query)[..],
            [Effect::Reply(_)]
        ));
    }

    #[test]
    fn roles_gaps_and_size_decide_what_an_update_does() {
        let mut room = Room::new();
        let limits = SessionLimits {
            max_document_bytes: 4096,
            ..SessionLimits::default()
        };
        let mut editor = Session::new(1, Role::Edit, limits.clone(), room.now);
        let mut viewer = Session::new(2, Role::View, limits.clone(), room.now);
        let mut commenter = Session::new(3, Role::Comment, limits.clone(), room.now);
        let client = Doc::new();
        let shapes = client.get_or_insert_map("shapes");
        let comments = client.get_or_insert_map("comments");
        let first = update_of(&client, |txn| {
            shapes.insert(txn, "a", MapPrelim::from([("type", "marker")]));
        });
        let second = update_of(&client, |txn| {
            shapes.insert(txn, "b", MapPrelim::from([("type", "marker")]));
        });
        // A view link changes nothing; its sender is told, the counters count it.
        let effects = room.send(&mut viewer, &sync_update(first.clone()));
        assert!(matches!(&effects[..], [Effect::Refused, Effect::Reply(_)]));
        assert!(!has_shape(&room.document, "a"));
        // A gap is not integrated: the sender gets the document's state vector.
        let effects = room.send(&mut editor, &sync_update(second.clone()));
        let [Effect::Reply(reply)] = &effects[..] else {
            panic!("a resync, not {effects:?}");
        };
        assert!(matches!(
            Message::decode_v1(reply),
            Ok(Message::Sync(SyncMessage::SyncStep1(_)))
        ));
        assert!(!has_shape(&room.document, "b"));
        assert!(matches!(
            &room.send(&mut editor, &sync_update(first.clone()))[..],
            [Effect::Log { .. }]
        ));
        assert!(matches!(
            &room.send(&mut editor, &sync_update(second))[..],
            [Effect::Log { .. }]
        ));
        // Sending what the document has is no write, even from a view link.
        assert!(room.send(&mut viewer, &sync_update(first)).is_empty());
        // A comment link: comments yes, shapes no.
        let commented = update_of(&client, |txn| {
            comments.insert(txn, "t1", MapPrelim::from([("target", "a")]));
        });
        assert!(matches!(
            &room.send(&mut commenter, &sync_update(commented))[..],
            [Effect::Log { .. }]
        ));
        let drawn = update_of(&client, |txn| {
            shapes.remove(txn, "a");
        });
        assert!(matches!(
            &room.send(&mut commenter, &sync_update(drawn))[..],
            [Effect::Refused, _]
        ));
        assert!(has_shape(&room.document, "a"));
        // The document's size limit.
        let big = update_of(&client, |txn| {
            shapes.insert(txn, "big", "x".repeat(5000));
        });
        assert!(matches!(
            &room.send(&mut editor, &sync_update(big))[..],
            [Effect::Refused, _]
        ));
        // Garbage closes its sender only.
        assert_eq!(
            closed(&room.send(&mut editor, b"\x00\x02\xff\xff")),
            Some(1003)
        );
    }

    #[test]
    fn a_connection_writing_too_fast_is_closed() {
        let mut room = Room::new();
        let limits = SessionLimits {
            update_burst: 5,
            ..SessionLimits::default()
        };
        let mut editor = Session::new(1, Role::Edit, limits, room.now);
        let client = Doc::new();
        let shapes = client.get_or_insert_map("shapes");
        let mut codes = Vec::new();
        for i in 0..10 {
            let update = update_of(&client, |txn| {
                shapes.insert(txn, format!("s{i}"), MapPrelim::from([("type", "marker")]));
            });
            codes.push(closed(&room.send(&mut editor, &sync_update(update))));
        }
        assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 5);
        assert_eq!(codes[5], Some(1008));
    }

    #[test]
    fn awareness_faster_than_the_rate_is_merged_and_a_flood_closes_its_sender() {
        let mut room = Room::new();
        let limits = SessionLimits {
            awareness_per_second: 30,
            awareness_flood: 100,
            ..SessionLimits::default()
        };
        let mut mover = Session::new(1, Role::Edit, limits, room.now);
        let mut passed = 0;
        for clock in 1..=50 {
            let state = format!(r#"{{"cursor":{clock}}}"#);
            let effects = room.send(&mut mover, &awareness(&[(7, clock, &state)]));
            assert_eq!(closed(&effects), None);
            passed += shared(&effects).len();
        }
        assert_eq!(passed, 30, "the burst passes, the rest is held");
        let ready = mover.held_until(room.now).expect("something held");
        assert!(ready > room.now && ready <= room.now + Duration::from_millis(40));
        // Held states merge: the latest wins, passed on when the rate allows.
        assert!(mover.flush(room.now, &mut room.presence).is_empty());
        let later = shared(&mover.flush(ready, &mut room.presence));
        assert_eq!(
            &*later[0].clients[&ClientID::new(7)].json,
            r#"{"cursor":50}"#
        );
        assert!(mover.held_until(ready).is_none());
        // Past the flood rate the sender is closed.
        let codes: Vec<_> = (51..=200)
            .map(|clock| closed(&room.send(&mut mover, &awareness(&[(7, clock, "{}")]))))
            .collect();
        assert!(codes.contains(&Some(1008)));
    }

    #[test]
    fn only_a_connections_own_states_of_sane_size_are_taken_and_relayed() {
        let mut room = Room::new();
        let mut honest = Session::new(1, Role::Edit, SessionLimits::default(), room.now);
        let mut attacker = Session::new(2, Role::View, SessionLimits::default(), room.now);
        assert_eq!(
            shared(&room.send(
                &mut honest,
                &awareness(&[(10, 1, r#"{"user":{"name":"Ada"}}"#)])
            ))
            .len(),
            1
        );
        // Another's client id: neither set nor removed, nothing relayed.
        assert!(room
            .send(
                &mut attacker,
                &awareness(&[(10, 5, r#"{"user":{"name":"Eve"}}"#)])
            )
            .is_empty());
        assert!(room
            .send(&mut attacker, &awareness(&[(10, 5, "null")]))
            .is_empty());
        assert_eq!(
            &*room.presence.get(ClientID::new(10)).expect("kept").json,
            r#"{"user":{"name":"Ada"}}"#
        );
        // Five thousand ids in one message: a few are taken, only those relayed.
        let many: Vec<(u64, u32, &str)> = (100..5100).map(|id| (id, 1, "{}")).collect();
        let relayed = shared(&room.send(&mut attacker, &awareness(&many)));
        assert_eq!(
            relayed[0].clients.len(),
            crate::presence::CLAIMS_PER_CONNECTION
        );
        // A 10 KB state is dropped.
        let huge = format!(r#"{{"x":"{}"}}"#, "a".repeat(10_000));
        assert!(room
            .send(&mut honest, &awareness(&[(10, 2, &huge)]))
            .is_empty());
        // Leaving removes the connection's own people only.
        let removal = attacker.leave(&mut room.presence).expect("a removal");
        assert_eq!(
            removal.clients.len(),
            crate::presence::CLAIMS_PER_CONNECTION
        );
        assert!(room.presence.get(ClientID::new(10)).is_some());
        assert!(room.presence.of_connection(REMOTE).is_empty());
    }

    #[test]
    fn only_the_owner_leads_tours_however_the_key_is_spelled() {
        let mut room = Room::new();
        let mut owner = Session::new(1, Role::Owner, SessionLimits::default(), room.now);
        let mut editor = Session::new(2, Role::Edit, SessionLimits::default(), room.now);
        let tour = |effects: &[Effect], id: u64| -> serde_json::Value {
            let states = shared(effects);
            let json: serde_json::Value =
                serde_json::from_str(&states[0].clients[&ClientID::new(id)].json).expect("JSON");
            json["tour"].clone()
        };
        let led = room.send(
            &mut owner,
            &awareness(&[(1, 1, r#"{"tour":1764000000000}"#)]),
        );
        assert_eq!(tour(&led, 1), 1764000000000u64);
        let sneaky = room.send(
            &mut editor,
            &awareness(&[(2, 1, r#"{"\u0074our":1764000000000}"#)]),
        );
        assert!(tour(&sneaky, 2).is_null());
    }
}
