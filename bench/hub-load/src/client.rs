//! One simulated person: connects, syncs a real `yrs` document, moves a cursor (awareness)
//! at a steady rate (or, if it is not one of its room's movers, only renews its presence),
//! edits its own shape every few seconds (unless edits are off), and times every cursor
//! move and shape edit of the others in its room from the send stamp inside it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::types::{EntryChange, Event, PathSegment};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, DeepObservable, Doc, In, Map, MapPrelim, MapRef, Out, ReadTxn, StateVector, Transact,
    TransactionMut, Update,
};

use crate::protocol::{awareness_states, Codec, Incoming};
use crate::stats::{now_micros, ClientRecord, Outcome};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The WebSocket read buffer. tungstenite zero-fills the free part of its read buffer
/// before every read attempt (128 KiB by default), and a client's socket is polled
/// after every timer tick too: with thousands of clients that memset alone would
/// take a core. Larger frames still arrive whole (the buffer grows for them).
const READ_BUFFER_BYTES: usize = 4096;

/// How often a client that does not move its cursor sends its presence again. Stock
/// y-protocols clients renew theirs when it is half of the 30 s after which servers (the
/// y-websocket server, HUGEpic's hub) drop a silent presence; without renewals a server
/// would spend the window removing idle clients.
const PRESENCE_RENEW_EVERY: Duration = Duration::from_secs(15);

/// The part of the run whose messages count.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Measuring starts.
    pub start: Instant,
    /// Measuring ends, and clients leave.
    pub end: Instant,
}

impl Window {
    fn contains(&self, at: Instant) -> bool {
        at >= self.start && at < self.end
    }
}

/// Everything one client needs to know.
#[derive(Debug, Clone)]
pub struct ClientPlan {
    /// Its number (names, shape id, timer phases).
    pub index: usize,
    /// Where to connect.
    pub url: String,
    /// The dialect and document.
    pub codec: Codec,
    /// The Hocuspocus token (y-websocket's is in the URL).
    pub token: String,
    /// Time between cursor moves.
    pub cursor_every: Duration,
    /// Whether it moves its cursor (otherwise it only renews its presence).
    pub moves_cursor: bool,
    /// Time between shape edits; `None`: it never edits.
    pub edit_every: Option<Duration>,
    /// When the messages count.
    pub window: Window,
    /// Longest wait for connecting and syncing.
    pub connect_timeout: Duration,
}

/// Runs one client until the window ends, and returns what it saw.
pub async fn run(plan: ClientPlan) -> ClientRecord {
    let mut record = ClientRecord::default();
    let began = Instant::now();
    let connected = tokio::time::timeout(
        plan.connect_timeout,
        tokio_tungstenite::connect_async_with_config(
            plan.url.as_str(),
            Some(WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES)),
            true,
        ),
    )
    .await;
    let socket = match connected {
        Ok(Ok((socket, _))) => socket,
        Ok(Err(e)) => {
            record.outcome = Some(Outcome::Failed(describe_error(&e)));
            return record;
        }
        Err(_) => {
            record.outcome = Some(Outcome::Failed("connect timed out".into()));
            return record;
        }
    };
    let mut client = Client::new(plan, socket, began);
    let outcome = client.serve(&mut record).await;
    record.outcome = Some(outcome);
    record
}

/// A connected client's state.
struct Client {
    plan: ClientPlan,
    socket: Socket,
    began: Instant,
    doc: Doc,
    shapes: MapRef,
    my_shape: Option<MapRef>,
    /// Send stamps of other people's edits, filled by the document observer.
    seen_edits: Arc<Mutex<Vec<u64>>>,
    awareness_clock: u32,
    /// Cursor moves so far: where the cursor is along its circle.
    cursor_moves: u32,
    synced: bool,
}

impl Client {
    fn new(plan: ClientPlan, socket: Socket, began: Instant) -> Self {
        let doc = Doc::new();
        let shapes = doc.get_or_insert_map("shapes");
        let seen_edits = Arc::new(Mutex::new(Vec::new()));
        watch_edits(
            &shapes,
            shape_id(plan.index).into(),
            Arc::clone(&seen_edits),
        );
        Client {
            plan,
            socket,
            began,
            doc,
            shapes,
            my_shape: None,
            seen_edits,
            awareness_clock: 0,
            cursor_moves: 0,
            synced: false,
        }
    }

