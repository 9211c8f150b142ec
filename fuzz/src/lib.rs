//! What the fuzz targets and the seed writer share: the hub's decoders (the server's own
//! `hugepic-hub-core` crate), a small document in the annotation schema, and the steps
//! the hub takes with a decoded message.

pub use hugepic_hub_core as core;
pub use hugepic_hub_core::roles::roots_as_json;
pub use hugepic_hub_core::wire;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

use yrs::updates::decoder::Decode;
use yrs::{
    Any, Doc, Map, MapPrelim, MapRef, ReadTxn, StateVector, Transact, TransactionMut, Update,
};

/// Client id of the seeded document's author.
pub const SEED_CLIENT: u64 = 1;

/// Adds a shape as the web client stores it under `shapes` (fields set one by one, so the
/// update's bytes do not depend on hash order).
pub fn insert_shape(
    txn: &mut TransactionMut,
    shapes: &MapRef,
    id: &str,
    kind: &str,
    points: &[(f64, f64)],
    author: &str,
    created: f64,
) {
    let geometry: Vec<Any> = points
        .iter()
        .map(|&(x, y)| Any::from(vec![Any::from(x), Any::from(y)]))
        .collect();
    let shape = shapes.insert(txn, id, MapPrelim::default());
    shape.insert(txn, "type", kind);
    shape.insert(txn, "geometry", Any::from(geometry));
    let style = shape.insert(txn, "style", MapPrelim::default());
    style.insert(txn, "stroke", "#ff8800");
    style.insert(txn, "width", 3.0);
    shape.insert(txn, "author", author);
    shape.insert(txn, "created", created);
}

/// Adds a comment as the web client stores it under `comments`.
pub fn insert_comment(
    txn: &mut TransactionMut,
    comments: &MapRef,
    id: &str,
    target: &str,
    text: &str,
    author: &str,
) {
    let comment = comments.insert(txn, id, MapPrelim::default());
    comment.insert(txn, "target", target);
    comment.insert(txn, "text", text);
    comment.insert(txn, "author", author);
    comment.insert(txn, "created", 1.7e12);
}

/// The seeded document's state, as one update (built once).
pub fn seed_state() -> &'static [u8] {
    static STATE: OnceLock<Vec<u8>> = OnceLock::new();
    STATE.get_or_init(|| {
        let doc = Doc::with_client_id(SEED_CLIENT);
        let shapes = doc.get_or_insert_map("shapes");
        let comments = doc.get_or_insert_map("comments");
        {
            let mut txn = doc.transact_mut();
            let rect = [(10.0, 10.0), (200.0, 10.0), (200.0, 120.0), (10.0, 120.0)];
            insert_shape(&mut txn, &shapes, "s1", "polygon", &rect, "Ada", 1.7e12);
            let line = [(0.0, 0.0), (5000.5, 4000.25)];
            insert_shape(&mut txn, &shapes, "s2", "line", &line, "Grace", 1.7e12);
            insert_comment(&mut txn, &comments, "c1", "s1", "Look here", "Grace");
        }
        {
            // One deleted entry, so the document has a delete set.
            let mut txn = doc.transact_mut();
            shapes.remove(&mut txn, "s2");
        }
        let txn = doc.transact();
        txn.encode_state_as_update_v1(&StateVector::default())
    })
}

/// The state of `seeded_doc()` as it encodes it (built once).
fn seeded_doc_state() -> &'static [u8] {
    static STATE: OnceLock<Vec<u8>> = OnceLock::new();
    STATE.get_or_init(|| {
        seeded_doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    })
}

/// A document holding the seeded state, as a room holds it once loaded.
pub fn seeded_doc() -> Doc {
    let doc = Doc::new();
    // Typed roots, as the server declares them.
    doc.get_or_insert_map("shapes");
    doc.get_or_insert_map("comments");
    let update = Update::decode_v1(seed_state()).expect("the seed state decodes");
    doc.transact_mut()
        .apply_update(update)
        .expect("the seed state applies");
    doc
}

/// Runs `f`, turning a panic into an error naming where it happened. libFuzzer's panic
/// hook would abort the run; this is what a hub that catches panics around
/// `apply_update` sees instead.
pub fn contained<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    thread_local! {
        static WHERE: RefCell<String> = const { RefCell::new(String::new()) };
    }
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let at = info.location().map_or_else(String::new, |l| {
            // A dependency's file without the registry's path: `yrs-0.28.1/src/...`.
            let file = l.file();
            let short = file
                .find("/registry/src/")
                .and_then(|i| file[i + "/registry/src/".len()..].split_once('/'))
                .map_or(file, |(_, rest)| rest);
            format!("{short}:{}", l.line())
        });
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        WHERE.with(|w| *w.borrow_mut() = format!("{at}: {message}"));
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(hook);
    result.map_err(|_| WHERE.with(|w| w.take()))
}

