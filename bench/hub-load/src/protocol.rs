//! The two wire dialects the loader speaks, as bytes in and bytes out (no sockets).
//!
//! Both carry the y-protocols sync and awareness messages. The y-websocket protocol
//! (HUGEpic's hub) sends them bare, one per frame. Hocuspocus prefixes every message
//! with the document name (a varString), adds an auth step (the client sends a token,
//! the server answers "authenticated" or "permission denied"), answers a client's sync
//! step 1 with a "sync reply" (type 4), acknowledges updates with "sync status" (type 8)
//! and may send a close message (type 7) or a bare one-byte ping (type 9).

use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;

/// Which server dialect to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// Bare y-protocols messages (HUGEpic's hub, y-websocket servers).
    YWebsocket,
    /// Hocuspocus: document name prefix and an auth step.
    Hocuspocus,
}

/// A frame that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("malformed message: {0}")]
pub struct MalformedFrame(String);

impl From<yrs::encoding::read::Error> for MalformedFrame {
    fn from(e: yrs::encoding::read::Error) -> Self {
        MalformedFrame(e.to_string())
    }
}

const MSG_SYNC: u32 = 0;
const MSG_AWARENESS: u32 = 1;
const MSG_AUTH: u32 = 2;
const MSG_QUERY_AWARENESS: u32 = 3;
const MSG_SYNC_REPLY: u32 = 4;
const MSG_CLOSE: u32 = 7;
const MSG_SYNC_STATUS: u32 = 8;
const MSG_PING: u8 = 9;
const MSG_PONG: u32 = 10;

const SYNC_STEP1: u32 = 0;
const SYNC_STEP2: u32 = 1;
const SYNC_UPDATE: u32 = 2;

const AUTH_TOKEN: u32 = 0;
const AUTH_DENIED: u32 = 1;
const AUTH_OK: u32 = 2;

/// What a server sent, as far as a load client cares.
#[derive(Debug)]
pub enum Incoming<'a> {
    /// The server's state vector: answer with what it lacks.
    SyncStep1(&'a [u8]),
    /// The server's answer to our step 1: the handshake is done.
    SyncStep2(&'a [u8]),
    /// Someone's document update.
    Update(&'a [u8]),
    /// An encoded awareness update (y-protocols format).
    Awareness(&'a [u8]),
    /// The server asks for our awareness.
    QueryAwareness,
    /// Hocuspocus accepted the token.
    Authenticated,
    /// The server refused us, with its reason.
    Denied(String),
    /// Hocuspocus closes the document, with its reason.
    Closed(String),
    /// Hocuspocus' connection-level ping.
    Ping,
    /// Acknowledgements and messages the loader ignores.
    Other,
}

/// Encodes client messages and decodes server messages of one dialect and document.
#[derive(Debug, Clone)]
pub struct Codec {
    dialect: Dialect,
    document: String,
}

impl Codec {
    /// A codec for `document` (the Hocuspocus document name; unused by y-websocket).
    pub fn new(dialect: Dialect, document: &str) -> Self {
        Codec {
            dialect,
            document: document.to_string(),
        }
    }

    fn start(&self, kind: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        if self.dialect == Dialect::Hocuspocus {
            out.write_string(&self.document);
        }
        out.write_var(kind);
        out
    }

    /// Hocuspocus' first message: the token and a provider version. `None` for y-websocket
    /// (its token travels in the URL).
    pub fn auth(&self, token: &str) -> Option<Vec<u8>> {
        (self.dialect == Dialect::Hocuspocus).then(|| {
            let mut out = self.start(MSG_AUTH);
            out.write_var(AUTH_TOKEN);
            out.write_string(token);
            out.write_string("hub-load");
            out
        })
    }

    /// Sync step 1 with our encoded state vector.
    pub fn sync_step1(&self, state_vector: &[u8]) -> Vec<u8> {
        self.sync(SYNC_STEP1, state_vector)
    }

    /// Sync step 2: what the server lacks.
    pub fn sync_step2(&self, update: &[u8]) -> Vec<u8> {
        self.sync(SYNC_STEP2, update)
    }

    /// A document update.
    pub fn update(&self, update: &[u8]) -> Vec<u8> {
        self.sync(SYNC_UPDATE, update)
    }

    fn sync(&self, step: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = self.start(MSG_SYNC);
        out.write_var(step);
        out.write_buf(payload);
        out
    }

    /// An awareness message with one client's state.
    pub fn awareness(&self, client: u64, clock: u32, json: &str) -> Vec<u8> {
        let mut update = Vec::with_capacity(json.len() + 16);
        update.write_var(1u32);
        update.write_var(client);
        update.write_var(clock);
        update.write_string(json);
        let mut out = self.start(MSG_AWARENESS);
        out.write_buf(&update);
        out
    }

    /// The answer to Hocuspocus' ping.
    pub fn pong(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1);
        out.write_var(MSG_PONG);
        out
    }

    /// Reads a server frame.
    pub fn decode<'a>(&self, frame: &'a [u8]) -> Result<Incoming<'a>, MalformedFrame> {
        if self.dialect == Dialect::Hocuspocus && frame == [MSG_PING] {
            return Ok(Incoming::Ping);
        }
        let mut cursor = Cursor::new(frame);
        if self.dialect == Dialect::Hocuspocus {
            let _document = cursor.read_string()?;
        }
        let kind: u32 = cursor.read_var()?;
        Ok(match kind {
            MSG_SYNC | MSG_SYNC_REPLY => {
                let step: u32 = cursor.read_var()?;
                let payload = read_buf(&mut cursor)?;
                match step {
                    SYNC_STEP1 => Incoming::SyncStep1(payload),
                    SYNC_STEP2 => Incoming::SyncStep2(payload),
                    SYNC_UPDATE => Incoming::Update(payload),
                    other => return Err(MalformedFrame(format!("sync message type {other}"))),
                }
            }
            MSG_AWARENESS => Incoming::Awareness(read_buf(&mut cursor)?),
            MSG_QUERY_AWARENESS => Incoming::QueryAwareness,
            MSG_AUTH => {
                let auth: u32 = cursor.read_var()?;
                match (self.dialect, auth) {
                    (Dialect::Hocuspocus, AUTH_OK) => Incoming::Authenticated,
                    (Dialect::Hocuspocus, AUTH_DENIED) => {
                        Incoming::Denied(cursor.read_string()?.to_string())
                    }
                    // y-protocols auth: 0 = permission denied, with a reason.
                    (Dialect::YWebsocket, 0) => Incoming::Denied(cursor.read_string()?.to_string()),
                    _ => Incoming::Other,
                }
            }
            MSG_CLOSE if self.dialect == Dialect::Hocuspocus => {
                Incoming::Closed(cursor.read_string()?.to_string())
            }
            MSG_SYNC_STATUS => Incoming::Other,
            _ => Incoming::Other,
        })
    }
}

