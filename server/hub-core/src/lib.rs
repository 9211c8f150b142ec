//! The collaboration hub's rules, with no I/O: what comes off the wire (`wire`), who is
//! in a room and what of their awareness is news (`presence`), how fast a connection may
//! write (`limits`), and what a role may change (`roles`). Time is an argument, never
//! read from a clock here, so every rule is tested without a runtime; the server's
//! `hub` module is the shell that owns sockets, tasks and the database.

pub mod limits;
pub mod presence;
pub mod roles;
pub mod wire;
