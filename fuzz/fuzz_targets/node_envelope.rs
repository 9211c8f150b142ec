//! A message from another server node: decoded, encoded back to the same bytes, and its
//! body handled the way a room handles it.

#![no_main]

use hugepic_fuzz::wire::{decode_client, delete_digest, Body, ClientMessage, Envelope};
use hugepic_fuzz::{exercise_update, seeded_doc};
use libfuzzer_sys::fuzz_target;
use yrs::encoding::write::Write;
use yrs::sync::protocol::{MSG_SYNC, MSG_SYNC_STEP_1, MSG_SYNC_UPDATE};
use yrs::{ReadTxn, Transact};

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = Envelope::decode(data) else {
        return;
    };
    assert_eq!(
        envelope.encode(),
        data,
        "an envelope does not encode back to its bytes"
    );
    // Nodes publish only what they accepted from a client (through `decode_client`) or
    // encoded themselves, so bodies are read the way a client's frame of that kind is.
    match envelope.body {
        Body::Update(bytes) | Body::Diff { update: bytes, .. } => {
            if let Ok(ClientMessage::Update { bytes, update }) =
                decode_client(&frame(MSG_SYNC_UPDATE, &bytes))
            {
                exercise_update(&bytes, update);
            }
        }
        Body::Awareness(bytes) => {
            let _ = decode_client(&bytes);
        }
        Body::Ask {
            state_vector,
            deletes,
            ..
        } => {
            if let Ok(ClientMessage::SyncStep1(state_vector)) =
                decode_client(&frame(MSG_SYNC_STEP_1, &state_vector))
            {
                let doc = seeded_doc();
                let txn = doc.transact();
                let _ = txn.encode_diff_v1(&state_vector);
                let _ = delete_digest(&txn.snapshot().delete_set) == deletes;
            }
        }
        // Read as a room reads it: roles as bits, a close code, a reason shown to people
        // (UTF-8, checked by the decoder; the round trip above holds it to its bytes).
        Body::Close {
            roles,
            code,
            reason,
        } => {
            let _ = (roles & 0x0f, code, reason.chars().count());
        }
        Body::Gone { picture } => {
            let _ = picture.chars().count();
        }
    }
});

/// `payload` as a y-websocket sync message of kind `tag`.
fn frame(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.write_var(MSG_SYNC);
    out.write_var(tag);
    out.write_buf(payload);
    out
}
