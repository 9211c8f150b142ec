//! Who is in a room: the awareness states of the people in it, each owned by the
//! connection that first spoke for its client id (or by another node), and which of an
//! incoming awareness update is news worth passing on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::Message;
use yrs::updates::encoder::Encode;
use yrs::ClientID;

/// The connection number of peers that are on other nodes (and of changes the server
/// makes itself).
pub const REMOTE: u64 = 0;

/// Someone's presence in a room.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The awareness clock of the state held.
    pub clock: u32,
    /// The state, as JSON text.
    pub json: Arc<str>,
    /// The connection it came in on; `REMOTE` for people on other nodes.
    pub connection: u64,
    /// When it was last heard of.
    pub seen: Instant,
}

/// Client ids one connection may speak for, unless set otherwise: a browser tab has
/// one; a few more leave room for a client that reconnects its document.
pub const CLAIMS_PER_CONNECTION: usize = 4;

/// The awareness states of a room, by client id.
#[derive(Debug)]
pub struct Presence {
    peers: HashMap<ClientID, Peer>,
    claims: usize,
}

impl Default for Presence {
    fn default() -> Self {
        Presence::new(CLAIMS_PER_CONNECTION)
    }
}

impl Presence {
    /// No one yet; a connection may hold `claims` client ids at once.
    pub fn new(claims: usize) -> Self {
        Presence {
            peers: HashMap::new(),
            claims,
        }
    }

    /// Takes the newer states of `update`, as sent by connection `from` (`REMOTE` for
    /// another node) at `now`. A client id belongs to the connection here that spoke for
    /// it; other connections and other nodes cannot overwrite or remove it, and a
    /// connection speaks for a few client ids at most.
    ///
    /// Only news is taken: a newer clock (or, at the same clock, a removal, as
    /// y-protocols does). Stock y-websocket clients send back every awareness change
    /// they hear of, other people's included; taking those echoes (same clock) would
    /// relay each cursor move once per client in the room. Returns the clients taken:
    /// only those are passed on.
    pub fn merge(&mut self, update: &AwarenessUpdate, from: u64, now: Instant) -> Vec<ClientID> {
        let mut taken = Vec::new();
        for (client, entry) in &update.clients {
            if !self.may_speak_for(*client, from) {
                continue;
            }
            let current = self.peers.get(client);
            let removal = &*entry.json == "null";
            let newer = match current {
                None => !removal, // nothing to remove
                Some(p) => entry.clock > p.clock || (entry.clock == p.clock && removal),
            };
            if !newer {
                continue;
            }
            taken.push(*client);
            if removal {
                self.peers.remove(client);
            } else {
                self.peers.insert(
                    *client,
                    Peer {
                        clock: entry.clock,
                        json: Arc::clone(&entry.json),
                        connection: from,
                        seen: now,
                    },
                );
            }
        }
        taken
    }

    /// Whether connection `from` may set or remove the entry of `client`: its own, a
    /// new one while it holds fewer than its share, or (a client that moved here from
    /// another node) one held for another node.
    pub fn may_speak_for(&self, client: ClientID, from: u64) -> bool {
        match self.peers.get(&client) {
            Some(p) if p.connection == from => true,
            Some(p) if p.connection != REMOTE => false, // someone else's client id
            _ => from == REMOTE || self.held_by(from) < self.claims,
        }
    }

    fn held_by(&self, connection: u64) -> usize {
        self.peers
            .values()
            .filter(|p| p.connection == connection)
            .count()
    }

    /// The state held for `client`.
    pub fn get(&self, client: ClientID) -> Option<&Peer> {
        self.peers.get(&client)
    }

    /// Every client id held.
    pub fn clients(&self) -> Vec<ClientID> {
        self.peers.keys().copied().collect()
    }

    /// The client ids that came in on `connection`.
    pub fn of_connection(&self, connection: u64) -> Vec<ClientID> {
        self.matching(|p| p.connection == connection)
    }

    /// The client ids of people on this node.
    pub fn local(&self) -> Vec<ClientID> {
        self.matching(|p| p.connection != REMOTE)
    }

    /// The client ids not heard of for longer than `timeout` at `now`.
    pub fn silent(&self, timeout: Duration, now: Instant) -> Vec<ClientID> {
        self.matching(|p| now.saturating_duration_since(p.seen) > timeout)
    }

