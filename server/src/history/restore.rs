//! Restoring a moment: the changes that turn the live document into the one at that
//! moment (all of it, or some shapes and their threads), made as one transaction on the
//! live document, so they go out as one update like any edit. Nothing is rewritten: a
//! restore is undone by restoring the moment before it.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;
use yrs::types::ToJson;
use yrs::{Any, Array, ArrayPrelim, ArrayRef, In, Map, MapPrelim, MapRef, Out, TransactionMut};

/// What a restore changes, counted.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Shapes that come back.
    pub shapes_added: usize,
    /// Shapes that take their old form.
    pub shapes_changed: usize,
    /// Shapes that go.
    pub shapes_deleted: usize,
    /// Comment messages that come back or go (as the activity counts them).
    pub comments: usize,
}

/// One change of the plan.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Put a shape that is missing (or is not a map) back whole.
    PutShape(String, HashMap<String, Any>),
    /// Set and remove fields of an existing shape.
    SetFields {
        id: String,
        set: Vec<(String, Any)>,
        remove: Vec<String>,
    },
    DeleteShape(String),
    /// Put a thread back whole.
    PutThread(String, HashMap<String, Any>),
    /// Bring a thread's target and messages back: keep the first `keep` messages, remove
    /// the rest, append `append`.
    SetThread {
        id: String,
        target: Option<Any>,
        keep: u32,
        append: Vec<Any>,
    },
    DeleteThread(String),
}

/// The changes from the live document to a target one.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    steps: Vec<Step>,
    /// Counted.
    pub counts: Counts,
    /// Shapes that change, sorted.
    pub shape_ids: Vec<String>,
}

