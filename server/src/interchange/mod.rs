//! Annotations that travel: our document written as W3C Web Annotations, a IIIF
//! Presentation 3 manifest and CSV, and W3C / Annotorious / IIIF annotations read back
//! into it.
//!
//! Layout:
//! - `model`: the document's shapes and threads, typed.
//! - `export`: W3C annotations, their collection and pages; the IIIF manifest and page.
//! - `csv`: one row per comment message.
//! - `svg`: SVG selectors written for the viewers that read them, and read back.
//! - `incoming`: annotations from elsewhere into new entries, and the one document
//!   update that adds them.
//!
//! The HTTP side is `routes::annotations`.

pub mod csv;
pub mod export;
pub mod incoming;
pub mod model;
pub mod svg;

use std::collections::HashMap;

use serde_json::Value;
use yrs::{Any, Doc, Transact};

use crate::history::restore::{put_map, put_thread};

/// A JSON value as a Yjs value, every number a float as JavaScript holds it (a Yjs
/// integer would reach browsers as a BigInt).
pub fn to_any(value: &Value) -> Any {
    match value {
        Value::Null => Any::Null,
        Value::Bool(b) => Any::Bool(*b),
        Value::Number(n) => Any::Number(yrs::Number::Float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => Any::String(s.as_str().into()),
        Value::Array(items) => Any::Array(items.iter().map(to_any).collect()),
        Value::Object(fields) => Any::Map(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_any(v)))
                .collect::<HashMap<_, _>>()
                .into(),
        ),
    }
}

/// The update that adds `incoming`'s shapes and threads to any document: made on a
/// document of its own, as every entry is new, so it can be weighed before the live
/// document takes it.
pub fn update_of(incoming: &incoming::Incoming) -> Vec<u8> {
    let doc = Doc::new();
    let shapes = doc.get_or_insert_map("shapes");
    let comments = doc.get_or_insert_map("comments");
    let mut txn = doc.transact_mut();
    let fields = |entry: &incoming::Entry| -> HashMap<String, Any> {
        entry
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), to_any(v)))
            .collect()
    };
    for shape in &incoming.shapes {
        put_map(&mut txn, &shapes, &shape.id, &fields(shape));
    }
    for thread in &incoming.threads {
        put_thread(&mut txn, &comments, &thread.id, &fields(thread));
    }
    txn.encode_update_v1()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, Map, Transact, Update};

    use super::incoming::{Entry, Incoming};
    use super::*;

    #[test]
    fn the_update_adds_the_entries_with_javascript_numbers() {
        let fields = |v: Value| v.as_object().cloned().unwrap_or_default();
        let incoming = Incoming {
            shapes: vec![Entry {
                id: "s".into(),
                fields: fields(
                    json!({"type": "marker", "geometry": {"x": 1, "y": 2.5}, "created": 7}),
                ),
            }],
            threads: vec![Entry {
                id: "t".into(),
                fields: fields(
                    json!({"target": "s", "messages": [{"id": "m", "text": "hi", "at": 3}]}),
                ),
            }],
            ..Incoming::default()
        };
        let live = Doc::new();
        live.transact_mut()
            .apply_update(Update::decode_v1(&update_of(&incoming)).unwrap())
            .unwrap();
        let document = crate::history::replay::document_json(&live);
        assert_eq!(
            document["shapes"]["s"]["geometry"],
            json!({"x": 1, "y": 2.5})
        );
        assert_eq!(document["comments"]["t"]["messages"][0]["text"], "hi");
        assert!(matches!(to_any(&json!(7)), Any::Number(yrs::Number::Float(n)) if n == 7.0));
        // The thread's messages are a shared array, as the client writes them.
        let comments = live.get_or_insert_map("comments");
        let txn = live.transact();
        let Some(yrs::Out::YMap(thread)) = comments.get(&txn, "t") else {
            panic!("the thread is not a map");
        };
        assert!(matches!(
            thread.get(&txn, "messages"),
            Some(yrs::Out::YArray(_))
        ));
    }
}