    fn matching(&self, keep: impl Fn(&Peer) -> bool) -> Vec<ClientID> {
        self.peers
            .iter()
            .filter(|(_, p)| keep(p))
            .map(|(id, _)| *id)
            .collect()
    }

    /// An awareness message with the states of `clients`, if any is held.
    pub fn message(&self, clients: &[ClientID]) -> Option<Vec<u8>> {
        let clients: HashMap<ClientID, AwarenessUpdateEntry> = clients
            .iter()
            .filter_map(|id| {
                self.peers.get(id).map(|p| {
                    (
                        *id,
                        AwarenessUpdateEntry {
                            clock: p.clock,
                            json: Arc::clone(&p.json),
                        },
                    )
                })
            })
            .collect();
        (!clients.is_empty()).then(|| Message::Awareness(AwarenessUpdate { clients }).encode_v1())
    }

    /// Removes `clients`; the awareness update that tells the others, if any was held.
    pub fn remove(&mut self, clients: &[ClientID]) -> Option<AwarenessUpdate> {
        let clients: HashMap<ClientID, AwarenessUpdateEntry> = clients
            .iter()
            .filter_map(|id| {
                self.peers.remove(id).map(|p| {
                    (
                        *id,
                        AwarenessUpdateEntry {
                            clock: p.clock + 1,
                            json: Arc::from("null"),
                        },
                    )
                })
            })
            .collect();
        (!clients.is_empty()).then_some(AwarenessUpdate { clients })
    }

    /// The `user` field (`{id, name, color}`) of whoever wrote with client id `writer`,
    /// else of a state that came in on `connection`; null when there is none. There are
    /// no accounts: this is a pseudonym, not an identity.
    pub fn user(&self, connection: u64, writer: Option<ClientID>) -> serde_json::Value {
        writer
            .and_then(|client| self.peers.get(&client))
            .or_else(|| self.peers.values().find(|p| p.connection == connection))
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.json).ok())
            .map(|v| v["user"].clone())
            .unwrap_or_default()
    }
}

/// Who made a change: the pseudonymous id of their browser, and the name and colour they
/// had then. There are no accounts: these come from the person's awareness state.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Author {
    /// Random per browser, kept in its local storage.
    pub id: String,
    /// Display name at the time.
    pub name: String,
    /// CSS colour at the time.
    pub color: String,
}

impl Author {
    /// Who the sender of connection `connection` says it is in its awareness (`user:
    /// {id, name, color}`): the state of the client id that wrote the update (`writer`),
    /// else the one its connection sent, else the connection. Cut to sane lengths.
    pub fn of(presence: &Presence, connection: u64, writer: Option<ClientID>) -> Author {
        let user = presence.user(connection, writer);
        let field = |key: &str, limit: usize| {
            user[key]
                .as_str()
                .map(|s| s.chars().take(limit).collect::<String>())
        };
        Author {
            id: field("id", 64).unwrap_or_default(),
            name: field("name", 100).unwrap_or_else(|| format!("connection {connection}")),
            color: field("color", 32).unwrap_or_default(),
        }
    }
}

/// `update`'s states of `taken` (what is passed on is what was taken, re-encoded, never
/// the bytes as they came).
pub fn only_taken(mut update: AwarenessUpdate, taken: &[ClientID]) -> AwarenessUpdate {
    if taken.len() < update.clients.len() {
        update.clients.retain(|client, _| taken.contains(client));
    }
    update
}

