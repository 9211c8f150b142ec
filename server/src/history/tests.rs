//! The history against a real SQLite store: every moment reads back exactly, the index
//! groups the activity and keeps checkpoints, restores turn one document into another.

use std::collections::HashSet;
use std::sync::Arc;

use yrs::types::ToJson;
use yrs::{Array, ArrayPrelim, Doc, In, Map, MapPrelim, ReadTxn, Transact, TransactionMut};

use super::replay::Use;
use super::restore::Plan;
use super::Historian;
use crate::store::{Author, MetaStore, NewUpdate, SqliteStore};

async fn store_with_picture(dir: &tempfile::TempDir) -> Arc<dyn MetaStore> {
    SqliteStore::with_test_picture(dir.path()).await
}

fn update_of(doc: &Doc, edit: impl FnOnce(&mut TransactionMut)) -> Vec<u8> {
    let mut txn = doc.transact_mut();
    edit(&mut txn);
    txn.encode_update_v1()
}

fn author(id: &str) -> Author {
    Author {
        id: id.into(),
        name: format!("name of {id}"),
        color: "#123456".into(),
    }
}

fn document_of(doc: &Doc) -> serde_json::Value {
    let shapes = doc.get_or_insert_map("shapes");
    let comments = doc.get_or_insert_map("comments");
    let txn = doc.transact();
    serde_json::json!({
        "shapes": super::replay::json(&shapes.to_json(&txn)),
        "comments": super::replay::json(&comments.to_json(&txn)),
    })
}

async fn log(store: &Arc<dyn MetaStore>, update: &[u8], by: &Author) -> i64 {
    let seqs = store
        .append_updates(&[NewUpdate {
            picture_id: "p",
            update,
            author: by,
            role: "edit",
            node: "test",
            restored_to: None,
        }])
        .await
        .expect("logged");
    seqs[0]
}

fn shape(kind: &str, x: i64) -> MapPrelim {
    MapPrelim::from([
        ("type", In::Any(kind.into())),
        (
            "geometry",
            In::Any(yrs::Any::from_json(&format!("{{\"x\":{x},\"y\":7}}")).expect("json")),
        ),
        ("author", In::Any("Ana".into())),
    ])
}