    /// The connection's life after the WebSocket handshake.
    async fn serve(&mut self, record: &mut ClientRecord) -> Outcome {
        if let Err(outcome) = self.open().await {
            return outcome;
        }
        let presence_every = if self.plan.moves_cursor {
            self.plan.cursor_every
        } else {
            PRESENCE_RENEW_EVERY
        };
        let mut cursor = timer(self.plan.index, 1, presence_every);
        let mut edit = self
            .plan
            .edit_every
            .map(|every| timer(self.plan.index, 2, every));
        let sync_deadline = tokio::time::sleep_until(self.began + self.plan.connect_timeout);
        tokio::pin!(sync_deadline);
        let end = tokio::time::sleep_until(self.plan.window.end);
        tokio::pin!(end);
        loop {
            tokio::select! {
                _ = &mut end => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.close(None)).await;
                    return if self.synced {
                        Outcome::Held
                    } else {
                        Outcome::Failed("not synced by the end".into())
                    };
                }
                _ = &mut sync_deadline, if !self.synced => {
                    return Outcome::Failed("no sync step 2 in time".into());
                }
                frame = self.socket.next() => {
                    let ended = match frame {
                        Some(Ok(Message::Binary(bytes))) => {
                            if self.plan.window.contains(Instant::now()) {
                                record.frames_in += 1;
                            }
                            match self.receive(&bytes, record) {
                                Ok(replies) => self.send_all(replies, record).await.err(),
                                Err(reason) => Some(reason),
                            }
                        }
                        Some(Ok(Message::Close(frame))) => Some(describe_close(frame.as_ref())),
                        Some(Ok(_)) => None,
                        Some(Err(e)) => Some(describe_error(&e)),
                        None => Some("connection ended without a close frame".into()),
                    };
                    if let Some(reason) = ended {
                        return self.ended(reason);
                    }
                }
                _ = cursor.tick(), if self.synced => {
                    let frame = self.awareness(self.plan.moves_cursor);
                    let counted = self.plan.window.contains(Instant::now());
                    if let Err(reason) = self.send(frame).await {
                        return self.ended(reason);
                    }
                    if counted {
                        record.frames_out += 1;
                        record.awareness_out += 1;
                    }
                }
                _ = next_tick(&mut edit), if self.synced => {
                    let frame = self.edit();
                    let counted = self.plan.window.contains(Instant::now());
                    if let Err(reason) = self.send(frame).await {
                        return self.ended(reason);
                    }
                    if counted {
                        record.frames_out += 1;
                        record.edits_out += 1;
                    }
                }
            }
        }
    }

    /// What a provider sends on open: the token (Hocuspocus), its state vector, and its
    /// presence.
    async fn open(&mut self) -> Result<(), Outcome> {
        let codec = self.plan.codec.clone();
        let mut hello = Vec::new();
        hello.extend(codec.auth(&self.plan.token));
        let sv = self.doc.transact().state_vector().encode_v1();
        hello.push(codec.sync_step1(&sv));
        hello.push(self.awareness(false));
        for frame in hello {
            self.send(frame)
                .await
                .map_err(|reason| Outcome::Failed(reason.to_string()))?;
        }
        Ok(())
    }

    fn ended(&self, reason: String) -> Outcome {
        if self.synced {
            Outcome::Closed(reason)
        } else {
            Outcome::Failed(reason)
        }
    }

    /// Handles one server frame; the frames to answer with.
    fn receive(&mut self, bytes: &[u8], record: &mut ClientRecord) -> Result<Vec<Vec<u8>>, String> {
        let codec = &self.plan.codec;
        let message = codec.decode(bytes).map_err(|e| e.to_string())?;
        let mut replies = Vec::new();
        match message {
            Incoming::SyncStep1(sv) => {
                let sv = StateVector::decode_v1(sv).map_err(|e| e.to_string())?;
                let diff = self.doc.transact().encode_diff_v1(&sv);
                replies.push(codec.sync_step2(&diff));
            }
            Incoming::SyncStep2(update) => {
                self.apply(update)?;
                if !self.synced {
                    // What was there before we came is not a delivery to time.
                    if let Ok(mut seen) = self.seen_edits.lock() {
                        seen.clear();
                    }
                    self.synced = true;
                    record.sync_us = Some(self.began.elapsed().as_micros() as u32);
                }
                self.take_edit_latencies(record);
            }
            Incoming::Update(update) => {
                self.apply(update)?;
                self.take_edit_latencies(record);
            }
            // Presence sent before the handshake ends is everyone's last state, not a
            // delivery.
            Incoming::Awareness(update) if self.synced => {
                let now = Instant::now();
                if self.plan.window.contains(now) {
                    let at = now_micros();
                    let me = self.doc.client_id().get();
                    for (client, json) in awareness_states(update).map_err(|e| e.to_string())? {
                        if client == me {
                            continue;
                        }
                        if let Ok(Stamp { sent: Some(sent) }) = serde_json::from_str(json) {
                            record.awareness_us.push(latency(at, sent));
                        }
                    }
                }
            }
            Incoming::Awareness(_) | Incoming::Authenticated | Incoming::Other => {}
            Incoming::QueryAwareness => replies.push(self.awareness(false)),
            Incoming::Ping => replies.push(codec.pong()),
            Incoming::Denied(reason) => return Err(format!("refused: {reason}")),
            Incoming::Closed(reason) => return Err(format!("document closed: {reason}")),
        }
        Ok(replies)
    }

    fn apply(&self, update: &[u8]) -> Result<(), String> {
        let update = Update::decode_v1(update).map_err(|e| e.to_string())?;
        self.doc
            .transact_mut()
            .apply_update(update)
            .map_err(|e| e.to_string())
    }

    fn take_edit_latencies(&self, record: &mut ClientRecord) {
        let stamps = match self.seen_edits.lock() {
            Ok(mut seen) if !seen.is_empty() => std::mem::take(&mut *seen),
            _ => return,
        };
        if self.plan.window.contains(Instant::now()) {
            let at = now_micros();
            record
                .edit_us
                .extend(stamps.into_iter().map(|sent| latency(at, sent)));
        }
    }

    /// The next presence: the cursor a little further along its circle if `moved`, else
    /// where it was (a renewal, or an answer to a query).
    fn awareness(&mut self, moved: bool) -> Vec<u8> {
        self.awareness_clock += 1;
        if moved {
            self.cursor_moves += 1;
        }
        let i = self.plan.index;
        let turn = f64::from(self.cursor_moves) / 50.0 + i as f64;
        let (cx, cy) = (
            2000.0 + (i % 37) as f64 * 900.0,
            1500.0 + (i % 23) as f64 * 700.0,
        );
        let x = cx + 300.0 * turn.cos();
        let y = cy + 300.0 * turn.sin();
        let state = serde_json::json!({
            "user": {"name": name(i), "color": color(i)},
            "cursor": {"x": x.round(), "y": y.round()},
            "viewport": {"x": cx - 960.0, "y": cy - 540.0, "width": 1920, "height": 1080},
            "following": null,
            "sent": now_micros(),
        });
        self.plan.codec.awareness(
            self.doc.client_id().get(),
            self.awareness_clock,
            &state.to_string(),
        )
    }

    /// Moves this client's marker (creating it the first time), stamped with the send
    /// time.
    fn edit(&mut self) -> Vec<u8> {
        let i = self.plan.index;
        let before = self.doc.transact().state_vector();
        let sent = now_micros();
        let geometry = Any::from(std::collections::HashMap::from([
            ("x".to_string(), Any::from((sent % 40_000) as f64)),
            ("y".to_string(), Any::from((sent / 7 % 25_000) as f64)),
        ]));
        {
            let mut txn = self.doc.transact_mut();
            match &self.my_shape {
                Some(shape) => {
                    shape.insert(&mut txn, "geometry", geometry);
                    shape.insert(&mut txn, "sent", Any::from(sent as f64));
                }
                None => {
                    self.my_shape = Some(create_shape(&mut txn, &self.shapes, i, geometry, sent))
                }
            }
        }
        let update = self.doc.transact().encode_diff_v1(&before);
        self.plan.codec.update(&update)
    }

    async fn send(&mut self, frame: Vec<u8>) -> Result<(), String> {
        self.socket
            .send(Message::Binary(frame.into()))
            .await
            .map_err(|e| describe_error(&e))
    }

    async fn send_all(
        &mut self,
        frames: Vec<Vec<u8>>,
        record: &mut ClientRecord,
    ) -> Result<(), String> {
        for frame in frames {
            self.send(frame).await?;
            if self.plan.window.contains(Instant::now()) {
                record.frames_out += 1;
            }
        }
        Ok(())
    }
}