impl Plan {
    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The changes from `current` to `target` (each the `(shapes, comments)` roots as
    /// values); only the shapes in `only` and threads on them when given.
    pub fn new(current: &(Any, Any), target: &(Any, Any), only: Option<&HashSet<String>>) -> Plan {
        let fields = |any: &Any| -> HashMap<String, Any> {
            match any {
                Any::Map(m) => (**m).clone(),
                _ => HashMap::new(),
            }
        };
        let (now_shapes, was_shapes) = (fields(&current.0), fields(&target.0));
        let (now_threads, was_threads) = (fields(&current.1), fields(&target.1));
        let in_scope = |id: &str| only.is_none_or(|ids| ids.contains(id));
        let mut plan = Plan::default();
        let mut changed = BTreeSet::new();
        let ids: BTreeSet<&String> = now_shapes.keys().chain(was_shapes.keys()).collect();
        for id in ids.into_iter().filter(|id| in_scope(id)) {
            match (now_shapes.get(id), was_shapes.get(id)) {
                (Some(_), None) => {
                    plan.steps.push(Step::DeleteShape(id.clone()));
                    plan.counts.shapes_deleted += 1;
                }
                (None, Some(was)) => {
                    plan.steps.push(Step::PutShape(id.clone(), fields(was)));
                    plan.counts.shapes_added += 1;
                }
                (Some(now), Some(was)) if now != was => {
                    let (now, was) = (fields(now), fields(was));
                    let set = was
                        .iter()
                        .filter(|(k, v)| now.get(*k) != Some(*v))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    let remove = now
                        .keys()
                        .filter(|k| !was.contains_key(*k))
                        .cloned()
                        .collect();
                    plan.steps.push(Step::SetFields {
                        id: id.clone(),
                        set,
                        remove,
                    });
                    plan.counts.shapes_changed += 1;
                }
                _ => continue,
            }
            changed.insert(id.clone());
        }
        plan.shape_ids = changed.into_iter().collect();
        // Threads: all of them, or those on the chosen shapes.
        let on_scope = |thread: Option<&Any>| {
            let target = thread.map(fields).unwrap_or_default().remove("target");
            matches!(target, Some(Any::String(id)) if only.is_none_or(|ids| ids.contains(&*id)))
        };
        let ids: BTreeSet<&String> = now_threads.keys().chain(was_threads.keys()).collect();
        for id in ids {
            let (now, was) = (now_threads.get(id), was_threads.get(id));
            if only.is_some() && !on_scope(now) && !on_scope(was) {
                continue;
            }
            let count = |thread: &Any| match fields(thread).get("messages") {
                Some(Any::Array(m)) => m.len(),
                _ => 0,
            };
            let step = match (now, was) {
                (Some(now), None) => {
                    plan.counts.comments += count(now);
                    Step::DeleteThread(id.clone())
                }
                (None, Some(was)) => {
                    plan.counts.comments += count(was);
                    Step::PutThread(id.clone(), fields(was))
                }
                (Some(now), Some(was)) if now != was => {
                    let (now, was) = (fields(now), fields(was));
                    let messages = |t: &HashMap<String, Any>| match t.get("messages") {
                        Some(Any::Array(m)) => m.to_vec(),
                        _ => Vec::new(),
                    };
                    let (now_messages, was_messages) = (messages(&now), messages(&was));
                    let keep = now_messages
                        .iter()
                        .zip(&was_messages)
                        .take_while(|(a, b)| a == b)
                        .count();
                    plan.counts.comments +=
                        (now_messages.len() - keep) + (was_messages.len() - keep);
                    Step::SetThread {
                        id: id.clone(),
                        target: (now.get("target") != was.get("target"))
                            .then(|| was.get("target").cloned().unwrap_or(Any::Null)),
                        keep: keep as u32,
                        append: was_messages[keep..].to_vec(),
                    }
                }
                _ => continue,
            };
            plan.steps.push(step);
        }
        plan
    }

    /// Makes the changes on the live document's roots, in `txn`.
    pub fn apply(&self, txn: &mut TransactionMut, shapes: &MapRef, comments: &MapRef) {
        for step in &self.steps {
            match step {
                Step::PutShape(id, fields) => put_map(txn, shapes, id, fields),
                Step::SetFields { id, set, remove } => match shapes.get(txn, id) {
                    Some(Out::YMap(shape)) => {
                        for (key, value) in set {
                            shape.insert(txn, key.as_str(), value.clone());
                        }
                        for key in remove {
                            shape.remove(txn, key);
                        }
                    }
                    // Not a map (a malformed entry): put the old shape back whole.
                    other => {
                        let mut fields = match other.map(|o| o.to_json(txn)) {
                            Some(Any::Map(m)) => (*m).clone(),
                            _ => HashMap::new(),
                        };
                        for key in remove {
                            fields.remove(key);
                        }
                        fields.extend(set.iter().cloned());
                        put_map(txn, shapes, id, &fields);
                    }
                },
                Step::DeleteShape(id) => {
                    shapes.remove(txn, id);
                }
                Step::PutThread(id, fields) => put_thread(txn, comments, id, fields),
                Step::SetThread {
                    id,
                    target,
                    keep,
                    append,
                } => {
                    let thread = match comments.get(txn, id) {
                        Some(Out::YMap(thread)) => thread,
                        _ => continue,
                    };
                    if let Some(target) = target {
                        thread.insert(txn, "target", target.clone());
                    }
                    match thread.get(txn, "messages") {
                        Some(Out::YArray(messages)) => set_messages(txn, &messages, *keep, append),
                        _ => {
                            let all: Vec<In> = append.iter().cloned().map(In::Any).collect();
                            thread.insert(txn, "messages", ArrayPrelim::from(all));
                        }
                    }
                }
                Step::DeleteThread(id) => {
                    comments.remove(txn, id);
                }
            }
        }
    }
}

fn set_messages(txn: &mut TransactionMut, messages: &ArrayRef, keep: u32, append: &[Any]) {
    let len = messages.len(txn);
    if len > keep {
        messages.remove_range(txn, keep, len - keep);
    }
    if !append.is_empty() {
        messages.insert_range(txn, keep, append.iter().cloned());
    }
}

/// A shape as a map of plain values (DESIGN.md: every field of a shape is JSON).
pub(crate) fn put_map(
    txn: &mut TransactionMut,
    into: &MapRef,
    id: &str,
    fields: &HashMap<String, Any>,
) {
    let prelim: MapPrelim = fields
        .iter()
        .map(|(k, v)| (k.as_str(), In::Any(v.clone())))
        .collect();
    into.insert(txn, id, prelim);
}

/// A thread: `target` plain, `messages` a shared array of plain messages.
pub(crate) fn put_thread(
    txn: &mut TransactionMut,
    into: &MapRef,
    id: &str,
    fields: &HashMap<String, Any>,
) {
    let prelim: MapPrelim = fields
        .iter()
        .map(|(k, v)| {
            let value = match (k.as_str(), v) {
                ("messages", Any::Array(items)) => In::Array(ArrayPrelim::from(
                    items.iter().cloned().map(In::Any).collect::<Vec<_>>(),
                )),
                _ => In::Any(v.clone()),
            };
            (k.as_str(), value)
        })
        .collect();
    into.insert(txn, id, prelim);
}
