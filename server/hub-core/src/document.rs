//! A room's annotation document: what it takes from a connection (by role), from
//! another node, and from the log, and what it answers. Every byte that reaches the
//! document comes through here; the shell only holds it behind a lock.

use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, ReadTxn, StateVector, Transact, Update};

use crate::roles::{only_comments, Role};
use crate::wire::{delete_digest, has_gap, straddles};

/// Why an update was not applied, in words for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// What became of a connection's document update.
#[derive(Debug)]
pub enum Applied {
    /// It brought nothing the document lacks (a stock client's sync step 2, an echo):
    /// not a write, whoever sent it.
    Nothing,
    /// Applied: `update` is what to log and pass on; `writer` the client id whose
    /// blocks it carries (its awareness names the author).
    Changed {
        /// The update as applied.
        update: Vec<u8>,
        /// The client id that wrote it, if it inserted anything.
        writer: Option<ClientID>,
    },
    /// Not applied: it does not continue the document; the client gets the document's
    /// state vector and sends what is missing from there.
    Resync(StateVector),
    /// Not applied, for this reason (role, size).
    Refused(Refusal),
    /// yrs failed half-way: `partial` is what it did apply (logged and passed on like any
    /// update, so every node and the log hold the same document); the connection is
    /// closed with `error`.
    Broken {
        /// What was applied before the failure.
        partial: Option<Vec<u8>>,
        /// What yrs said.
        error: String,
    },
}

/// What an update from another node did.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    /// It changed the document: pass it on to this node's connections.
    Changed,
    /// Nothing new.
    Nothing,
    /// It does not continue the document (something in between was lost): ask for a
    /// repair.
    Gap,
    /// It does not decode.
    Unreadable,
}

/// The answer to another node's state vector and delete digest.
#[derive(Debug, Default)]
pub struct Answer {
    /// What they lack, if anything (or everything past their state vector when the
    /// deletions differ).
    pub diff: Option<Vec<u8>>,
    /// Whether they have something we lack: ask them back.
    pub ask_back: bool,
}

/// A room's document and how much of it there is.
pub struct Document {
    doc: Doc,
    /// Its encoded state plus what was added since, bytes.
    bytes: usize,
    /// Updates applied since the last snapshot.
    pub since_snapshot: u32,
}

