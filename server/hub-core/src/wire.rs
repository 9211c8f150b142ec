//! What the hub reads off the wire: y-websocket messages from clients, and envelopes
//! from the other server nodes.

use std::fmt;

use yrs::block::{
    ItemContent, BLOCK_GC_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN, HAS_PARENT_SUB,
    HAS_RIGHT_ORIGIN,
};
use yrs::encoding::read::Read;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::sync::protocol::{
    MSG_AWARENESS, MSG_SYNC, MSG_SYNC_STEP_1, MSG_SYNC_STEP_2, MSG_SYNC_UPDATE,
};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::{Decode, Decoder, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::{StateVector, Update};

/// Why bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

/// One y-websocket message from a client, decoded as far as the hub needs.
pub enum ClientMessage {
    /// Sync step 1: the client's state vector; it wants what it lacks.
    SyncStep1(StateVector),
    /// Sync step 2 or an update: document changes, as sent and decoded.
    Update {
        /// The encoded update (v1), kept for the log and the fan-out.
        bytes: Vec<u8>,
        /// The same, decoded.
        update: Update,
    },
    /// Awareness states, each one valid JSON.
    Awareness(AwarenessUpdate),
    /// The client asks for everyone's awareness.
    AwarenessQuery,
    /// Auth and custom messages: nothing for the hub to do.
    Ignored,
}

/// Decodes a client's binary frame.
pub fn decode_client(bytes: &[u8]) -> Result<ClientMessage, WireError> {
    check_header(bytes)?;
    let message = Message::decode_v1(bytes)
        .map_err(|e| WireError(format!("malformed y-websocket message: {e}")))?;
    Ok(match message {
        Message::Sync(SyncMessage::SyncStep1(sv)) => ClientMessage::SyncStep1(sv),
        Message::Sync(SyncMessage::SyncStep2(bytes) | SyncMessage::Update(bytes)) => {
            check_update(&bytes)?;
            let update = Update::decode_v1(&bytes)
                .map_err(|e| WireError(format!("malformed document update: {e}")))?;
            // What yrs writes of this update (snapshots, answers to sync step 1, diffs
            // for other nodes) must read back as the same update: the same blocks
            // (compared by id), deletions and clocks, in as many bytes (not the same
            // bytes: yrs writes the keys of a map value in hash order). yrs 0.28 reads
            // one string more than a JSON content item declares and writes what it read
            // (found by fuzzing): such an item, once in the document, makes later
            // snapshots unreadable, or readable as something else.
            let written = update.encode_v1();
            let same = Update::decode_v1(&written).is_ok_and(|reread| {
                reread == update
                    && reread.state_vector() == update.state_vector()
                    && reread.encode_v1().len() == written.len()
            });
            if !same {
                return Err(WireError(
                    "a document update that does not read back as written".into(),
                ));
            }
            ClientMessage::Update { bytes, update }
        }
        Message::Awareness(update) => {
            // Other clients parse these states; one that is not JSON would break them all.
            for entry in update.clients.values() {
                if !is_json(&entry.json) {
                    return Err(WireError("an awareness state is not valid JSON".into()));
                }
            }
            ClientMessage::Awareness(update)
        }
        Message::AwarenessQuery => ClientMessage::AwarenessQuery,
        Message::Auth(_) | Message::Custom(..) => ClientMessage::Ignored,
    })
}

/// Refuses a frame whose update, state vector or awareness update declares more entries
/// than its bytes can hold, or (state vector, awareness) names a client id over 53 bits.
///
/// `yrs` sizes a hash table by the count before it reads an entry: an 8-byte frame
/// declaring 2^28 clients costs half a GiB of zeroed memory and half a second before the
/// decoder finds the bytes missing. Each entry takes at least 3 bytes in an update (block
/// count, client, clock) and in an awareness update (client, clock, state), 2 in a state
/// vector (client, clock). Client ids: yrs asserts they fit 53 bits in debug builds (in
/// release it drops the high bits); an update's are checked by `check_update`. Read with
/// the decoder `yrs` itself uses, so what is checked is what it would read; anything that
/// does not parse is left to `yrs` to refuse.
fn check_header(bytes: &[u8]) -> Result<(), WireError> {
    #[derive(PartialEq)]
    enum Kind {
        StateVector,
        Update,
        Awareness,
    }
    let mut decoder = DecoderV1::from(bytes);
    let (kind, buf) = match decoder.read_var::<u8>() {
        Ok(MSG_SYNC) => {
            let (Ok(tag), Ok(buf)) = (decoder.read_var::<u8>(), decoder.read_buf()) else {
                return Ok(());
            };
            match tag {
                MSG_SYNC_STEP_1 => (Kind::StateVector, buf),
                MSG_SYNC_STEP_2 | MSG_SYNC_UPDATE => (Kind::Update, buf),
                _ => return Ok(()),
            }
        }
        Ok(MSG_AWARENESS) => match decoder.read_buf() {
            Ok(buf) => (Kind::Awareness, buf),
            Err(_) => return Ok(()),
        },
        _ => return Ok(()),
    };
    let mut entries = DecoderV1::from(buf);
    // (count, least bytes per entry); yrs reads an awareness count as `usize`.
    let declared = match kind {
        Kind::StateVector => entries.read_var::<u32>().map(|n| (n as usize, 2)),
        Kind::Update => entries.read_var::<u32>().map(|n| (n as usize, 3)),
        Kind::Awareness => entries.read_var::<usize>().map(|n| (n, 3)),
    };
    let Ok((count, entry_bytes)) = declared else {
        return Ok(());
    };
    if count > buf.len() / entry_bytes {
        return Err(WireError(format!(
            "a message of {} bytes declares {count} entries",
            buf.len()
        )));
    }
    if kind == Kind::Update {
        return Ok(());
    }
    for _ in 0..count {
        let Ok(client) = entries.read_var::<u64>() else {
            return Ok(());
        };
        if client >= 1 << 53 {
            return Err(WireError("a client id over 53 bits".into()));
        }
        let clock = entries.read_var::<u32>();
        if clock.is_err() || kind == Kind::Awareness && entries.read_string().is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Whether `update` holds blocks of a client that start before the clock `state` (the
/// document's state vector) has for that client and end after it.
///
/// yrs 0.28 cuts such a block at the document's clock and integrates the rest as
/// continuing the item before it, whatever that item is. With ids a client made up
/// (content or parent other than what the document holds under them) that corrupts the
/// document (found by fuzzing): an item integrated that way under a map that the same
/// update deletes made yrs's garbage collection free memory the document still uses
/// (use after free); a pending one made snapshots load as another document, or not at
/// all (`InvalidParent`). A client's honest resend can straddle too (a sync step 2
/// answering an older state vector): refused, and sent a sync step 1, the client sends
/// what the document lacks from its clock on.
pub fn straddles(update: &Update, state: &StateVector) -> bool {
    update.insertions(true).iter().any(|(client, ranges)| {
        let have = state.get(client);
        ranges.iter().any(|r| r.start < have && have < r.end)
    })
}

/// Whether `update` holds blocks of a client past a gap: starting after the clock
/// `state` (the document's state vector) has for that client, or after a skip inside the
/// update.
///
/// yrs 0.28 integrates such blocks when their parent is known, behind a skip, but what it
/// writes of the document (snapshots, sync step 2, diffs) stops at the skip (found by
/// fuzzing): a room shows them until a snapshot of it is loaded, other nodes never get
/// them, and the delete digests of two nodes with the same content differ for ever.
/// An honest client sends one after an update of its was refused (rate limit, size):
/// once resynced (a new connection), its sync step 2 starts where the document is. A
/// node can ask the sender for what it lacks.
pub fn has_gap(update: &Update, state: &StateVector) -> bool {
    update.insertions(true).iter().any(|(client, ranges)| {
        let have = state.get(client);
        ranges.iter().any(|r| r.start > have)
    })
}

/// Clocks (per client, counting every change it made) stay below this. A person's
/// session never gets near it; past it yrs 0.28 gets offsets wrong (it subtracts clocks
/// as `i32`).
const MAX_CLOCK: u32 = 1 << 31;

/// Walks an update (v1) with yrs's own readers, as `Update::decode_v1` does, and
/// refuses what yrs 0.28 mishandles (found by fuzzing):
/// - a client listed twice: its blocks' clocks can then go backwards, and integrating
///   them frees items the document still points to (use after free in
///   `BlockStore::push`);
/// - clocks past `MAX_CLOCK`, in blocks or in the delete set: yrs adds and subtracts
///   them unchecked (a panic in debug builds; in release they wrap, the document's
///   state vector goes back or `apply_update` panics half-way);
/// - a client id over 53 bits (yrs asserts it in debug builds; in release it drops
///   the high bits);
/// - a subdocument (the annotation schema has none): a document holding one is never
///   freed (leaked whole when a room unloads, and with every copy `only_comments`
///   makes).
///
/// Anything that does not parse is left to `Update::decode_v1` to refuse.
fn check_update(update: &[u8]) -> Result<(), WireError> {
    let refuse = |what: &str| Err(WireError(format!("a document update with {what}")));
    let mut decoder = DecoderV1::from(update);
    let Ok(clients) = decoder.read_var::<u32>() else {
        return Ok(());
    };
    // At most a third of the bytes (checked by `check_header`).
    let mut seen = std::collections::HashSet::new();
    for _ in 0..clients {
        // In yrs's order: it checks the client id (debug builds) before reading on.
        let (Ok(blocks), Ok(client)) = (decoder.read_var::<u32>(), decoder.read_var::<u64>())
        else {
            return Ok(());
        };
        if client >= 1 << 53 {
            return refuse("a client id over 53 bits");
        }
        let Ok(mut clock) = decoder.read_var::<u32>() else {
            return Ok(());
        };
        if !seen.insert(client) {
            return refuse("a client listed twice");
        }
        for _ in 0..blocks {
            match next_block(&mut decoder) {
                Ok(Block::Len(len)) => match clock.checked_add(len) {
                    Some(next) if next <= MAX_CLOCK => clock = next,
                    _ => return refuse("clocks past 2^31"),
                },
                Ok(Block::BigClient) => return refuse("a client id over 53 bits"),
                Ok(Block::Subdocument) => return refuse("a subdocument"),
                Err(_) => return Ok(()),
            }
        }
    }
    // The delete set: per client, ranges as (clock, length).
    let Ok(clients) = decoder.read_var::<u32>() else {
        return Ok(());
    };
    for _ in 0..clients {
        let (Ok(client), Ok(ranges)) = (decoder.read_var::<u64>(), decoder.read_var::<u32>())
        else {
            return Ok(());
        };
        if client >= 1 << 53 {
            return refuse("a client id over 53 bits");
        }
        for _ in 0..ranges {
            let (Ok(clock), Ok(len)) = (decoder.read_var::<u32>(), decoder.read_var::<u32>())
            else {
                return Ok(());
            };
            if clock.checked_add(len).is_none_or(|end| end > MAX_CLOCK) {
                return refuse("clocks past 2^31");
            }
        }
    }
    Ok(())
}

/// What `check_update` needs to know of a block.
enum Block {
    /// Its clock length.
    Len(u32),
    /// An origin or parent names a client id over 53 bits.
    BigClient,
    /// It holds a subdocument.
    Subdocument,
}

/// Reads the next block as `Update::decode_v1` reads it.
fn next_block(decoder: &mut DecoderV1) -> Result<Block, yrs::encoding::read::Error> {
    let info = decoder.read_info()?;
    if info == BLOCK_SKIP_REF_NUMBER || info == BLOCK_GC_REF_NUMBER {
        return decoder.read_var::<u32>().map(Block::Len);
    }
    // An id: client, clock.
    let id = |decoder: &mut DecoderV1| -> Result<bool, yrs::encoding::read::Error> {
        let client = decoder.read_var::<u64>()?;
        decoder.read_var::<u32>()?;
        Ok(client < 1 << 53)
    };
    let mut ids_ok = true;
    if info & HAS_ORIGIN != 0 {
        ids_ok &= id(decoder)?;
    }
    if info & HAS_RIGHT_ORIGIN != 0 {
        ids_ok &= id(decoder)?;
    }
    if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
        if decoder.read_parent_info()? {
            decoder.read_string()?;
        } else {
            ids_ok &= id(decoder)?;
        }
        if info & HAS_PARENT_SUB != 0 {
            decoder.read_string()?;
        }
    }
    let content = ItemContent::decode(decoder, info)?;
    Ok(if !ids_ok {
        Block::BigClient
    } else if matches!(content, ItemContent::Doc(..)) {
        Block::Subdocument
    } else {
        Block::Len(content.len_utf16())
    })
}

/// Whether `text` is one JSON value (checked without building it).
fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// A message between server nodes, on the picture's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The node that sent it.
    pub node: u64,
    /// When it was sent, microseconds since the Unix epoch (for the latency histogram).
    pub sent_micros: u64,
    /// What it carries.
    pub body: Body,
}

/// What an envelope carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A document update (v1) a client sent to the sending node; already logged there.
    Update(Vec<u8>),
    /// A y-websocket awareness message, to forward to clients as it is.
    Awareness(Vec<u8>),
    /// The sender's state vector and a digest of its deletions: "send me what I lack".
    Ask {
        /// Encoded state vector (v1).
        state_vector: Vec<u8>,
        /// Digest of the delete set (see `delete_digest`).
        deletes: u64,
        /// Sent on (re)subscribing: answer with your awareness too.
        hello: bool,
        /// An answer to an ask: do not ask back.
        answer: bool,
    },
    /// What `to` lacked, as an update (v1).
    Diff {
        /// The node that asked.
        to: u64,
        /// The missing part.
        update: Vec<u8>,
    },
    /// Close the room's connections of these roles (a link was revoked, the picture was
    /// deleted): `roles` is a set of `Role::bit`s.
    Close {
        /// Whose connections.
        roles: u8,
        /// The WebSocket close code.
        code: u16,
        /// Why, in words.
        reason: String,
    },
    /// A picture was deleted: every node stops serving it (sent on the node-wide
    /// channel, `PICTURES_CHANNEL`, not a room's).
    Gone {
        /// The picture's id.
        picture: String,
    },
}

/// The channel every node joins for news about pictures (no picture id has a `*`).
pub const PICTURES_CHANNEL: &str = "*pictures";

const VERSION: u8 = 1;

impl Envelope {
    /// The bytes published on Redis.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.payload_len());
        out.push(VERSION);
        out.push(match self.body {
            Body::Update(_) => 0,
            Body::Awareness(_) => 1,
            Body::Ask { .. } => 2,
            Body::Diff { .. } => 3,
            Body::Close { .. } => 4,
            Body::Gone { .. } => 5,
        });
        out.extend_from_slice(&self.node.to_le_bytes());
        out.extend_from_slice(&self.sent_micros.to_le_bytes());
        match &self.body {
            Body::Update(bytes) | Body::Awareness(bytes) => out.extend_from_slice(bytes),
            Body::Ask {
                state_vector,
                deletes,
                hello,
                answer,
            } => {
                out.push(u8::from(*hello) | (u8::from(*answer) << 1));
                out.extend_from_slice(&deletes.to_le_bytes());
                out.extend_from_slice(state_vector);
            }
            Body::Diff { to, update } => {
                out.extend_from_slice(&to.to_le_bytes());
                out.extend_from_slice(update);
            }
            Body::Close {
                roles,
                code,
                reason,
            } => {
                out.push(*roles);
                out.extend_from_slice(&code.to_le_bytes());
                out.extend_from_slice(reason.as_bytes());
            }
            Body::Gone { picture } => out.extend_from_slice(picture.as_bytes()),
        }
        out
    }

    fn payload_len(&self) -> usize {
        match &self.body {
            Body::Update(b) | Body::Awareness(b) => b.len(),
            Body::Ask { state_vector, .. } => state_vector.len(),
            Body::Diff { update, .. } => update.len(),
            Body::Close { reason, .. } => reason.len(),
            Body::Gone { picture } => picture.len(),
        }
    }

    /// Reads an envelope published by a node.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
        let short = || WireError("a node message is cut short".into());
        let (&version, rest) = bytes.split_first().ok_or_else(short)?;
        if version != VERSION {
            return Err(WireError(format!(
                "a node message of version {version}; this node speaks {VERSION}"
            )));
        }
        let (&kind, rest) = rest.split_first().ok_or_else(short)?;
        let (node, rest) = take_u64(rest).ok_or_else(short)?;
        let (sent_micros, rest) = take_u64(rest).ok_or_else(short)?;
        let body = match kind {
            0 => Body::Update(rest.to_vec()),
            1 => Body::Awareness(rest.to_vec()),
            2 => {
                let (&flags, rest) = rest.split_first().ok_or_else(short)?;
                // Only the two known bits: anything else would be dropped here and the
                // envelope would no longer say what its sender meant.
                if flags & !3 != 0 {
                    return Err(WireError(format!("unknown ask flags {flags:#04x}")));
                }
                let (deletes, rest) = take_u64(rest).ok_or_else(short)?;
                Body::Ask {
                    state_vector: rest.to_vec(),
                    deletes,
                    hello: flags & 1 != 0,
                    answer: flags & 2 != 0,
                }
            }
            3 => {
                let (to, rest) = take_u64(rest).ok_or_else(short)?;
                Body::Diff {
                    to,
                    update: rest.to_vec(),
                }
            }
            4 => {
                let (&roles, rest) = rest.split_first().ok_or_else(short)?;
                let (code, rest) = rest.split_at_checked(2).ok_or_else(short)?;
                let reason = std::str::from_utf8(rest)
                    .map_err(|_| WireError("a close reason that is not UTF-8".into()))?;
                Body::Close {
                    roles,
                    code: u16::from_le_bytes([code[0], code[1]]),
                    reason: reason.to_string(),
                }
            }
            5 => Body::Gone {
                picture: std::str::from_utf8(rest)
                    .map_err(|_| WireError("a picture id that is not UTF-8".into()))?
                    .to_string(),
            },
            other => return Err(WireError(format!("unknown node message kind {other}"))),
        };
        Ok(Envelope {
            node,
            sent_micros,
            body,
        })
    }
}

