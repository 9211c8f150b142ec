//! A client's binary frame, as the hub receives it: decoded, then handled the way a room
//! handles it (an update applied to a document in the annotation schema, a sync step 1
//! answered, awareness states read).

#![no_main]

use hugepic_fuzz::wire::{decode_client, ClientMessage};
use hugepic_fuzz::{exercise_update, seeded_doc};
use libfuzzer_sys::fuzz_target;
use yrs::{ReadTxn, Transact};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = decode_client(data) else {
        return;
    };
    match message {
        ClientMessage::SyncStep1(state_vector) => {
            let doc = seeded_doc();
            let _ = doc.transact().encode_diff_v1(&state_vector);
        }
        ClientMessage::Update { bytes, update } => exercise_update(&bytes, update),
        ClientMessage::Awareness(update) => {
            for (client, entry) in &update.clients {
                // The hub takes the author's name from here. The state is JSON (checked
                // by the decoder), yet may not fit a `Value` (a number like 1e400, which
                // JavaScript reads as Infinity): the hub then names the connection.
                let state = serde_json::from_str::<serde_json::Value>(&entry.json).ok();
                let name = state.as_ref().and_then(|s| s.pointer("/user/name"));
                let _ = (client.get(), entry.clock, name);
            }
        }
        ClientMessage::AwarenessQuery | ClientMessage::Ignored => {}
    }
});
