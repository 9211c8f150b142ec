//! The collaboration hub's rules, with no I/O: what comes off the wire (`wire`), the
//! document and what it takes from whom (`document`), who is in a room and what of their
//! awareness is news (`presence`), what a room passes on per tick (`outbound`), how fast
//! a connection may write (`limits`), what a role may change (`roles`), and what each
//! message of a connection does (`session`: `handle(bytes, now)` gives effects:
//! replies, shares, log writes, a close). Time is an argument, never read from a clock
//! here, so every rule is tested without a runtime; the server's `hub` module is the
//! shell that owns sockets, tasks and the database.

pub mod document;
pub mod limits;
pub mod outbound;
pub mod presence;
pub mod roles;
pub mod session;
pub mod wire;

pub use document::Document;
pub use outbound::{Outbound, Tick};
pub use presence::{Author, Presence};
pub use roles::Role;
pub use session::{Close, Effect, Session, SessionLimits};

#[cfg(test)]
mod testing {
    use yrs::{Doc, ReadTxn, Transact};

    /// The update that `change` makes to `doc`.
    pub fn update_of(doc: &Doc, change: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
        let before = doc.transact().state_vector();
        change(&mut doc.transact_mut());
        doc.transact().encode_diff_v1(&before)
    }
}
