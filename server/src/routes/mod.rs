//! HTTP routes: thin handlers over the store, the queue and the object folder.

pub mod access;
pub mod annotations;
pub mod events;
pub mod health;
pub mod history;
pub mod openapi;
pub mod pages;
pub mod pictures;
pub mod tiles;
pub mod uploads;
pub mod ws;

/// Largest request body of every route but a picture's upload (JSON, form fields), bytes.
pub const SMALL_BODY_BYTES: usize = 64 << 10;