/// Sets `tour` to null in the states of `update` that announce one; whether any did.
/// (The client's awareness field `tour`: the time the owner started a guided tour; only
/// the owner leads tours.) Decided on the parsed state, so no spelling of the key (JSON
/// escapes such as `\u0074our`) gets past it.
pub fn withhold_tour(update: &mut AwarenessUpdate) -> bool {
    let mut changed = false;
    for entry in update.clients.values_mut() {
        // A key spelled `tour` has those letters or an escape in it.
        if !entry.json.contains("tour") && !entry.json.contains('\\') {
            continue;
        }
        // As browsers read it: escapes decoded, the last of repeated keys wins.
        let Ok(serde_json::Value::Object(mut state)) = serde_json::from_str(&entry.json) else {
            continue;
        };
        if state.get("tour").is_none_or(serde_json::Value::is_null) {
            continue;
        }
        state.insert("tour".into(), serde_json::Value::Null);
        entry.json = serde_json::Value::Object(state).to_string().into();
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;

    fn entry(clock: u32, json: &str) -> AwarenessUpdateEntry {
        AwarenessUpdateEntry {
            clock,
            json: json.into(),
        }
    }

    fn update(clients: Vec<(ClientID, AwarenessUpdateEntry)>) -> AwarenessUpdate {
        AwarenessUpdate {
            clients: clients.into_iter().collect(),
        }
    }

    const ADA: &str = r##"{"user":{"id":"a1","name":"Ada","color":"#e91e63"}}"##;
    const BO: &str = r##"{"user":{"id":"b2","name":"Bo","color":"#3f51b5"}}"##;

    #[test]
    fn echoes_of_awareness_are_not_news_and_do_not_change_owners() {
        let now = Instant::now();
        let (ada, bo) = (ClientID::new(10), ClientID::new(20));
        let mut presence = Presence::default();
        // Ada on another node, Bo here on connection 2.
        assert_eq!(
            presence.merge(&update(vec![(ada, entry(1, ADA))]), REMOTE, now),
            vec![ada]
        );
        assert_eq!(
            presence.merge(&update(vec![(bo, entry(1, BO))]), 2, now),
            vec![bo]
        );
        // Bo's client sends back Ada's state as it heard it: nothing new, nothing passed on.
        let echo = update(vec![(ada, entry(1, ADA)), (bo, entry(1, BO))]);
        assert!(presence.merge(&echo, 2, now).is_empty());
        assert_eq!(
            presence.get(ada).map(|p| p.connection),
            Some(REMOTE),
            "Ada's entry stays hers"
        );
        // Connection 3 cannot speak for Bo's client id, even with a newer clock.
        assert!(presence
            .merge(&update(vec![(bo, entry(9, ADA))]), 3, now)
            .is_empty());
        assert_eq!(presence.user(2, Some(bo))["name"], "Bo");
        // Whose update: the writer's state, else the connection's, else nobody's.
        assert_eq!(presence.user(2, None)["name"], "Bo");
        assert!(presence.user(7, None).is_null());
        // Ada moves: a newer clock is news; a removal at the same clock too, once.
        assert_eq!(
            presence.merge(&update(vec![(ada, entry(2, ADA))]), REMOTE, now),
            vec![ada]
        );
        assert_eq!(
            presence.merge(&update(vec![(ada, entry(2, "null"))]), REMOTE, now),
            vec![ada]
        );
        assert!(presence.get(ada).is_none());
        assert!(presence
            .merge(&update(vec![(ada, entry(2, "null"))]), REMOTE, now)
            .is_empty());
    }

    #[test]
    fn who_is_local_whose_connection_and_who_went_silent() {
        let start = Instant::now();
        let (ada, bo, cy) = (ClientID::new(1), ClientID::new(2), ClientID::new(3));
        let mut presence = Presence::default();
        presence.merge(&update(vec![(ada, entry(1, ADA))]), REMOTE, start);
        presence.merge(&update(vec![(bo, entry(1, BO))]), 5, start);
        let later = start + Duration::from_secs(20);
        presence.merge(&update(vec![(cy, entry(1, BO))]), 6, later);
        assert_eq!(presence.local().len(), 2);
        assert_eq!(presence.of_connection(5), vec![bo]);
        let mut silent = presence.silent(Duration::from_secs(10), later);
        silent.sort();
        assert_eq!(silent, vec![ada, bo]);
        // Removing tells the others with a newer clock and null; unknown ids tell nothing.
        let told = presence.remove(&[bo]).expect("a removal");
        assert_eq!(told.clients[&bo].clock, 2);
        assert_eq!(&*told.clients[&bo].json, "null");
        assert!(presence.remove(&[bo]).is_none());
        // Messages carry the states held, and nothing for nobody.
        let all = presence.message(&presence.clients()).expect("states");
        let Ok(Message::Awareness(all)) = Message::decode_v1(&all) else {
            panic!("an awareness message");
        };
        assert_eq!(all.clients.len(), 2);
        assert!(presence.message(&[ClientID::new(99)]).is_none());
    }

    #[test]
    fn an_update_is_written_by_whoever_its_awareness_names() {
        let (bo, cy) = (ClientID::new(20), ClientID::new(30));
        let long = "x".repeat(500);
        let cys = format!(r#"{{"user":{{"id":"{long}","name":"{long}"}}}}"#);
        let mut presence = Presence::default();
        presence.merge(
            &update(vec![(bo, entry(1, BO)), (cy, entry(1, &cys))]),
            2,
            Instant::now(),
        );
        let author = Author::of(&presence, 2, Some(bo));
        assert_eq!(
            (
                author.id.as_str(),
                author.name.as_str(),
                author.color.as_str()
            ),
            ("b2", "Bo", "#3f51b5")
        );
        let author = Author::of(&presence, 2, Some(cy));
        assert_eq!(
            (author.id.chars().count(), author.name.chars().count()),
            (64, 100),
            "cut to size"
        );
        assert_eq!(Author::of(&presence, 7, None).name, "connection 7");
    }

    #[test]
    fn only_what_was_taken_is_passed_on() {
        let (ada, bo) = (ClientID::new(1), ClientID::new(2));
        let both = update(vec![(ada, entry(3, ADA)), (bo, entry(3, BO))]);
        let one = only_taken(both, &[bo]);
        assert_eq!(one.clients.keys().copied().collect::<Vec<_>>(), vec![bo]);
    }

    #[test]
    fn a_connection_speaks_for_a_few_client_ids_and_never_for_anothers() {
        let now = Instant::now();
        let mut presence = Presence::new(2);
        let many = update(
            (1..=5000)
                .map(|i| (ClientID::new(i), entry(1, ADA)))
                .collect(),
        );
        assert_eq!(presence.merge(&many, 7, now).len(), 2, "two claims at most");
        let mine = presence.of_connection(7);
        // Another connection can neither set nor remove them.
        let theirs = update(mine.iter().map(|c| (*c, entry(9, "null"))).collect());
        assert!(presence.merge(&theirs, 8, now).is_empty());
        assert_eq!(presence.of_connection(7).len(), 2);
        // Removing one of its own frees a claim.
        let gone = update(vec![(mine[0], entry(2, "null"))]);
        assert_eq!(presence.merge(&gone, 7, now), vec![mine[0]]);
        let next = update(vec![(ClientID::new(9999), entry(1, BO))]);
        assert_eq!(presence.merge(&next, 7, now).len(), 1);
        // Other nodes are not held to a connection's share.
        assert_eq!(presence.merge(&many, REMOTE, now).len(), 4999);
    }

    #[test]
    fn only_the_owner_announces_a_tour() {
        let mut tour = update(vec![
            (
                ClientID::new(1),
                entry(1, r#"{"user":{"name":"Bo"},"tour":1764000000000}"#),
            ),
            (
                ClientID::new(2),
                entry(1, r#"{"user":{"name":"Cy"},"tour":null}"#),
            ),
            (
                ClientID::new(3),
                entry(1, r#"{"user":{"name":"\"tour\""}}"#),
            ),
        ]);
        assert!(withhold_tour(&mut tour));
        let state: serde_json::Value =
            serde_json::from_str(&tour.clients[&ClientID::new(1)].json).expect("JSON");
        assert_eq!(state["tour"], serde_json::Value::Null);
        assert_eq!(state["user"]["name"], "Bo");
        assert_eq!(
            &*tour.clients[&ClientID::new(3)].json,
            r#"{"user":{"name":"\"tour\""}}"#
        );
        assert!(!withhold_tour(&mut tour), "nothing left to withhold");
        // However the key is spelled, and whichever of repeated keys a browser keeps.
        for sneaky in [
            r#"{"\u0074our":1764000000000}"#,
            r#"{"tour":null,"tour":1764000000000}"#,
            r#"{"t\u006fur":true}"#,
        ] {
            let mut tour = update(vec![(ClientID::new(4), entry(1, sneaky))]);
            assert!(withhold_tour(&mut tour), "{sneaky}");
            let state: serde_json::Value =
                serde_json::from_str(&tour.clients[&ClientID::new(4)].json).expect("JSON");
            assert_eq!(state["tour"], serde_json::Value::Null, "{sneaky}");
        }
    }
}