/// A varUint8Array borrowed from the frame (`Read::read_buf` ties it to the cursor).
fn read_buf<'a>(cursor: &mut Cursor<'a>) -> Result<&'a [u8], MalformedFrame> {
    let len: u32 = cursor.read_var()?;
    let start = cursor.next;
    let end = start
        .checked_add(len as usize)
        .filter(|end| *end <= cursor.buf.len())
        .ok_or_else(|| MalformedFrame("a length runs past the frame".into()))?;
    cursor.next = end;
    Ok(&cursor.buf[start..end])
}

/// The states in an encoded awareness update: `(client, clock, json)` for each.
pub fn awareness_states(update: &[u8]) -> Result<Vec<(u64, &str)>, MalformedFrame> {
    let mut cursor = Cursor::new(update);
    let count: u32 = cursor.read_var()?;
    let mut states = Vec::with_capacity(count.min(64) as usize);
    for _ in 0..count {
        let client: u64 = cursor.read_var()?;
        let _clock: u32 = cursor.read_var()?;
        let len: u32 = cursor.read_var()?;
        let start = cursor.next;
        let end = start
            .checked_add(len as usize)
            .filter(|end| *end <= update.len())
            .ok_or_else(|| MalformedFrame("an awareness state runs past the frame".into()))?;
        cursor.next = end;
        let json = std::str::from_utf8(&update[start..end])
            .map_err(|_| MalformedFrame("an awareness state is not UTF-8".into()))?;
        states.push((client, json));
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hocuspocus_frames_carry_the_document_name() {
        let codec = Codec::new(Dialect::Hocuspocus, "room-1");
        let auth = codec.auth("secret").expect("hocuspocus authenticates");
        // varString "room-1", Auth, Token, varString "secret", varString version
        assert_eq!(&auth[..7], b"\x06room-1");
        assert_eq!(&auth[7..10], &[2, 0, 6]);
        let step1 = codec.sync_step1(&[0]);
        assert_eq!(step1, b"\x06room-1\x00\x00\x01\x00");
        match codec.decode(&step1) {
            Ok(Incoming::SyncStep1(sv)) => assert_eq!(sv, [0]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(codec.decode(&[9]), Ok(Incoming::Ping)));
    }

    #[test]
    fn y_websocket_frames_are_bare_and_awareness_round_trips() {
        let codec = Codec::new(Dialect::YWebsocket, "ignored");
        assert!(codec.auth("t").is_none());
        let frame = codec.awareness(7, 3, r#"{"sent":12}"#);
        assert_eq!(frame[0], 1);
        let Ok(Incoming::Awareness(update)) = codec.decode(&frame) else {
            panic!("not awareness")
        };
        let states = awareness_states(update).expect("decodes");
        assert_eq!(states, vec![(7, r#"{"sent":12}"#)]);
    }

    #[test]
    fn truncated_frames_are_errors() {
        let codec = Codec::new(Dialect::YWebsocket, "");
        assert!(codec.decode(&[0, 2, 5, 1]).is_err());
        assert!(awareness_states(&[1, 7, 3, 10, b'{']).is_err());
    }
}
