//! The roles a link gives, and what each may change in the annotation document.

use std::collections::HashMap;
use std::sync::Arc;

use yrs::block::{
    ItemContent, BLOCK_GC_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN, HAS_PARENT_SUB,
    HAS_RIGHT_ORIGIN,
};
use yrs::encoding::read::Read;
use yrs::types::ToJson;
use yrs::updates::decoder::{Decode, Decoder, DecoderV1};
use yrs::{Assoc, BranchID, ClientID, Doc, IdSet, ReadTxn, StateVector, StickyIndex, Transact, ID};

/// What a token lets its holder do, weakest first (so `>=` reads "at least").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read, and presence.
    View,
    /// Comments.
    Comment,
    /// Shapes and comments.
    Edit,
    /// Everything: title, delete, links, tours.
    Owner,
}

impl Role {
    /// All roles, strongest first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Edit, Role::Comment, Role::View];

    /// Lower-case name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::View => "view",
            Role::Comment => "comment",
            Role::Edit => "edit",
            Role::Owner => "owner",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The role's bit in a set of roles (`u8`).
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The set of `roles`, as bits.
    pub fn set(roles: &[Role]) -> u8 {
        roles.iter().fold(0, |set, role| set | role.bit())
    }
}

/// Every root of `doc` read as a map and turned into JSON, by name. Roots arriving in
/// updates have no type until asked for one; every root of the document schema is a
/// map, so each is read as one. (Compared as values: map entries have no order.)
pub fn roots_as_json(doc: &Doc) -> Vec<(String, yrs::Any)> {
    let names: Vec<String> = doc
        .transact()
        .root_refs()
        .map(|(name, _)| name.to_string())
        .collect();
    let mut roots: Vec<(String, yrs::Any)> = names
        .into_iter()
        .map(|name| {
            let map = doc.get_or_insert_map(name.as_str());
            let json = map.to_json(&doc.transact());
            (name, json)
        })
        .collect();
    roots.sort_by(|a, b| a.0.cmp(&b.0));
    roots
}

/// Where an item of an update hangs, as the update says it.
enum Parent {
    /// Directly in a root, by name.
    Root(Arc<str>),
    /// In the type that item `ID` holds.
    Type(ID),
    /// Beside its origin (or right origin): in the same parent.
    Beside(ID),
}

/// An item an update inserts: its first id, its length in clocks, where it hangs.
struct Inserted {
    id: ID,
    len: u32,
    parent: Parent,
}

/// The items of a v1 update (GC and skip ranges left out: they show nothing) and its
/// delete set.
fn parse(update: &[u8]) -> Result<(Vec<Inserted>, IdSet), yrs::encoding::read::Error> {
    let mut decoder = DecoderV1::from(update);
    let clients: u32 = decoder.read_var()?;
    let mut items = Vec::new();
    for _ in 0..clients {
        let blocks: u32 = decoder.read_var()?;
        let client = decoder.read_client()?;
        let mut clock: u32 = decoder.read_var()?;
        for _ in 0..blocks {
            let info = decoder.read_info()?;
            let len = match info {
                BLOCK_SKIP_REF_NUMBER => decoder.read_var()?,
                BLOCK_GC_REF_NUMBER => decoder.read_len()?,
                info => {
                    let origin = (info & HAS_ORIGIN != 0)
                        .then(|| decoder.read_left_id())
                        .transpose()?;
                    let right_origin = (info & HAS_RIGHT_ORIGIN != 0)
                        .then(|| decoder.read_right_id())
                        .transpose()?;
                    let parent = match origin.or(right_origin) {
                        Some(beside) => Parent::Beside(beside),
                        None => {
                            let parent = if decoder.read_parent_info()? {
                                Parent::Root(decoder.read_string()?.into())
                            } else {
                                Parent::Type(decoder.read_left_id()?)
                            };
                            if info & HAS_PARENT_SUB != 0 {
                                decoder.read_string()?;
                            }
                            parent
                        }
                    };
                    let len = ItemContent::decode(&mut decoder, info)?.len_utf16();
                    items.push(Inserted {
                        id: ID::new(client, clock),
                        len,
                        parent,
                    });
                    len
                }
            };
            clock = clock.saturating_add(len);
        }
    }
    Ok((items, IdSet::decode(&mut decoder)?))
}