impl Document {
    /// The document of a snapshot and the logged updates after it (each with its seq),
    /// and the seqs of parts that did not decode or apply (skipped).
    pub fn load<'a>(
        snapshot: Option<(i64, &'a [u8])>,
        updates: impl IntoIterator<Item = (i64, &'a [u8])>,
    ) -> (Document, Vec<i64>) {
        let doc = Doc::new();
        let mut bytes = 0;
        let mut skipped = Vec::new();
        let mut since_snapshot = 0u32;
        {
            let mut txn = doc.transact_mut();
            let updates = updates.into_iter().inspect(|_| since_snapshot += 1);
            for (seq, part) in snapshot.into_iter().chain(updates) {
                let applied = Update::decode_v1(part).map(|u| txn.apply_update(u));
                if !matches!(applied, Ok(Ok(()))) {
                    skipped.push(seq);
                }
                bytes += part.len();
            }
        }
        let document = Document {
            doc,
            bytes,
            since_snapshot,
        };
        (document, skipped)
    }

    /// The yrs document (read it; change it only through this type).
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Its size as counted against the limit.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Sync step 1: our state vector.
    pub fn step1(&self) -> Vec<u8> {
        let sv = self.doc.transact().state_vector();
        Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1()
    }

    /// Sync step 2: what a client at `sv` lacks.
    pub fn step2(&self, sv: &StateVector) -> Vec<u8> {
        let diff = self.doc.transact().encode_diff_v1(sv);
        Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1()
    }

    /// Applies a connection's update (`bytes`, decoded as `update`) as `role` may, the
    /// document held to `max_bytes`.
    pub fn apply(
        &mut self,
        bytes: Vec<u8>,
        update: Update,
        role: Role,
        max_bytes: usize,
    ) -> Applied {
        let sv = self.doc.transact().state_vector();
        // An update that brings nothing the document lacks is not a write, whoever sends
        // it: a stock client's sync step 2 on connecting (empty, or the deletions the
        // server has) must not count as a refused change of a view link, nor be logged.
        let brings_blocks = update.insertions(true).iter().any(|(client, ranges)| {
            let have = sv.get(client);
            ranges.iter().any(|r| r.end > have)
        });
        if !brings_blocks
            && (update.delete_set().is_empty()
                || update
                    .delete_set()
                    .diff(&self.doc.transact().snapshot().delete_set)
                    .is_empty())
        {
            return Applied::Nothing;
        }
        if role == Role::View {
            return refused("this link is view-only: your changes are not saved or shared");
        }
        // Blocks that do not continue what the document has of a client are not
        // integrated (yrs mishandles them; see `straddles` and `has_gap`).
        if straddles(&update, &sv) || has_gap(&update, &sv) {
            return Applied::Resync(sv);
        }
        if self.bytes + bytes.len() > max_bytes {
            return Applied::Refused(Refusal(format!(
                "this picture's annotations reached the limit of {} MiB",
                max_bytes >> 20
            )));
        }
        if role == Role::Comment && !only_comments(&self.doc, &bytes) {
            return refused("this link allows comments only: drawing is not saved or shared");
        }
        // Whose document wrote it: a stock client's awareness has the same client id.
        let writer = update
            .insertions(true)
            .iter()
            .next()
            .map(|(client, _)| *client);
        let mut txn = self.doc.transact_mut();
        let before = txn.state_vector();
        let deletes = !update.delete_set().is_empty();
        let applied = match txn.apply_update(update) {
            Ok(()) => (deletes || txn.state_vector() != before).then_some(bytes),
            Err(e) => {
                let partial = (txn.state_vector() != before).then(|| txn.encode_diff_v1(&before));
                drop(txn);
                if let Some(partial) = &partial {
                    self.count(partial.len());
                }
                return Applied::Broken {
                    partial,
                    error: e.to_string(),
                };
            }
        };
        drop(txn);
        match applied {
            Some(update) => {
                self.count(update.len());
                Applied::Changed { update, writer }
            }
            None => Applied::Nothing,
        }
    }

    /// A change the server makes (a restore, an import): `edit` makes it in a
    /// transaction of its own, given the document's size as counted against its limit,
    /// and returns that transaction's update, or `None` if it changed nothing.
    pub fn change(&mut self, edit: impl FnOnce(&Doc, usize) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
        let update = edit(&self.doc, self.bytes)?;
        self.count(update.len());
        Some(update)
    }

    fn count(&mut self, len: usize) {
        self.bytes += len;
        self.since_snapshot += 1;
    }

    /// Applies an update another node accepted (and logged).
    pub fn merge_remote(&mut self, bytes: &[u8]) -> Merged {
        let Ok(update) = Update::decode_v1(bytes) else {
            return Merged::Unreadable;
        };
        let mut txn = self.doc.transact_mut();
        let sv = txn.state_vector();
        if straddles(&update, &sv) || has_gap(&update, &sv) {
            return Merged::Gap;
        }
        let deletes = !update.delete_set().is_empty();
        // A failure half-way keeps what applied, as on the node that accepted it.
        let _ = txn.apply_update(update);
        let changed = deletes || txn.state_vector() != sv;
        drop(txn);
        if changed {
            self.bytes += bytes.len();
            Merged::Changed
        } else {
            Merged::Nothing
        }
    }

    /// Merges what the log holds (`parts`, as for `load`) that the document lacks
    /// (other nodes' updates this one missed): the highest seq seen and the diff of what
    /// it brought, if anything. Counts the document as snapshotted.
    pub fn merge_log<'a>(
        &mut self,
        parts: impl IntoIterator<Item = (i64, &'a [u8])>,
    ) -> (i64, Option<Vec<u8>>) {
        let mut upto = 0;
        let mut txn = self.doc.transact_mut();
        let before = txn.state_vector();
        for (seq, part) in parts {
            upto = upto.max(seq);
            if let Ok(update) = Update::decode_v1(part) {
                let _ = txn.apply_update(update);
            }
        }
        let missed = (txn.state_vector() != before).then(|| txn.encode_diff_v1(&before));
        drop(txn);
        self.since_snapshot = 0;
        (upto, missed)
    }

    /// The whole document, encoded (v1); its size becomes the count against the limit.
    pub fn encode(&mut self) -> Vec<u8> {
        let bytes = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        self.bytes = bytes.len();
        bytes
    }

    /// Our state vector (encoded) and a digest of our deletions, for other nodes.
    pub fn ask(&self) -> (Vec<u8>, u64) {
        let txn = self.doc.transact();
        (
            txn.state_vector().encode_v1(),
            delete_digest(&txn.snapshot().delete_set),
        )
    }

    /// What to do about another node's state vector and delete digest; `answering` when
    /// theirs was itself an answer (no asking back then, or two nodes would ping-pong).
    pub fn answer(&self, state_vector: &[u8], deletes: u64, answering: bool) -> Answer {
        let Ok(theirs) = StateVector::decode_v1(state_vector) else {
            return Answer::default();
        };
        let txn = self.doc.transact();
        let ours = txn.state_vector();
        let same_deletes = delete_digest(&txn.snapshot().delete_set) == deletes;
        let they_lack = ours.iter().any(|(c, clock)| theirs.get(c) < *clock);
        let we_lack = theirs.iter().any(|(c, clock)| ours.get(c) < *clock);
        Answer {
            diff: (they_lack || !same_deletes).then(|| txn.encode_diff_v1(&theirs)),
            ask_back: (we_lack || !same_deletes) && !answering,
        }
    }
}

fn refused(reason: &str) -> Applied {
    Applied::Refused(Refusal(reason.into()))
}

#[cfg(test)]
mod tests {
    use yrs::{Map, MapPrelim};