/// Collects into `sink` the send stamps of shapes other clients add or change (a
/// shape's `sent` field), whether they arrive whole or as a changed field.
fn watch_edits(shapes: &MapRef, mine: Arc<str>, sink: Arc<Mutex<Vec<u64>>>) {
    shapes.observe_deep("hub-load", move |txn, events| {
        let mut stamps = Vec::new();
        for event in events.iter() {
            let Event::Map(event) = event else { continue };
            match event.path().front() {
                // A shape added (or replaced) under `shapes`.
                None => {
                    for (key, change) in event.keys(txn) {
                        if let (false, EntryChange::Inserted(Out::YMap(shape)))
                        | (false, EntryChange::Updated(_, Out::YMap(shape))) =
                            (*key == mine, change)
                        {
                            stamps.extend(shape.get(txn, "sent").and_then(stamp_of));
                        }
                    }
                }
                // A field of an existing shape changed.
                Some(PathSegment::Key(shape)) if *shape != mine => {
                    if let Some(EntryChange::Inserted(value) | EntryChange::Updated(_, value)) =
                        event.keys(txn).get("sent")
                    {
                        stamps.extend(stamp_of(value.clone()));
                    }
                }
                Some(_) => {}
            }
        }
        if !stamps.is_empty() {
            if let Ok(mut seen) = sink.lock() {
                seen.extend(stamps);
            }
        }
    });
}

