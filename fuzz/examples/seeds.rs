//! Writes the seed corpus: real y-websocket messages a client of a picture sends, and the
//! envelopes nodes exchange, one file each under `DIR/client_message/` and
//! `DIR/node_envelope/`.
//!
//! Usage: `cargo run --example seeds -- DIR` (from `fuzz/`).

use std::path::{Path, PathBuf};

use hugepic_fuzz::wire::{decode_client, delete_digest, Body, Envelope};
use hugepic_fuzz::{insert_comment, insert_shape, seed_state, SEED_CLIENT};
use yrs::encoding::write::Write;
use yrs::sync::protocol::MSG_AWARENESS;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, Map, MapRef, ReadTxn, StateVector, Transact, TransactionMut, Update};

/// A client's document, synced with the seeded one.
fn client_doc(client: u64) -> Result<Doc, String> {
    let doc = Doc::with_client_id(client);
    doc.get_or_insert_map("shapes");
    doc.get_or_insert_map("comments");
    let update = Update::decode_v1(seed_state()).map_err(|e| e.to_string())?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|e| e.to_string())?;
    Ok(doc)
}

/// The update a change to the roots (`shapes`, `comments`) makes, as the client would
/// send it.
fn change(doc: &Doc, f: impl FnOnce(&MapRef, &MapRef, &mut TransactionMut)) -> Vec<u8> {
    // Roots first: asking for one opens a transaction of its own.
    let shapes = doc.get_or_insert_map("shapes");
    let comments = doc.get_or_insert_map("comments");
    let before = doc.transact().state_vector();
    {
        let mut txn = doc.transact_mut();
        f(&shapes, &comments, &mut txn);
    }
    doc.transact().encode_diff_v1(&before)
}

/// An awareness message with the states in the given order (so the files do not change
/// from one run to the next).
fn awareness(states: &[(u64, u32, &str)]) -> Vec<u8> {
    let mut inner = Vec::new();
    inner.write_var(states.len());
    for &(client, clock, json) in states {
        inner.write_var(client);
        inner.write_var(clock);
        inner.write_string(json);
    }
    let mut message = Vec::new();
    message.write_var(MSG_AWARENESS);
    message.write_buf(inner);
    message
}

fn sync(message: SyncMessage) -> Vec<u8> {
    Message::Sync(message).encode_v1()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(out: &Path) -> Result<(), String> {
    let client = client_doc(2)?;
    let added_shape = change(&client, |shapes, _, txn| {
        let points = [(320.0, 40.5), (900.0, 700.0)];
        insert_shape(txn, shapes, "s3", "rectangle", &points, "Lin", 1.7e12);
    });
    let added_comment = change(&client, |_, comments, txn| {
        insert_comment(txn, comments, "c2", "s3", "Same as \"s1\"? ✓", "Lin");
    });
    let deleted_shape = change(&client, |shapes, _, txn| {
        shapes.remove(txn, "s1");
    });
    let moved_shape = change(&client, |shapes, _, txn| {
        let points = [(330.0, 50.5), (910.0, 710.0)];
        insert_shape(txn, shapes, "s3", "rectangle", &points, "Lin", 1.7e12);
    });
    let client_state = client
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let client_sv = client.transact().state_vector();
    let seed_sv = {
        let doc = client_doc(3)?;
        let sv = doc.transact().state_vector();
        sv
    };

    let dir = out.join("client_message");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let user = r##"{"user":{"name":"Lin","color":"#30a0ff"},"cursor":{"x":512.5,"y":77}}"##;
    let messages = [
        (
            "sync-step-1-empty",
            sync(SyncMessage::SyncStep1(StateVector::default())),
        ),
        ("sync-step-1-seeded", sync(SyncMessage::SyncStep1(seed_sv))),
        (
            "sync-step-1-client",
            sync(SyncMessage::SyncStep1(client_sv.clone())),
        ),
        (
            "sync-step-2-state",
            sync(SyncMessage::SyncStep2(client_state.clone())),
        ),
        (
            "update-add-shape",
            sync(SyncMessage::Update(added_shape.clone())),
        ),
        (
            "update-add-comment",
            sync(SyncMessage::Update(added_comment)),
        ),
        (
            "update-delete-shape",
            sync(SyncMessage::Update(deleted_shape)),
        ),
        (
            "update-move-shape",
            sync(SyncMessage::Update(moved_shape.clone())),
        ),
        ("awareness-one", awareness(&[(2, 1, user)])),
        (
            "awareness-two-one-gone",
            awareness(&[(2, 4, user), (7, 9, "null")]),
        ),
        ("awareness-query", Message::AwarenessQuery.encode_v1()),
        (
            "auth-denied",
            Message::Auth(Some("read only".into())).encode_v1(),
        ),
    ];
    for (name, bytes) in &messages {
        decode_client(bytes).map_err(|e| format!("{name}: {e}"))?;
        write(&dir, name, bytes)?;
    }

    let dir = out.join("node_envelope");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let deletes = {
        let doc = client_doc(4)?;
        let digest = delete_digest(&doc.transact().snapshot().delete_set);
        digest
    };
    let envelope = |body| Envelope {
        node: 0x5eed_0000_0000_0001,
        sent_micros: 1_764_000_000_000_000,
        body,
    };
    let envelopes = [
        ("update", envelope(Body::Update(added_shape))),
        (
            "awareness",
            envelope(Body::Awareness(awareness(&[(2, 1, user)]))),
        ),
        (
            "ask-hello",
            envelope(Body::Ask {
                state_vector: StateVector::default().encode_v1(),
                deletes: delete_digest(&yrs::IdSet::default()),
                hello: true,
                answer: false,
            }),
        ),
        (
            "ask-answer",
            envelope(Body::Ask {
                state_vector: client_sv.encode_v1(),
                deletes,
                hello: false,
                answer: true,
            }),
        ),
        (
            "diff",
            envelope(Body::Diff {
                to: SEED_CLIENT,
                update: moved_shape,
            }),
        ),
    ];
    for (name, envelope) in &envelopes {
        let bytes = envelope.encode();
        if Envelope::decode(&bytes).as_ref() != Ok(envelope) {
            return Err(format!("{name}: does not decode to itself"));
        }
        write(&dir, name, &bytes)?;
    }
    Ok(())
}

fn main() {
    let out = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("seeds"), PathBuf::from);
    if let Err(e) = run(&out) {
        eprintln!("seeds: {e}");
        std::process::exit(1);
    }
}