#[tokio::test]
async fn every_moment_reads_back_exactly_and_costs_at_most_one_checkpoint_interval() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_with_picture(&dir).await;
    let historian = Historian::new(
        Arc::clone(&store),
        super::checkpoint::CheckpointPolicy::every(7),
    );
    let client = Doc::new();
    let shapes = client.get_or_insert_map("shapes");
    let comments = client.get_or_insert_map("comments");
    let mut recorded = vec![(0, document_of(&client))];
    let (ana, bo) = (author("ana"), author("bo"));
    for i in 0..40i64 {
        let by = if (i / 5) % 2 == 0 { &ana } else { &bo };
        let update = update_of(&client, |txn| match i % 4 {
            0 | 1 => {
                shapes.insert(txn, format!("s{i}"), shape("marker", i));
            }
            2 => {
                if let Some(yrs::Out::YMap(s)) = shapes.get(txn, &format!("s{}", i - 2)) {
                    s.insert(
                        txn,
                        "geometry",
                        yrs::Any::from_json("{\"x\":1.5,\"y\":2}").expect("json"),
                    );
                }
            }
            _ => {
                shapes.remove(txn, &format!("s{}", i - 2));
                let thread = comments.insert(
                    txn,
                    format!("t{i}"),
                    MapPrelim::from([
                        ("target", In::Any(format!("s{}", i - 3).into())),
                        ("messages", In::Array(ArrayPrelim::default())),
                    ]),
                );
                if let Some(yrs::Out::YArray(messages)) = thread.get(txn, "messages") {
                    messages.push_back(
                        txn,
                        yrs::Any::from_json("{\"id\":\"m\",\"text\":\"hi\",\"at\":1}")
                            .expect("json"),
                    );
                }
            }
        });
        let seq = log(&store, &update, by).await;
        recorded.push((seq, document_of(&client)));
    }
    historian.catch_up("p").await.expect("indexed");
    for (seq, document) in &recorded {
        let (replay, read) = historian
            .replay_to("p", *seq, Use::Read)
            .await
            .expect("moment");
        assert_eq!(&replay.document(), document, "the document at seq {seq}");
        assert!(read <= 7, "seq {seq} read {read} updates");
    }
    // Five-update runs by one author, all within a minute: eight entries, alternating.
    let entries = store
        .activity(
            "p",
            &crate::store::ActivityQuery {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .expect("activity");
    assert_eq!(entries.len(), 8);
    assert_eq!(entries[0].author.id, "bo");
    assert_eq!(entries[1].author.id, "ana");
    assert_eq!((entries[7].from_seq, entries[7].to_seq), (1, 5));
    // seqs 1..5: add s0, s1, change s0, delete s1 + comment on s0, add s4.
    assert_eq!(entries[7].added, vec!["s0", "s1", "s4"]);
    assert_eq!(
        entries[7].changed,
        Vec::<String>::new(),
        "s0 changed within the entry that added it"
    );
    assert_eq!(entries[7].deleted, vec!["s1"]);
    assert_eq!(entries[7].comments, 1);
    // The shape history of s0: created, then moved.
    let changes = store.shape_changes("p", "s0").await.expect("changes");
    assert_eq!(
        changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(changes[1]
        .after
        .as_deref()
        .is_some_and(|a| a.contains("1.5")));
    // A second run indexes nothing again.
    let before = historian
        .metrics()
        .updates_indexed
        .load(std::sync::atomic::Ordering::Relaxed);
    historian.catch_up("p").await.expect("indexed");
    assert_eq!(
        historian
            .metrics()
            .updates_indexed
            .load(std::sync::atomic::Ordering::Relaxed),
        before
    );
}

#[tokio::test]
async fn checkpoints_between_whole_states_are_deltas_and_a_restarted_index_goes_on_from_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_with_picture(&dir).await;
    let policy = super::checkpoint::CheckpointPolicy {
        chain_weight: 3,
        ..super::checkpoint::CheckpointPolicy::every(5)
    };
    let client = Doc::new();
    let shapes = client.get_or_insert_map("shapes");
    let ana = author("ana");
    let mut recorded = Vec::new();
    for round in 0..2 {
        // A historian per round: the second starts with nothing in memory.
        let historian = Historian::new(Arc::clone(&store), policy);
        for i in 0..60i64 {
            let n = round * 60 + i;
            let update = update_of(&client, |txn| {
                if n % 3 == 2 {
                    shapes.remove(txn, &format!("s{}", n - 2));
                } else {
                    shapes.insert(txn, format!("s{n}"), shape("marker", n));
                }
            });
            let seq = log(&store, &update, &ana).await;
            recorded.push((seq, document_of(&client)));
        }
        historian.catch_up("p").await.expect("indexed");
        for (seq, document) in &recorded {
            let (replay, read) = historian
                .replay_to("p", *seq, Use::Read)
                .await
                .expect("moment");
            assert_eq!(&replay.document(), document, "the document at seq {seq}");
            assert!(read < 5, "seq {seq} read {read} updates");
        }
    }
    let mut deltas = 0;
    for seq in (5..=120).step_by(5) {
        let chain = store.checkpoint_chain("p", seq).await.expect("chain");
        assert_eq!(
            chain.last().map(|c| c.seq),
            Some(seq),
            "a checkpoint every 5"
        );
        assert!(chain[0].base.is_none(), "a chain starts with a whole state");
        for pair in chain.windows(2) {
            assert_eq!(
                pair[1].base,
                Some(pair[0].seq),
                "each delta names the one before"
            );
        }
        deltas += usize::from(chain.len() > 1);
    }
    assert!(deltas >= 12, "{deltas} of 24 checkpoints are deltas");
}

#[tokio::test]
async fn a_restore_plan_turns_the_live_document_into_the_old_one() {
    let doc = Doc::new();
    let shapes = doc.get_or_insert_map("shapes");
    let comments = doc.get_or_insert_map("comments");
    update_of(&doc, |txn| {
        shapes.insert(txn, "a", shape("marker", 1));
        shapes.insert(txn, "b", shape("marker", 2));
        let t = comments.insert(
            txn,
            "t",
            MapPrelim::from([
                ("target", In::Any("a".into())),
                ("messages", In::Array(ArrayPrelim::default())),
            ]),
        );
        if let Some(yrs::Out::YArray(m)) = t.get(txn, "messages") {
            m.push_back(txn, yrs::Any::from("first"));
        }
    });
    let roots = |doc: &Doc| {
        let txn = doc.transact();
        (shapes.to_json(&txn), comments.to_json(&txn))
    };
    let old = roots(&doc);
    update_of(&doc, |txn| {
        if let Some(yrs::Out::YMap(a)) = shapes.get(txn, "a") {
            a.insert(
                txn,
                "geometry",
                yrs::Any::from_json("{\"x\":99,\"y\":1}").expect("json"),
            );
            a.insert(txn, "text", "new field");
        }
        shapes.remove(txn, "b");
        shapes.insert(txn, "c", shape("text", 3));
        if let Some(yrs::Out::YMap(t)) = comments.get(txn, "t") {
            if let Some(yrs::Out::YArray(m)) = t.get(txn, "messages") {
                m.push_back(txn, yrs::Any::from("second"));
            }
        }
    });
    // Only shape a (and its thread): b stays deleted, c stays.
    let only: HashSet<String> = ["a".to_string()].into();
    let partial = Plan::new(&roots(&doc), &old, Some(&only));
    assert_eq!(partial.shape_ids, vec!["a"]);
    assert_eq!(
        (partial.counts.shapes_changed, partial.counts.comments),
        (1, 1)
    );
    let copy = Doc::new();
    {
        let state = doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let mut txn = copy.transact_mut();
        txn.apply_update(yrs::Update::decode_v1(&state).expect("decode"))
            .expect("apply");
    }
    let (cshapes, ccomments) = (
        copy.get_or_insert_map("shapes"),
        copy.get_or_insert_map("comments"),
    );
    {
        let mut txn = copy.transact_mut();
        partial.apply(&mut txn, &cshapes, &ccomments);
    }
    {
        let txn = copy.transact();
        let now = cshapes.to_json(&txn);
        let yrs::Any::Map(now) = now else {
            panic!("shapes")
        };
        assert!(!now.contains_key("b") && now.contains_key("c"));
        let yrs::Any::Map(was) = &old.0 else {
            panic!("shapes")
        };
        assert_eq!(now.get("a"), was.get("a"));
        assert_eq!(ccomments.to_json(&txn), old.1);
    }
    // The whole document.
    let plan = Plan::new(&roots(&doc), &old, None);
    assert_eq!(
        (
            plan.counts.shapes_added,
            plan.counts.shapes_changed,
            plan.counts.shapes_deleted,
            plan.counts.comments
        ),
        (1, 1, 1, 1)
    );
    let update = update_of(&doc, |txn| plan.apply(txn, &shapes, &comments));
    assert!(!update.is_empty());
    assert_eq!(roots(&doc), old);
    assert!(Plan::new(&roots(&doc), &old, None).is_empty());
}

use yrs::updates::decoder::Decode;

/// Sixty updates by Ana (markers added, every third one's predecessor removed), logged;
/// each one's seq and the document after it.
async fn sixty_updates(store: &Arc<dyn MetaStore>) -> Vec<(i64, serde_json::Value)> {
    let client = Doc::new();
    let shapes = client.get_or_insert_map("shapes");
    let ana = author("ana");
    let mut recorded = Vec::new();
    for n in 0..60i64 {
        let update = update_of(&client, |txn| {
            if n % 3 == 2 {
                shapes.remove(txn, &format!("s{}", n - 2));
            } else {
                shapes.insert(txn, format!("s{n}"), shape("marker", n));
            }
        });
        let seq = log(store, &update, &ana).await;
        recorded.push((seq, document_of(&client)));
    }
    recorded
}

#[tokio::test]
async fn the_index_makes_the_frames_lines_of_its_checkpoints_in_room_the_cache_has() {
    use base64::Engine;
    use yrs::updates::decoder::Decode;

    let policy = super::checkpoint::CheckpointPolicy {
        chain_weight: 3,
        ..super::checkpoint::CheckpointPolicy::every(5)
    };
    // No budget, no lines; and a historian that finds the index written makes none.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_with_picture(&dir).await;
    sixty_updates(&store).await;
    let unkept = Historian::with_cache(Arc::clone(&store), policy, 0, 0);
    unkept.catch_up("p").await.expect("indexed");
    assert_eq!(unkept.lines().bytes(), 0, "no budget, no lines");
    let reader = Historian::new(Arc::clone(&store), policy);
    reader.catch_up("p").await.expect("indexed");
    assert_eq!(
        reader.lines().bytes(),
        0,
        "lines are made by whoever indexes"
    );

    // Whoever indexes keeps a v1 line of every checkpoint, whole states and deltas alike,
    // and a chain's lines applied in order give the document at its seq.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_with_picture(&dir).await;
    let recorded = sixty_updates(&store).await;
    let historian = Historian::new(Arc::clone(&store), policy);
    historian.catch_up("p").await.expect("indexed");
    let mut checked = 0;
    let mut deltas = 0;
    for (seq, document) in recorded.iter().filter(|(seq, _)| seq % 5 == 0) {
        let chain = store.checkpoint_chain("p", *seq).await.expect("chain");
        assert_eq!(
            chain.last().map(|c| c.seq),
            Some(*seq),
            "a checkpoint every 5"
        );
        let doc = Doc::new();
        for c in &chain {
            let key = super::cache::LineKey {
                picture: "p".into(),
                seq: c.seq,
                base: c.base,
                v2: false,
            };
            let line = historian
                .lines()
                .get(&key)
                .unwrap_or_else(|| panic!("a line for checkpoint {}", c.seq));
            let line: serde_json::Value = serde_json::from_slice(&line).expect("a JSON line");
            assert_eq!(line["type"], "checkpoint");
            assert_eq!(line["seq"], c.seq);
            assert_eq!(line["base"], serde_json::json!(c.base));
            assert_eq!(line["encoding"], "v1");
            assert!(line["at"].is_string(), "the time of checkpoint {}", c.seq);
            let state = base64::engine::general_purpose::STANDARD
                .decode(line["state"].as_str().expect("a state"))
                .expect("base64");
            let update = yrs::Update::decode_v1(&state).expect("a v1 update");
            doc.transact_mut().apply_update(update).expect("applied");
        }
        assert_eq!(
            &document_of(&doc),
            document,
            "the lines' document at seq {seq}"
        );
        checked += 1;
        deltas += usize::from(chain.len() > 1);
    }
    assert_eq!(
        checked, 12,
        "every checkpoint's chain read from the lines made"
    );
    assert!(deltas >= 6, "{deltas} of the chains have deltas");
}

#[tokio::test]
async fn a_moment_asked_for_twice_is_rebuilt_once_and_reads_back_the_same() {
    use std::sync::atomic::Ordering;

    let dir = tempfile::tempdir().expect("temp dir");
    let store = store_with_picture(&dir).await;
    let recorded = sixty_updates(&store).await;
    let historian = Historian::new(
        Arc::clone(&store),
        super::checkpoint::CheckpointPolicy::every(7),
    );
    historian.catch_up("p").await.expect("indexed");
    for (seq, document) in recorded.iter().step_by(9) {
        let (first, read) = historian.roots_at("p", *seq).await.expect("rebuilt");
        assert!(read.is_some(), "seq {seq} is rebuilt the first time");
        assert_eq!(
            &super::replay::roots_document(&first),
            document,
            "the document at seq {seq}"
        );
        let (again, read) = historian.roots_at("p", *seq).await.expect("kept");
        assert_eq!(read, None, "seq {seq} is kept the second time");
        assert!(Arc::ptr_eq(&first, &again));
    }
    let asked = recorded.iter().step_by(9).count() as u64;
    assert_eq!(
        historian.metrics().moments_kept.load(Ordering::Relaxed),
        asked
    );
    // A deleted picture's moments are forgotten; none kept without a budget.
    historian.forget("p");
    let (_, read) = historian
        .roots_at("p", recorded[0].0)
        .await
        .expect("rebuilt");
    assert!(read.is_some(), "forgotten, so rebuilt");
    let unkept = Historian::with_cache(
        Arc::clone(&store),
        super::checkpoint::CheckpointPolicy::every(7),
        0,
        0,
    );
    for _ in 0..2 {
        let (_, read) = unkept.roots_at("p", recorded[5].0).await.expect("rebuilt");
        assert!(read.is_some(), "no budget: rebuilt every time");
    }
}