    use super::*;
    use crate::testing::update_of;

    fn has(document: &Document, key: &str) -> bool {
        let shapes = document.doc().get_or_insert_map("shapes");
        let txn = document.doc().transact();
        shapes.get(&txn, key).is_some()
    }

    #[test]
    fn two_nodes_repair_lost_updates_and_deletions_by_state_vector_and_digest() {
        let (mut one, _) = Document::load(None, []);
        let (mut two, _) = Document::load(None, []);
        let client = Doc::new();
        let shapes = client.get_or_insert_map("shapes");
        let first = update_of(&client, |txn| {
            shapes.insert(txn, "a", MapPrelim::from([("type", "marker")]));
        });
        let second = update_of(&client, |txn| {
            shapes.insert(txn, "b", MapPrelim::from([("type", "marker")]));
        });
        assert_eq!(one.merge_remote(&first), Merged::Changed);
        assert_eq!(one.merge_remote(&second), Merged::Changed);
        assert_eq!(one.merge_remote(&second), Merged::Nothing);
        // Node two missed the first: the second leaves a gap, so it asks.
        assert_eq!(two.merge_remote(&second), Merged::Gap);
        assert_eq!(two.merge_remote(b"\xff"), Merged::Unreadable);
        let (state_vector, deletes) = two.ask();
        let answer = one.answer(&state_vector, deletes, false);
        assert!(!answer.ask_back, "node one lacks nothing");
        let diff = answer.diff.expect("what two lacks");
        assert_eq!(two.merge_remote(&diff), Merged::Changed);
        assert!(has(&two, "a") && has(&two, "b"));
        // A deletion moves no state vector: the digest tells them apart.
        let deleted = update_of(&client, |txn| {
            shapes.remove(txn, "a");
        });
        assert_eq!(one.merge_remote(&deleted), Merged::Changed);
        let (state_vector, deletes) = two.ask();
        let answer = one.answer(&state_vector, deletes, false);
        assert_eq!(
            two.merge_remote(&answer.diff.expect("the deletion")),
            Merged::Changed
        );
        assert!(!has(&two, "a"));
        // In step: nothing to send, no asking back.
        let (state_vector, deletes) = two.ask();
        let answer = one.answer(&state_vector, deletes, false);
        assert!(answer.diff.is_none() && !answer.ask_back);
        // Behind: asks back unless it was answering.
        let (state_vector, deletes) = one.ask();
        let (mut three, _) = Document::load(None, []);
        assert!(three.answer(&state_vector, deletes, false).ask_back);
        assert!(!three.answer(&state_vector, deletes, true).ask_back);
        // A snapshot of one loads as the same document, and the log merges in.
        let snapshot = one.encode();
        let (reloaded, skipped) = Document::load(Some((7, &snapshot[..])), [(8, &b"\x00"[..])]);
        assert_eq!(skipped, vec![8], "what does not decode is skipped");
        assert!(has(&reloaded, "b") && !has(&reloaded, "a"));
        let (upto, missed) = three.merge_log([(1, &first[..]), (2, &second[..])]);
        assert_eq!(upto, 2);
        assert!(missed.is_some() && has(&three, "b"));
    }
}