/// A marker in the document schema (`{type, geometry, style, author, created}`), plus the
/// send stamp the receivers time it by.
fn create_shape(
    txn: &mut TransactionMut,
    shapes: &MapRef,
    index: usize,
    geometry: Any,
    sent: u64,
) -> MapRef {
    let style = Any::from(std::collections::HashMap::from([
        ("color".to_string(), Any::from(color(index))),
        ("weight".to_string(), Any::from(2.0)),
    ]));
    let fields: [(&str, In); 6] = [
        ("type", Any::from("marker").into()),
        ("geometry", geometry.into()),
        ("style", style.into()),
        ("author", Any::from(name(index)).into()),
        ("created", Any::from((sent / 1000) as f64).into()),
        ("sent", Any::from(sent as f64).into()),
    ];
    shapes.insert(txn, shape_id(index), MapPrelim::from(fields))
}

/// The part of an awareness state the loader reads.
#[derive(serde::Deserialize)]
struct Stamp {
    sent: Option<u64>,
}

fn stamp_of(value: Out) -> Option<u64> {
    match value {
        Out::Any(Any::Number(n)) => n.as_f64().map(|f| f as u64),
        _ => None,
    }
}

fn latency(received: u64, sent: u64) -> u32 {
    u32::try_from(received.saturating_sub(sent)).unwrap_or(u32::MAX)
}

fn shape_id(index: usize) -> String {
    format!("hub-load-{index}")
}

fn name(index: usize) -> String {
    format!("loader {index}")
}

fn color(index: usize) -> String {
    const COLORS: [&str; 8] = [
        "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
    ];
    COLORS[index % COLORS.len()].to_string()
}

/// A timer ticking every `every`, first after the client's `phase`; a late tick is
/// skipped, not made up for.
fn timer(index: usize, salt: u64, every: Duration) -> Interval {
    let mut timer = tokio::time::interval_at(Instant::now() + phase(index, salt, every), every);
    timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
    timer
}

/// The next tick of `timer`, or never without one.
async fn next_tick(timer: &mut Option<Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// A fixed pseudo-random offset in `[0, every)`, so clients' timers don't fire in step.
fn phase(index: usize, salt: u64, every: Duration) -> Duration {
    let mut x = (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ salt.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 29;
    let nanos = every.as_nanos().max(1) as u64;
    Duration::from_nanos(x % nanos)
}

fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) => format!("close {} {}", u16::from(frame.code), frame.reason),
        None => "close (no code)".into(),
    }
}

fn describe_error(e: &WsError) -> String {
    match e {
        WsError::Io(io) => format!("io: {}", io.kind()),
        WsError::Http(response) => format!("http {}", response.status()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_spread_over_the_period() {
        let every = Duration::from_millis(100);
        let phases: Vec<Duration> = (0..100).map(|i| phase(i, 1, every)).collect();
        assert!(phases.iter().all(|p| *p < every));
        assert!(phases.iter().any(|p| *p < every / 4) && phases.iter().any(|p| *p > every * 3 / 4));
    }

    #[test]
    fn other_clients_edits_are_seen_with_their_stamps() {
        let alice = Doc::new();
        let bob = Doc::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let bob_shapes = bob.get_or_insert_map("shapes");
        watch_edits(&bob_shapes, shape_id(2).into(), Arc::clone(&seen));
        let sync = |from: &Doc, to: &Doc| {
            let update = from
                .transact()
                .encode_diff_v1(&to.transact().state_vector());
            to.transact_mut()
                .apply_update(Update::decode_v1(&update).expect("decodes"))
                .expect("applies");
        };

        // Alice adds her shape, then moves it; Bob sees both stamps.
        let alice_shapes = alice.get_or_insert_map("shapes");
        let shape = create_shape(
            &mut alice.transact_mut(),
            &alice_shapes,
            1,
            Any::Null,
            1_000,
        );
        sync(&alice, &bob);
        shape.insert(&mut alice.transact_mut(), "sent", Any::from(2_000.0));
        sync(&alice, &bob);
        // Bob's own edits are not deliveries.
        create_shape(&mut bob.transact_mut(), &bob_shapes, 2, Any::Null, 3_000);
        assert_eq!(*seen.lock().expect("not poisoned"), vec![1_000, 2_000]);
    }
}
