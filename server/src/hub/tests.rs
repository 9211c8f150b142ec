//! The shell driven without sockets or a database: connections over channels, documents
//! in memory.

use std::convert::Infallible;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use axum::body::Bytes;
use futures_util::{Sink, Stream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, Map, MapPrelim, ReadTxn, StateVector, Transact};

use super::outbox::{Deliver, Outbox, Wire};
use super::room::Room;
use super::{Hub, HubLimits, LocalRelay};
use crate::auth::Role;
use crate::store::MemoryDocStore;

/// A connection's two ends as channels: what the test sends arrives as frames, what
/// the hub writes comes out.
struct Duplex {
    incoming: mpsc::UnboundedReceiver<Frame>,
    outgoing: mpsc::UnboundedSender<Frame>,
}

impl Stream for Duplex {
    type Item = Result<Frame, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}

impl Sink<Frame> for Duplex {
    type Error = mpsc::error::SendError<Frame>;

    fn poll_ready(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, frame: Frame) -> Result<(), Self::Error> {
        self.outgoing.send(frame)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

/// The outbox's writes as frames on the same channel, every byte taken at once (so
/// every write holds whole frames).
struct ChannelWire(mpsc::UnboundedSender<Frame>);

impl Wire for ChannelWire {
    fn try_write(&self, bytes: &[IoSlice<'_>]) -> io::Result<usize> {
        let all: Vec<u8> = bytes
            .iter()
            .flat_map(|slice| slice.iter().copied())
            .collect();
        for payload in payloads(&all) {
            let _ = self.0.send(Frame::Binary(payload.into()));
        }
        Ok(all.len())
    }

    async fn writable(&self) -> io::Result<()> {
        Ok(())
    }
}

/// The payloads of the whole binary frames in `bytes`.
fn payloads(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    while let [first, second, more @ ..] = bytes {
        assert_eq!(*first, 0x82, "the hub sends binary frames");
        let (len, header) = match second {
            126 => (usize::from(u16::from_be_bytes([more[0], more[1]])), 4),
            127 => {
                let mut len = [0; 8];
                len.copy_from_slice(&more[..8]);
                (usize::try_from(u64::from_be_bytes(len)).expect("fits"), 10)
            }
            short => (usize::from(*short), 2),
        };
        payloads.push(bytes[header..header + len].to_vec());
        bytes = &bytes[header + len..];
    }
    payloads
}

/// Hears what a room sends its connections, seated like one.
struct Watcher(mpsc::UnboundedSender<Vec<u8>>);

impl Deliver for Watcher {
    fn deliver(&self, frame: &Bytes) -> bool {
        payloads(frame)
            .into_iter()
            .all(|payload| self.0.send(payload).is_ok())
    }
}

/// The messages `room` sends from now on.
fn watch(room: &Room) -> mpsc::UnboundedReceiver<Vec<u8>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (ends, _) = mpsc::channel(1);
    let id = u64::MAX - room.next_connection.fetch_add(1, Ordering::Relaxed);
    room.seat(id, (Role::View, false), Arc::new(Watcher(tx)), ends);
    rx
}

/// The test's side of a connection.
struct Client {
    to_hub: Option<mpsc::UnboundedSender<Frame>>,
    from_hub: mpsc::UnboundedReceiver<Frame>,
}

impl Client {
    /// Connects to `room` with `role`, as if with a link.
    fn join(room: &Arc<Room>, role: Role) -> Client {
        let guest = super::Guest {
            role,
            linked: true,
            address: None,
        };
        Client::join_as(room, guest)
    }

    /// Connects to `room` as `guest`.
    fn join_as(room: &Arc<Room>, guest: super::Guest) -> Client {
        let (to_hub, incoming) = mpsc::unbounded_channel();
        let (outgoing, from_hub) = mpsc::unbounded_channel();
        let outbox = Outbox::new(
            ChannelWire(outgoing.clone()),
            room.context.limits.send_queue,
        );
        let duplex = Duplex { incoming, outgoing };
        tokio::spawn(super::connection::serve(
            Arc::clone(room),
            duplex,
            Arc::new(outbox),
            guest,
        ));
        Client {
            to_hub: Some(to_hub),
            from_hub,
        }
    }

    fn send(&self, bytes: Vec<u8>) {
        if let Some(to_hub) = &self.to_hub {
            let _ = to_hub.send(Frame::Binary(bytes.into()));
        }
    }

    /// The next frame from the hub.
    async fn next(&mut self) -> Frame {
        tokio::time::timeout(Duration::from_secs(5), self.from_hub.recv())
            .await
            .expect("a frame within 5 s")
            .expect("the connection is open")
    }

    /// The next binary message, decoded.
    async fn message(&mut self) -> Message {
        loop {
            match self.next().await {
                Frame::Binary(bytes) => return Message::decode_v1(&bytes).expect("decodes"),
                Frame::Ping(_) => continue,
                other => panic!("a message, not {other:?}"),
            }
        }
    }
}

fn update_of(doc: &Doc, change: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
    let before = doc.transact().state_vector();
    change(&mut doc.transact_mut());
    doc.transact().encode_diff_v1(&before)
}

fn awareness(client: ClientID, clock: u32, json: &str) -> Vec<u8> {
    let entry = AwarenessUpdateEntry {
        clock,
        json: json.into(),
    };
    Message::Awareness(AwarenessUpdate {
        clients: [(client, entry)].into(),
    })
    .encode_v1()
}

/// A hub on documents in memory, with picture "p".
fn hub_in_memory(limits: HubLimits) -> (Hub, Arc<MemoryDocStore>) {
    let store = Arc::new(MemoryDocStore::with_pictures(["p"]));
    let hub = Hub::new(store.clone(), limits, Arc::new(LocalRelay::default()));
    (hub, store)
}

/// Whether `room`'s `shapes` has `key`.
async fn has_shape(room: &Room, key: &str) -> bool {
    let document = room.document.lock().await;
    let shapes = document.doc().get_or_insert_map("shapes");
    let txn = document.doc().transact();
    shapes.get(&txn, key).is_some()
}

#[tokio::test]
async fn a_connection_over_channels_syncs_edits_shares_presence_is_refused_and_closed() {
    let (hub, store) = hub_in_memory(HubLimits::default());
    let room = hub.room("p").await.expect("room");
    let mut editor = Client::join(&room, Role::Edit);
    assert!(matches!(
        editor.message().await,
        Message::Sync(SyncMessage::SyncStep1(_))
    ));
    // Sync: the editor asks for what it lacks.
    editor.send(Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1());
    assert!(matches!(
        editor.message().await,
        Message::Sync(SyncMessage::SyncStep2(_))
    ));
    // Presence: the viewer hears who is here on joining, then the editor's moves.
    let doc = Doc::new();
    let ada = doc.client_id();
    editor.send(awareness(
        ada,
        1,
        r#"{"user":{"id":"a1","name":"Ada"},"cursor":[1,2]}"#,
    ));
    let mut viewer = Client::join(&room, Role::View);
    assert!(matches!(
        viewer.message().await,
        Message::Sync(SyncMessage::SyncStep1(_))
    ));
    let Message::Awareness(present) = viewer.message().await else {
        panic!("who is here");
    };
    assert!(present.clients.contains_key(&ada));
    editor.send(awareness(
        ada,
        2,
        r#"{"user":{"id":"a1","name":"Ada"},"cursor":[3,4]}"#,
    ));
    // The tick that carried clock 1 to the editor's room-mates may reach the viewer
    // after its greeting (the same state again, which clients ignore); then the move.
    let mut clocks = Vec::new();
    while clocks.last() != Some(&2) && clocks.len() < 3 {
        let Message::Awareness(moved) = viewer.message().await else {
            panic!("the move");
        };
        clocks.push(moved.clients[&ada].clock);
    }
    assert!(
        clocks == [2] || clocks == [1, 2],
        "clocks heard: {clocks:?}"
    );
    // An update: logged before the viewer sees it, under Ada's name.
    let shapes = doc.get_or_insert_map("shapes");
    let drawn = update_of(&doc, |txn| {
        shapes.insert(txn, "s1", MapPrelim::from([("type", "marker")]));
    });
    editor.send(Message::Sync(SyncMessage::Update(drawn.clone())).encode_v1());
    let Message::Sync(SyncMessage::Update(seen)) = viewer.message().await else {
        panic!("the update");
    };
    assert_eq!(seen, drawn);
    let log = store.log("p");
    assert_eq!(log.len(), 1, "logged before it was seen");
    assert_eq!(log[0].2.name, "Ada");
    // The viewer's own change is refused, with a reason, and counted.
    let other = Doc::new();
    let theirs = other.get_or_insert_map("shapes");
    let forced = update_of(&other, |txn| {
        theirs.insert(txn, "x", MapPrelim::from([("type", "marker")]));
    });
    viewer.send(Message::Sync(SyncMessage::Update(forced)).encode_v1());
    let Message::Auth(Some(reason)) = viewer.message().await else {
        panic!("a refusal");
    };
    assert!(reason.contains("view-only"), "{reason}");
    assert!(!has_shape(&room, "x").await);
    assert_eq!(hub.metrics().refused_updates.load(Ordering::Relaxed), 1);
    // A text frame closes its sender with 1003; the other stays.
    let _ = viewer
        .to_hub
        .as_ref()
        .map(|to_hub| to_hub.send(Frame::Text("hello".into())));
    let Frame::Close(Some(close)) = viewer.next().await else {
        panic!("a close frame");
    };
    assert_eq!(u16::from(close.code), 1003);
    // The editor leaving takes Ada's presence with it; the room hears it.
    let mut watcher = watch(&room);
    editor.to_hub = None;
    let removal = tokio::time::timeout(Duration::from_secs(5), watcher.recv())
        .await
        .expect("a removal")
        .expect("received");
    let Ok(Message::Awareness(removal)) = Message::decode_v1(&removal) else {
        panic!("awareness");
    };
    assert_eq!(&*removal.clients[&ada].json, "null");
}

#[tokio::test]
async fn updates_are_logged_in_order_before_anyone_sees_them() {
    let (hub, _) = hub_in_memory(HubLimits::default());
    let room = hub.room("p").await.expect("room");
    let mut others = watch(&room);
    let editor = Client::join(&room, Role::Edit);
    let client = Doc::new();
    let shapes = client.get_or_insert_map("shapes");
    let mut sent = Vec::new();
    for i in 0..40 {
        let bytes = update_of(&client, |txn| {
            shapes.insert(txn, format!("s{i}"), MapPrelim::from([("type", "marker")]));
        });
        editor.send(Message::Sync(SyncMessage::Update(bytes.clone())).encode_v1());
        sent.push(bytes);
    }
    for (i, bytes) in sent.iter().enumerate() {
        let seen = tokio::time::timeout(Duration::from_secs(5), others.recv())
            .await
            .expect("sent on")
            .expect("received");
        assert_eq!(
            &seen[..],
            &Message::Sync(SyncMessage::Update(bytes.clone())).encode_v1()[..]
        );
        let logged = hub
            .context
            .store
            .load_document("p")
            .await
            .expect("log")
            .updates;
        assert!(
            logged.len() > i,
            "update {i} was sent on before it was logged"
        );
        assert_eq!(&logged[i].1, bytes, "the log keeps the order applied");
    }
    assert_eq!(room.unlogged.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_flooding_sender_is_closed_and_its_victims_hear_every_honest_cursor() {
    let (hub, _) = hub_in_memory(HubLimits::default());
    let room = hub.room("p").await.expect("room");
    let flooder = Client::join(&room, Role::View);
    let honest = Client::join(&room, Role::Edit);
    let mut reader = Client::join(&room, Role::View);
    let _ = reader.message().await; // sync step 1
    let (eve, ada) = (ClientID::new(666), ClientID::new(1));
    let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(3000));
    for clock in 1..=2000 {
        flooder.send(awareness(eve, clock, &big));
        if clock % 100 == 0 {
            honest.send(awareness(ada, clock / 100, r#"{"cursor":1}"#));
        }
    }
    // The reader stays, and has every cursor state of Ada's (merged at most).
    let mut last_ada = 0;
    let mut eves = 0;
    while last_ada < 20 {
        match reader.next().await {
            Frame::Binary(bytes) => {
                let Ok(Message::Awareness(update)) = Message::decode_v1(&bytes) else {
                    continue;
                };
                if let Some(entry) = update.clients.get(&ada) {
                    last_ada = entry.clock;
                }
                eves += usize::from(update.clients.contains_key(&eve));
            }
            Frame::Close(close) => panic!("the reader was closed: {close:?}"),
            _ => {}
        }
    }
    assert!(eves <= 300, "the flood was relayed: {eves} of Eve's states");
    let mut tries = 0;
    while room.connections.load(Ordering::SeqCst) != 2 {
        tries += 1;
        assert!(tries < 250, "the flooder is still connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn eventually(what: &str, check: impl AsyncFn() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn nodes_repair_dropped_updates_and_deletions_by_comparing_state() {
    let store = Arc::new(MemoryDocStore::with_pictures(["p"]));
    let relay = Arc::new(LocalRelay::default());
    let limits = HubLimits {
        repair_every: Duration::from_millis(50),
        ..HubLimits::default()
    };
    let one = Hub::new(store.clone(), limits.clone(), relay.clone());
    let two = Hub::new(store, limits, relay);
    let a = one.room("p").await.expect("room on one");
    let b = two.room("p").await.expect("room on two");

    // A change reaches node one, but what it published is lost.
    let client = Doc::new();
    let shapes = client.get_or_insert_map("shapes");
    let added = update_of(&client, |txn| {
        shapes.insert(txn, "s1", MapPrelim::from([("type", "marker")]));
        shapes.insert(txn, "s2", MapPrelim::from([("type", "circle")]));
    });
    assert!(a.merge_remote(&added).await);
    assert!(!has_shape(&b, "s1").await);
    eventually("node two to get the lost shapes", async || {
        has_shape(&b, "s1").await
    })
    .await;
    let repaired = two.metrics().repair_syncs.load(Ordering::Relaxed);
    assert!(repaired >= 1);

    // A deletion moves no state vector; the delete digest finds it.
    let deleted = update_of(&client, |txn| {
        shapes.remove(txn, "s2");
    });
    assert!(a.merge_remote(&deleted).await);
    eventually("node two to lose the deleted shape", async || {
        !has_shape(&b, "s2").await
    })
    .await;
    assert!(has_shape(&b, "s1").await);
    assert!(two.metrics().repair_syncs.load(Ordering::Relaxed) > repaired);
}

/// Waits for the close frame, skipping what comes before it.
async fn closed_with(client: &mut Client) -> u16 {
    loop {
        if let Frame::Close(close) = client.next().await {
            return close.map_or(0, |c| u16::from(c.code));
        }
    }
}

#[tokio::test]
async fn replaced_links_close_their_sockets_and_a_deleted_picture_closes_its_room() {
    let store = Arc::new(MemoryDocStore::with_pictures(["p"]));
    let relay = Arc::new(LocalRelay::default());
    let hub = Hub::new(store.clone(), HubLimits::default(), relay.clone());
    let elsewhere = Hub::new(store.clone(), HubLimits::default(), relay);
    let room = hub.room("p").await.expect("room");
    let mut owner = Client::join(&room, Role::Owner);
    let mut editor = Client::join(&room, Role::Edit);
    let far_room = elsewhere.room("p").await.expect("room on another node");
    let mut far_viewer = Client::join(&far_room, Role::View);
    let mut far_owner = Client::join(&far_room, Role::Owner);
    for client in [&mut owner, &mut editor, &mut far_viewer, &mut far_owner] {
        let _ = client.message().await;
    }
    hub.links_revoked("p", &[Role::Edit, Role::Comment, Role::View], "new links");
    assert_eq!(closed_with(&mut editor).await, 4401);
    assert_eq!(
        closed_with(&mut far_viewer).await,
        4401,
        "on the other node too"
    );
    // The owner's link was not replaced: it goes on.
    owner.send(Message::AwarenessQuery.encode_v1());
    owner.send(awareness(ClientID::new(5), 1, "{}"));
    let mut watcher = watch(&room);
    owner.send(awareness(ClientID::new(5), 2, "{}"));
    assert!(tokio::time::timeout(Duration::from_secs(5), watcher.recv())
        .await
        .is_ok());
    store.delete("p");
    hub.deleted("p");
    assert_eq!(closed_with(&mut owner).await, 4404);
    assert_eq!(
        closed_with(&mut far_owner).await,
        4404,
        "on the other node too"
    );
    assert!(hub.loaded("p").is_none(), "the room is unloaded");
    assert!(elsewhere.loaded("p").is_none(), "on the other node too");
}

#[tokio::test]
async fn updates_that_can_never_be_logged_do_not_hold_up_other_rooms() {
    let store = Arc::new(MemoryDocStore::with_pictures(["p", "q"]));
    let hub = Hub::new(
        store.clone(),
        HubLimits::default(),
        Arc::new(LocalRelay::default()),
    );
    let doomed = hub.room("q").await.expect("room q");
    let live = hub.room("p").await.expect("room p");
    let mut writer = Client::join(&doomed, Role::Edit);
    let _ = writer.message().await;
    // q is deleted behind the hub's back: its updates can never be logged.
    store.delete("q");
    let client = Doc::new();
    let shapes = client.get_or_insert_map("shapes");
    for i in 0..20 {
        let bytes = update_of(&client, |txn| {
            shapes.insert(txn, format!("s{i}"), MapPrelim::from([("type", "marker")]));
        });
        writer.send(Message::Sync(SyncMessage::Update(bytes)).encode_v1());
    }
    // Meanwhile p's updates go through, without waiting for q's retries.
    let editor = Client::join(&live, Role::Edit);
    let mut others = watch(&live);
    let other = Doc::new();
    let theirs = other.get_or_insert_map("shapes");
    let mut slowest = Duration::ZERO;
    for i in 0..5 {
        let bytes = update_of(&other, |txn| {
            theirs.insert(txn, format!("p{i}"), MapPrelim::from([("type", "marker")]));
        });
        let sent = std::time::Instant::now();
        editor.send(Message::Sync(SyncMessage::Update(bytes)).encode_v1());
        tokio::time::timeout(Duration::from_secs(5), others.recv())
            .await
            .expect("p's update is sent on")
            .expect("received");
        slowest = slowest.max(sent.elapsed());
    }
    // The log writer's retries would take over 1.3 s.
    assert!(
        slowest < Duration::from_millis(1000),
        "p waited {slowest:?}"
    );
    assert_eq!(store.log("p").len(), 5);
    // q's writer is told its changes were not stored.
    assert_eq!(closed_with(&mut writer).await, 1011);
}

#[tokio::test]
async fn seats_are_kept_for_edit_links_and_one_address_cannot_fill_a_room() {
    let limits = HubLimits {
        connections_per_room: 10,
        reserved_seats: 4,
        connections_per_address: 3,
        ..HubLimits::default()
    };
    let (hub, _) = hub_in_memory(limits);
    let room = hub.room("p").await.expect("room");
    let from = |i: u8| Some(std::net::IpAddr::from([10, 0, 0, i]));
    let tokenless = |i| super::Guest {
        role: Role::View,
        linked: false,
        address: from(i),
    };
    // Six tokenless visitors from six addresses fill the open seats.
    let mut crowd = Vec::new();
    for i in 0..6 {
        let mut visitor = Client::join_as(&room, tokenless(i));
        assert!(matches!(visitor.message().await, Message::Sync(_)));
        crowd.push(visitor);
    }
    let mut seventh = Client::join_as(&room, tokenless(6));
    assert_eq!(closed_with(&mut seventh).await, 1013);
    // The owner and an editor still get in.
    let mut owner = Client::join(&room, Role::Owner);
    assert!(matches!(owner.message().await, Message::Sync(_)));
    let mut editor = Client::join(&room, Role::Edit);
    assert!(matches!(editor.message().await, Message::Sync(_)));
    // One address has three connections at most (across rooms).
    let (hub, _) = hub_in_memory(HubLimits {
        connections_per_address: 3,
        ..HubLimits::default()
    });
    let room = hub.room("p").await.expect("room");
    let mut same = Vec::new();
    for _ in 0..3 {
        let mut visitor = Client::join_as(&room, tokenless(1));
        assert!(matches!(visitor.message().await, Message::Sync(_)));
        same.push(visitor);
    }
    let mut fourth = Client::join_as(&room, tokenless(1));
    assert_eq!(closed_with(&mut fourth).await, 1008);
    let mut elsewhere = Client::join_as(&room, tokenless(2));
    assert!(matches!(elsewhere.message().await, Message::Sync(_)));
    // Leaving gives the address its place back.
    same.pop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = Client::join_as(&room, tokenless(1));
    assert!(matches!(again.message().await, Message::Sync(_)));
}
