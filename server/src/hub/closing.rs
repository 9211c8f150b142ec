//! Which connections of a room to close: those of replaced links, of a picture made
//! unlisted or deleted, or everyone on shutdown; also as sent to other nodes.

use crate::auth::Role;

/// Which connections of a room to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closing {
    /// Those that joined with a link of one of these roles (`Role::set`).
    pub(crate) roles: u8,
    /// Every connection, and the room with them: the picture is deleted.
    pub(crate) deleted: bool,
    /// Only those that joined with a link (replaced links).
    pub(crate) linked_only: bool,
    /// Only those that joined without a link (the picture was made unlisted).
    pub(crate) unlinked_only: bool,
}

impl Closing {
    /// Every connection (shutdown).
    pub(super) const EVERYONE: Closing = Closing {
        roles: 0x0f,
        deleted: false,
        linked_only: false,
        unlinked_only: false,
    };

    /// Whether a connection with `role`, joined with a link or not (`linked`), is one.
    pub(super) fn applies(&self, role: Role, linked: bool) -> bool {
        let by_link = if linked {
            !self.unlinked_only
        } else {
            !self.linked_only
        };
        self.deleted || (by_link && self.roles & role.bit() != 0)
    }

    /// As sent to other nodes (`Body::Close`): roles in the low bits, then the flags.
    pub(super) fn bits(&self) -> u8 {
        let flag = |set: bool, bit: u8| if set { bit } else { 0 };
        self.roles
            | flag(self.deleted, 0x80)
            | flag(self.linked_only, 0x40)
            | flag(self.unlinked_only, 0x20)
    }

    /// From `bits`.
    pub(super) fn from_bits(bits: u8) -> Closing {
        Closing {
            roles: bits & 0x0f,
            deleted: bits & 0x80 != 0,
            linked_only: bits & 0x40 != 0,
            unlinked_only: bits & 0x20 != 0,
        }
    }
}
