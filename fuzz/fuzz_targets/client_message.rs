//! A client's binary frame, as the hub receives it: handled by the hub's own session
//! (`hugepic_hub_core::Session::handle`, against a document in the annotation schema),
//! then decoded and exercised further (an update applied, snapshotted and reloaded, a
//! sync step 1 answered, awareness states read).

#![no_main]

use std::time::Instant;

use hugepic_fuzz::core::{Document, Presence, Role, Session, SessionLimits};
use hugepic_fuzz::wire::{decode_client, ClientMessage};
use hugepic_fuzz::{contained, exercise_update, report_panic, seed_state, seeded_doc};
use libfuzzer_sys::fuzz_target;
use yrs::{ReadTxn, Transact};

fuzz_target!(|data: &[u8]| {
    // The real session, as a room runs it, for each role.
    for role in Role::ALL {
        let now = Instant::now();
        let (mut document, _) = Document::load(Some((0, seed_state())), []);
        let mut presence = Presence::default();
        let mut session = Session::new(1, role, SessionLimits::default(), now);
        if let Err(at) = contained(|| session.handle(data, now, &mut document, &mut presence)) {
            report_panic("Session::handle", &at, data);
        }
    }
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