/// Prints a finding once, with the first update that showed it (the run's log collects
/// them; `scripts/fuzz` lists them).
fn report(finding: &str, update: &[u8]) {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.insert(finding.to_string()) {
        let hex: String = update.iter().map(|b| format!("{b:02x}")).collect();
        eprintln!("finding: {finding}");
        eprintln!("finding-input: {finding}: update {hex}");
    }
}

/// Reports a panic that `contained` caught in `what` (yrs panics on some inputs; the
/// finding names where).
pub fn report_panic(what: &str, at: &str, input: &[u8]) {
    report(&format!("{what} panicked at {at}"), input);
}

/// The clients a state vector has seen something of (an entry with clock 0 says nothing).
fn seen(state_vector: &StateVector) -> BTreeMap<u64, u32> {
    state_vector
        .iter()
        .filter(|(_, &clock)| clock > 0)
        .map(|(client, &clock)| (client.get(), clock))
        .collect()
}

/// Loads `state` into a new document, as a room loads its snapshot; it must load.
fn reload(state: &[u8], what: &str) -> Doc {
    let doc = Doc::new();
    let update = Update::decode_v1(state).unwrap_or_else(|e| panic!("{what} decodes: {e}"));
    doc.transact_mut()
        .apply_update(update)
        .unwrap_or_else(|e| panic!("{what} applies: {e}"));
    doc
}

/// What the hub does with an update a client or a node sent: refuse it if it straddles
/// the document's clocks or has blocks past a gap, apply it to the room's document
/// (noting whether it changed anything), read the roots, answer a sync step 1,
/// take a snapshot and load it back, as a room does after a restart, and apply the update
/// again there (a resent update).
///
/// A panic inside `apply_update` is contained and reported (see `contained`), and so is
/// an error or a panic that leaves the document changed (the hub must then not go on
/// with that document); any other panic is a crash.
pub fn exercise_update(bytes: &[u8], update: Update) {
    let doc = seeded_doc();
    let before = doc.transact().state_vector();
    // Refused before applying (see `wire::straddles`, `wire::has_gap`).
    if wire::straddles(&update, &before) {
        let finding = "updates straddling the document's clocks (refused, see wire::straddles)";
        report(finding, bytes);
        return;
    }
    if wire::has_gap(&update, &before) {
        let finding = "updates with blocks past a gap (refused, see wire::has_gap)";
        report(finding, bytes);
        return;
    }
    let deletes = !update.delete_set().is_empty();
    let applied = contained(|| {
        let mut txn = doc.transact_mut();
        let applied = txn.apply_update(update).is_ok();
        let _changed = deletes || txn.state_vector() != before;
        (applied, txn.has_missing_updates())
    });
    let unchanged = || {
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default())
            == seeded_doc_state()
    };
    let (applied, pending) = match applied {
        Ok(applied) => applied,
        Err(at) => {
            report(&format!("apply_update panicked at {at}"), bytes);
            if !unchanged() {
                let finding =
                    format!("apply_update panicked at {at} and left the document changed");
                report(&finding, bytes);
            }
            return;
        }
    };
    if !applied {
        if !unchanged() {
            let finding = "apply_update returned an error and left the document changed";
            report(finding, bytes);
        }
        return;
    }
    let _ = roots_as_json(&doc);
    let txn = doc.transact();
    let _ = txn.encode_diff_v1(&before);
    let digest = wire::delete_digest(&txn.snapshot().delete_set);
    let state_vector = txn.state_vector();
    // What the hub stores as a snapshot (pending structs merged in), and the integrated
    // state alone (what a sync step 2 to a new client holds).
    let stored = txn.encode_state_as_update_v1(&StateVector::default());
    let integrated = txn.encode_diff_v1(&StateVector::default());
    drop(txn);

    // Both load, to the same document, unless the update left something pending: the
    // stored snapshot holds pending blocks merged in, which a reloaded document may
    // integrate (found by fuzzing).
    let loads = [
        reload(&integrated, "an integrated state"),
        reload(&stored, "a snapshot"),
    ];
    for reloaded in &loads {
        let txn = reloaded.transact();
        let same_state = seen(&txn.state_vector()) == seen(&state_vector);
        let same_deletes = wire::delete_digest(&txn.snapshot().delete_set) == digest;
        if pending && !(same_state && same_deletes) {
            report("a reloaded state differs (something pending)", bytes);
        } else {
            assert!(
                same_state && same_deletes,
                "a reloaded state differs: same state vector {same_state}, same deletes {same_deletes}"
            );
        }
    }

    // The same update again, on a reloaded document.
    if let Ok(update) = Update::decode_v1(bytes) {
        let again = contained(|| loads[0].transact_mut().apply_update(update).is_ok());
        if let Err(at) = again {
            report(&format!("apply_update (resent) panicked at {at}"), bytes);
        }
    }
}