/// The root an item lies under.
#[derive(Clone, PartialEq, Eq)]
enum Under {
    /// This root.
    Root(Arc<str>),
    /// Nowhere any more: collected with a deleted parent (an insertion there shows
    /// nothing, a deletion there changes nothing).
    Collected,
}

/// Finds the roots items lie under, in an update's own items and in the document.
struct Roots<'a, T: ReadTxn> {
    txn: &'a T,
    items: &'a [Inserted],
    /// The update's items by client: (first clock, index in `items`), sorted.
    by_client: HashMap<ClientID, Vec<(u32, usize)>>,
    /// Found so far, by index in `items`.
    found: HashMap<usize, Option<Under>>,
    /// The document's state vector.
    have: StateVector,
    /// Items looked up in the document.
    lookups: usize,
}

/// Parents followed before giving up (an update whose items point at each other).
const MOST_HOPS: usize = 64;

impl<'a, T: ReadTxn> Roots<'a, T> {
    fn new(txn: &'a T, items: &'a [Inserted]) -> Self {
        let mut by_client: HashMap<ClientID, Vec<(u32, usize)>> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            by_client
                .entry(item.id.client)
                .or_default()
                .push((item.id.clock, i));
        }
        for list in by_client.values_mut() {
            list.sort_unstable();
        }
        Roots {
            txn,
            items,
            by_client,
            found: HashMap::new(),
            have: txn.state_vector(),
            lookups: 0,
        }
    }

    /// The index of the update's item holding `id`.
    fn in_update(&self, id: &ID) -> Option<usize> {
        let list = self.by_client.get(&id.client)?;
        let at = list.partition_point(|(clock, _)| *clock <= id.clock);
        let (_, index) = *list.get(at.checked_sub(1)?)?;
        let item = &self.items[index];
        (id.clock < item.id.clock.saturating_add(item.len)).then_some(index)
    }

    /// The root `id` lies under; `None` when that cannot be known (it points at what
    /// neither the update nor the document holds, or too far).
    fn of(&mut self, id: &ID, hops: usize) -> Option<Under> {
        if hops > MOST_HOPS {
            return None;
        }
        if let Some(index) = self.in_update(id) {
            if let Some(known) = self.found.get(&index) {
                return known.clone();
            }
            let under = match &self.items[index].parent {
                Parent::Root(name) => Some(Under::Root(name.clone())),
                Parent::Type(holder) | Parent::Beside(holder) => {
                    let holder = *holder;
                    self.of(&holder, hops + 1)
                }
            };
            self.found.insert(index, under.clone());
            return under;
        }
        if self.have.get(&id.client) <= id.clock {
            return None;
        }
        self.lookups += 1;
        let Some(offset) = StickyIndex::from_id(*id, Assoc::After).get_offset(self.txn) else {
            return Some(Under::Collected);
        };
        match offset.branch.id() {
            BranchID::Root(name) => Some(Under::Root(name)),
            BranchID::Nested(holder) => self.of(&holder, hops + 1),
        }
    }
}

/// Whether `update` changes nothing of `doc` but its `comments` root (and leaves nothing
/// pending that could change more later): what a comment link may send. It reads the
/// update's own items and deletions and looks up in the document only what they point
/// at, so its cost follows the update, not the document.
pub fn only_comments(doc: &Doc, update: &[u8]) -> bool {
    checked(doc, update).0
}

