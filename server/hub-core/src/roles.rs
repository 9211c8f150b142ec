//! The roles a link gives, and what each may change in the annotation document.

use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

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

/// Whether applying `update` to a copy of `doc` leaves every root but `comments` as it
/// was (and leaves nothing pending that could change them later): what a comment link
/// may send.
pub fn only_comments(doc: &Doc, update: &[u8]) -> bool {
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let copy = Doc::new();
    let roots = |doc: &Doc| {
        let mut roots = roots_as_json(doc);
        roots.retain(|(name, _)| name != "comments");
        roots
    };
    {
        let mut txn = copy.transact_mut();
        match Update::decode_v1(&state).map(|u| txn.apply_update(u)) {
            Ok(Ok(())) => {}
            _ => return false,
        }
    }
    let before = roots(&copy);
    {
        let mut txn = copy.transact_mut();
        match Update::decode_v1(update).map(|u| txn.apply_update(u)) {
            Ok(Ok(())) => {}
            _ => return false,
        }
        if txn.has_missing_updates() {
            return false;
        }
    }
    roots(&copy) == before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::update_of;
    use yrs::{Map, MapPrelim};

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
        server
            .transact_mut()
            .apply_update(Update::decode_v1(&drawn).unwrap())
            .unwrap();
        let commented = update_of(&client, |txn| {
            comments.insert(txn, "t1", MapPrelim::from([("target", "s1")]));
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
}