fn take_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (head, rest) = bytes.split_at_checked(8)?;
    Some((u64::from_le_bytes(head.try_into().ok()?), rest))
}

/// A digest of a document's deletions that does not depend on how they are stored:
/// deleted ids per client as merged, sorted ranges, hashed (FNV-1a). Two documents
/// with the same state vector and digest hold the same content.
pub fn delete_digest(deletes: &yrs::IdSet) -> u64 {
    let mut clients: Vec<(u64, Vec<(u32, u32)>)> = deletes
        .iter()
        .map(|(client, range)| {
            let mut ranges: Vec<(u32, u32)> = range.iter().map(|r| (r.start, r.end)).collect();
            ranges.sort_unstable();
            let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
            for (start, end) in ranges {
                match merged.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => merged.push((start, end)),
                }
            }
            (client.get(), merged)
        })
        .filter(|(_, ranges)| !ranges.is_empty())
        .collect();
    clients.sort_unstable_by_key(|(client, _)| *client);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |value: u64| {
        for byte in value.to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (client, ranges) in clients {
        feed(client);
        for (start, end) in ranges {
            feed(u64::from(start));
            feed(u64::from(end));
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip() {
        let bodies = [
            Body::Update(vec![1, 2, 3]),
            Body::Awareness(vec![]),
            Body::Ask {
                state_vector: vec![0],
                deletes: 42,
                hello: true,
                answer: false,
            },
            Body::Diff {
                to: 7,
                update: vec![9; 40],
            },
            Body::Close {
                roles: 0b0111,
                code: 4401,
                reason: "the link was changed; ask the owner for the new one".into(),
            },
            Body::Gone {
                picture: "Y5jRc2XT3BOKNh_J".into(),
            },
        ];
        for body in bodies {
            let envelope = Envelope {
                node: 12345,
                sent_micros: 99,
                body,
            };
            assert_eq!(Envelope::decode(&envelope.encode()), Ok(envelope));
        }
        assert!(Envelope::decode(&[1, 0, 1]).is_err());
        assert!(Envelope::decode(&[2]).is_err());
        assert!(Envelope::decode(&[1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    /// Found by fuzzing (`node_envelope`): an ask whose flags byte had unknown bits
    /// decoded, and encoded back to other bytes.
    #[test]
    fn asks_with_unknown_flags_are_refused() {
        let mut bytes = vec![1, 2];
        bytes.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0xed]); // node
        bytes.extend_from_slice(&[1, 2, 1, 0, 0, 0, 0, 0]); // sent
        bytes.push(0x5e); // flags
        bytes.extend_from_slice(&[0, 0x40, 0x62, 0x41, 0x59, 0x44, 0x06, 0]); // deletes
        bytes.extend_from_slice(&[1, 0x25, 0x23]); // state vector
        assert!(Envelope::decode(&bytes).is_err());
        for flags in 0..4 {
            bytes[18] = flags;
            let envelope = Envelope::decode(&bytes).expect("known flags decode");
            assert_eq!(envelope.encode(), bytes);
        }
    }

    /// Found by fuzzing (`client_message`): a few bytes declaring a huge number of
    /// entries made `yrs` reserve (and zero) memory for all of them first.
    #[test]
    fn counts_beyond_the_message_are_refused() {
        let bombs: [&[u8]; 4] = [
            &[0, 2, 5, 0x80, 0x80, 0x80, 0x80, 0x01], // update, 2^28 clients
            &[0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f], // sync step 2, 2^32 - 1 clients
            &[0, 0, 5, 0x80, 0x80, 0x80, 0x80, 0x02], // sync step 1, 2^29 clients
            &[1, 5, 0x80, 0x80, 0x80, 0x80, 0x01],    // awareness, 2^28 clients
        ];
        for bomb in bombs {
            let error = decode_client(bomb).err().expect("refused");
            assert!(error.0.contains("declares"), "{bomb:?}: {error}");
        }
        // Client ids over 53 bits (yrs asserts against them in debug builds), also when
        // the bytes end right after one (found by fuzzing with debug assertions).
        let big_client = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
        let sv = [&[0, 0, 10, 1][..], &big_client, &[1]].concat();
        let awareness = [&[1, 12, 1][..], &big_client, &[1, 1, b'0']].concat();
        let awareness_cut = [&[1, 9, 1][..], &big_client].concat();
        let update_cut = [&[0, 2, 10, 2, 0][..], &big_client].concat();
        for bytes in [sv, awareness, awareness_cut, update_cut] {
            let error = decode_client(&bytes).err().expect("refused");
            assert!(error.0.contains("53 bits"), "{bytes:?}: {error}");
        }
        // The same kinds of message with counts their bytes can hold still decode.
        let sv: &[u8] = &[0, 0, 5, 2, 1, 1, 2, 7];
        assert!(matches!(decode_client(sv), Ok(ClientMessage::SyncStep1(_))));
        let awareness: &[u8] = &[1, 8, 1, 5, 1, 4, b'n', b'u', b'l', b'l'];
        assert!(matches!(
            decode_client(awareness),
            Ok(ClientMessage::Awareness(_))
        ));
        let empty_update: &[u8] = &[0, 2, 2, 0, 0];
        assert!(matches!(
            decode_client(empty_update),
            Ok(ClientMessage::Update { .. })
        ));
    }

    /// Found by fuzzing (`client_message`, `node_envelope`): updates holding a JSON
    /// content item that declares fewer strings than follow. yrs reads one more string
    /// than declared and writes them all, so what it writes does not read back: a pending
    /// item made `encode_state_as_update_v1` panic on an `unwrap` in yrs, an integrated
    /// one made every later snapshot and sync step 2 undecodable.
    #[test]
    fn updates_that_do_not_read_back_are_refused() {
        // Pending (its right origin is unknown): client 119, clock 9, content JSON.
        let pending: &[u8] = &[0, 2, 10, 1, 1, 0x77, 9, 0x72, 0x65, 0, 0, 0, 0];
        // Integrated: shapes["k"] = JSON content declaring 0 strings, followed by "1".
        let integrated = [
            &[0, 2, 19, 1, 1, 5, 0, 0x22, 1, 6][..],
            b"shapes",
            &[1, b'k', 0, 1, b'1', 0],
        ]
        .concat();
        for bytes in [pending, &integrated] {
            let error = decode_client(bytes).err().expect("refused");
            assert!(error.0.contains("read back"), "{bytes:?}: {error}");
        }
    }

    /// Found by fuzzing (`client_message`, `node_envelope`): updates that yrs decodes
    /// and then mishandles when it integrates them.
    #[test]
    fn updates_yrs_mishandles_are_refused() {
        let frame = |update: &[u8]| {
            let len = u8::try_from(update.len()).expect("a short update");
            [&[0, 2, len][..], update].concat()
        };
        // comments["x"] = "v", as a block without origins.
        let block = [&[0x28, 1, 8][..], b"comments", &[1, b'x', 1, 0x77, 1, b'v']].concat();
        let refused = [
            // Client 1 twice: at clock 21, then at clock 5, inside what a document with
            // 21 items of client 1 has: integrating it freed some of them.
            [&[2, 1, 1, 21][..], &block, &[1, 1, 5], &block, &[0]].concat(),
            // Client 0 twice (pending, and what yrs writes of it reads back as
            // something else).
            vec![
                2, 2, 0, 0xec, 0, 0, 0x6e, 2, 2, 0, 0, 0, 0, 0, 0, 0x6e, 2, 0, 0, 0, 0,
            ],
            // Client 1 from clock 21: a garbage-collected range of 2^32 - 16, so the
            // next block is at clock 5: the document's state vector went back to 6.
            vec![1, 2, 1, 21, 0, 0xf0, 0xff, 0xff, 0xff, 0x0f, 0, 1, 0],
            // A deleted block of 2^32 - 1 then more: `apply_update` panicked half-way
            // (in `BlockStore::push`), the document changed.
            vec![
                1, 8, 2, 0, 1, 1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 3, 1, 1, 1, 0, 0, 4, 1, 1,
                1, 3, 10, 1, 1, 1, 1, 1, 1, 0, 0, 0x30, 2, 10, 1, 1, 1, 1, 1, 0, 0,
            ],
            // Client 0 from clock 0xf0000000 (fuzzed: with more blocks, `apply_update`
            // panicked half-way, in `ClientBlockList::find_index`).
            vec![1, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x0f, 0, 1, 0],
            // Nothing but a deleted range of client 1 that ends past 2^32.
            vec![0, 1, 1, 1, 0xf0, 0xff, 0xff, 0xff, 0x0f, 0x20],
            // A subdocument (guid "g", no options) under shapes["d"] (found by fuzzing:
            // the document that takes it in is never freed).
            [
                &[1, 1, 5, 0, 0x29, 1, 6][..],
                b"shapes",
                &[1, b'd', 1, b'g', 0x76, 0, 0],
            ]
            .concat(),
            // Client 2^53.
            [
                &[1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0][..],
                &block[..],
                &[0],
            ]
            .concat(),
        ];
        for update in refused {
            let error = decode_client(&frame(&update)).err().expect("refused");
            assert!(
                error.0.starts_with("a document update with"),
                "{update:?}: {error}"
            );
        }
    }

    /// Found by fuzzing (`client_message`): 15 bytes that, applied to a document with
    /// items 0..21 of client 1 (item 0 a map), freed memory the document still used.
    #[test]
    fn updates_straddling_the_document_or_past_a_gap_are_found() {
        let state = StateVector::from_iter([(yrs::ClientID::new(1), 21)]);
        let update = |bytes: &[u8]| Update::decode_v1(bytes).expect("an update");
        // Client 1 from clock 1: 173 deleted units under item 1#0; deletes 1#0..2.
        let forged = [1, 1, 1, 1, 1, 0, 1, 0, 0xad, 1, 1, 1, 1, 0, 2];
        assert!(straddles(&update(&forged), &state));
        // The same from clock 21 (what follows), and ending at 21 (a resend).
        let next = [1, 1, 1, 21, 1, 0, 1, 0, 0xad, 1, 0];
        assert!(!straddles(&update(&next), &state));
        let resend = [1, 1, 1, 1, 1, 0, 1, 0, 20, 0];
        assert!(!straddles(&update(&resend), &state));
        // From clock 22 (past a gap), and from 21 with a skip of 5 before the rest.
        assert!(!has_gap(&update(&next), &state) && !has_gap(&update(&resend), &state));
        let after_gap = [1, 1, 1, 22, 1, 0, 1, 0, 1, 0];
        assert!(has_gap(&update(&after_gap), &state));
        let skip = [1, 3, 1, 21, 1, 0, 1, 0, 1, 10, 5, 1, 0, 1, 0, 1, 0];
        assert!(has_gap(&update(&skip), &state));
    }

    #[test]
    fn updates_written_by_yjs_are_accepted() {
        let messages = [
            // a shape added
            "0002650104ebb9f5b10600270106736861706573027331012800ebb9f5b1060004747970650177066d61726b65722800ebb9f5b106000867656f6d6574727901760201787d0101797d022800ebb9f5b10600057374796c6501760105636f6c6f7277042366303000",
            // a shape deleted
            "00020a0001ebb9f5b106010004",
            // a comment thread
            "00023d0103ebb9f5b10606270108636f6d6d656e74730174012700ebb9f5b10606086d65737361676573000800ebb9f5b1060701760104746578747702686900",
            // a reply pushed
            "00021f0101ebb9f5b1060988ebb9f5b10608017601047465787477057265706c7900",
            // another client's shape
            "0002190101b9d1afab06002801067368617065730273330177017800",
            // a shape with a float (`created: Date.now()`), as y-websocket sends it
            "00029e010106a6dfc9a30f00270106736861706573027330012800a6dfc9a30f0004747970650177066d61726b65722800a6dfc9a30f000867656f6d6574727901760201787d0101797d012800a6dfc9a30f00057374796c6501760205636f6c6f72770723666635373232067765696768747d032800a6dfc9a30f0006617574686f72017701412800a6dfc9a30f000763726561746564017b427a221417cb100000",
            // a whole state of two clients
            "00029c010207ebb9f5b10600210106736861706573027331010003270106736861706573027332012800ebb9f5b106040474797065017706636972636c65270108636f6d6d656e74730174012700ebb9f5b10606086d65737361676573000800ebb9f5b106070276010474657874770268697601047465787477057265706c7901b9d1afab06002801067368617065730273330177017801ebb9f5b106010004",
        ];
        for hex in messages {
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            assert!(
                matches!(decode_client(&bytes), Ok(ClientMessage::Update { .. })),
                "{hex}: {:?}",
                decode_client(&bytes).err()
            );
        }
    }

    #[test]
    fn json_check_takes_values_and_refuses_broken_ones() {
        for good in [
            r#"{"user":{"name":"A \"q\" }"}}"#,
            "null",
            "[1,{}]",
            "3.5",
            "\"x\"",
        ] {
            assert!(is_json(good), "{good}");
        }
        for bad in ["{", "}", r#"{"a":"b}"#, "[[]", "nul", "", "{a}", "[1,]"] {
            assert!(!is_json(bad), "{bad}");
        }
    }
}