/// `only_comments`, and how many items it looked up in the document.
fn checked(doc: &Doc, update: &[u8]) -> (bool, usize) {
    let Ok((items, deletes)) = parse(update) else {
        return (false, 0);
    };
    let txn = doc.transact();
    let comments = Under::Root("comments".into());
    let mut roots = Roots::new(&txn, &items);
    let have = roots.have.clone();
    // Items the document has already are no change (a stock client's sync step 2 sends
    // everything it has).
    for item in items
        .iter()
        .filter(|item| item.id.clock.saturating_add(item.len) > have.get(&item.id.client))
    {
        match roots.of(&item.id, 0) {
            Some(under) if under == comments || under == Under::Collected => {}
            _ => return (false, roots.lookups),
        }
    }
    // Deletions: of comments, of what is gone, or of what the document already deleted
    // (a stock client's sync step 2 carries every deletion it knows).
    let mut deleted: Option<IdSet> = None;
    for (client, ranges) in deletes.iter() {
        for range in ranges.iter() {
            for clock in range.clone() {
                let id = ID::new(*client, clock);
                match roots.of(&id, 0) {
                    Some(under) if under == comments || under == Under::Collected => {}
                    Some(_) => {
                        let deleted = deleted.get_or_insert_with(|| txn.snapshot().delete_set);
                        if !deleted.contains(&id) {
                            return (false, roots.lookups);
                        }
                    }
                    None => return (false, roots.lookups),
                }
            }
        }
    }
    (true, roots.lookups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::update_of;
    use yrs::{Array, ArrayPrelim, Map, MapPrelim, MapRef, Update};

    fn apply(doc: &Doc, update: &[u8]) {
        doc.transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }

    /// What the check was before it read updates: apply to a copy of the whole
    /// document and compare every root but `comments`. Slow, and plainly right.
    fn by_copy(doc: &Doc, update: &[u8]) -> bool {
        let copy = Doc::new();
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        apply(&copy, &state);
        let roots = |doc: &Doc| {
            let mut roots = roots_as_json(doc);
            roots.retain(|(name, _)| name != "comments");
            roots
        };
        let before = roots(&copy);
        let mut txn = copy.transact_mut();
        match Update::decode_v1(update).map(|u| txn.apply_update(u)) {
            Ok(Ok(())) => {}
            _ => return false,
        }
        if txn.has_missing_updates() {
            return false;
        }
        drop(txn);
        roots(&copy) == before
    }

    #[test]
    fn a_comment_link_may_only_touch_comments() {
        let server = Doc::new();
        let client = Doc::new();
        let shapes = client.get_or_insert_map("shapes");
        let comments = client.get_or_insert_map("comments");
        let drawn = update_of(&client, |txn| {
            for i in 0..20 {
                shapes.insert(txn, format!("s{i}"), MapPrelim::from([("type", "marker")]));
            }
        });
        assert!(!only_comments(&server, &drawn), "a shape is not a comment");
        apply(&server, &drawn);
        let commented = update_of(&client, |txn| {
            comments.insert(
                txn,
                "t1",
                MapPrelim::from([("target", yrs::In::from("s1"))]),
            );
        });
        assert!(only_comments(&server, &commented));
        let moved = update_of(&client, |txn| {
            shapes.remove(txn, "s1");
        });
        assert!(
            !only_comments(&server, &moved),
            "deleting a shape is drawing"
        );
        assert!(!only_comments(&server, b"\xff\xff"), "not an update");
    }

    #[test]
    fn replies_edits_and_deletions_inside_threads_are_comments_and_nothing_else_is() {
        let server = Doc::new();
        let editor = Doc::new();
        let shapes = editor.get_or_insert_map("shapes");
        let comments = editor.get_or_insert_map("comments");
        let setup = update_of(&editor, |txn| {
            shapes.insert(txn, "s1", MapPrelim::from([("type", "rect")]));
            let thread = comments.insert(txn, "t1", MapPrelim::default());
            thread.insert(txn, "target", "s1");
            let messages = thread.insert(txn, "messages", ArrayPrelim::default());
            for text in ["first", "second"] {
                messages.push_back(txn, MapPrelim::from([("text", text)]));
            }
        });
        apply(&server, &setup);
        // A comment link's own document, synced from the server.
        let commenter = Doc::new();
        apply(&commenter, &setup);
        // Roots are taken before a transaction (taking one inside would wait for it).
        let roots = |doc: &Doc| {
            (
                doc.get_or_insert_map("comments"),
                doc.get_or_insert_map("shapes"),
            )
        };
        let (commenter_comments, commenter_shapes) = roots(&commenter);
        let unseen = Doc::new();
        let (unseen_comments, _) = roots(&unseen);
        let thread = |txn: &yrs::TransactionMut, comments: &MapRef| -> MapRef {
            match comments.get(txn, "t1") {
                Some(yrs::Out::YMap(map)) => map,
                other => panic!("no thread: {other:?}"),
            }
        };
        let messages = |txn: &yrs::TransactionMut, comments: &MapRef| -> yrs::ArrayRef {
            match thread(txn, comments).get(txn, "messages") {
                Some(yrs::Out::YArray(array)) => array,
                other => panic!("no messages: {other:?}"),
            }
        };
        // A reply in the middle: its parent comes from its neighbours.
        let reply = update_of(&commenter, |txn| {
            messages(txn, &commenter_comments).insert(
                txn,
                1,
                MapPrelim::from([("text", "between")]),
            );
        });
        assert!(only_comments(&server, &reply));
        apply(&server, &reply);
        // Editing a message's text and deleting a message.
        let edited = update_of(&commenter, |txn| {
            let list = messages(txn, &commenter_comments);
            if let Some(yrs::Out::YMap(message)) = list.get(txn, 0) {
                message.insert(txn, "text", "first, edited");
            }
            list.remove(txn, 2);
        });
        assert!(only_comments(&server, &edited));
        apply(&server, &edited);
        // A stock client's sync step 2: everything it has, deletions of shapes included,
        // all of which the server has already.
        let gone = update_of(&editor, |txn| {
            shapes.remove(txn, "s1");
        });
        apply(&server, &gone);
        apply(&commenter, &gone);
        let full = commenter
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        assert!(only_comments(&server, &full), "old deletions are no change");
        // Not comments: a shape's field, a new root, a thread's removal is fine but the
        // shapes' root is not.
        let restyled = update_of(&editor, |txn| {
            shapes.insert(txn, "s2", MapPrelim::from([("color", "red")]));
        });
        apply(&server, &restyled);
        apply(&commenter, &restyled);
        let recolor = update_of(&commenter, |txn| {
            if let Some(yrs::Out::YMap(shape)) = commenter_shapes.get(txn, "s2") {
                shape.insert(txn, "color", "blue");
            }
        });
        assert!(!only_comments(&server, &recolor), "a shape's colour");
        let elsewhere = commenter.get_or_insert_map("elsewhere");
        let other_root = update_of(&commenter, |txn| {
            elsewhere.insert(txn, "x", 1);
        });
        assert!(!only_comments(&server, &other_root), "another root");
        // An update that depends on one the server never got: pending, refused.
        apply(&unseen, &setup);
        let first = update_of(&unseen, |txn| {
            messages(txn, &unseen_comments).push_back(txn, MapPrelim::from([("text", "a")]));
        });
        let second = update_of(&unseen, |txn| {
            messages(txn, &unseen_comments).push_back(txn, MapPrelim::from([("text", "b")]));
        });
        assert!(only_comments(&server, &first));
        assert!(
            !only_comments(&server, &second),
            "its parent is not known yet"
        );
        for update in [
            &reply,
            &edited,
            &full,
            &recolor,
            &other_root,
            &first,
            &second,
        ] {
            assert_eq!(
                only_comments(&server, update),
                by_copy(&server, update),
                "the two checks agree"
            );
        }
    }

    #[test]
    fn the_check_costs_what_the_update_touches_not_what_the_document_holds() {
        let lookups_with = |shapes: usize| {
            let server = Doc::new();
            let editor = Doc::new();
            let drawn = editor.get_or_insert_map("shapes");
            let comments = editor.get_or_insert_map("comments");
            let setup = update_of(&editor, |txn| {
                for i in 0..shapes {
                    drawn.insert(txn, format!("s{i}"), MapPrelim::from([("type", "rect")]));
                }
                let thread = comments.insert(txn, "t1", MapPrelim::default());
                let messages = thread.insert(txn, "messages", ArrayPrelim::default());
                messages.push_back(txn, MapPrelim::from([("text", "first")]));
            });
            apply(&server, &setup);
            let reply = update_of(&editor, |txn| {
                if let Some(yrs::Out::YMap(thread)) = comments.get(txn, "t1") {
                    if let Some(yrs::Out::YArray(messages)) = thread.get(txn, "messages") {
                        messages.push_back(txn, MapPrelim::from([("text", "a reply")]));
                    }
                }
            });
            let started = std::time::Instant::now();
            let (allowed, lookups) = checked(&server, &reply);
            let took = started.elapsed();
            let started = std::time::Instant::now();
            assert_eq!(by_copy(&server, &reply), allowed);
            let copying = started.elapsed();
            println!(
                "{shapes} shapes: {lookups} lookups, {took:?}; by copying the document {copying:?}"
            );
            assert!(allowed);
            lookups
        };
        let small = lookups_with(10);
        let large = lookups_with(20_000);
        assert!(small <= 4, "{small} lookups for a reply");
        assert_eq!(
            small, large,
            "the same reply costs the same in a document 2,000× larger"
        );
    }
}
