//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the HTTP API, assembled as
//! JSON from what the handlers in `routes/` read and answer.
//!
//! Layout:
//! - `document`: the whole description, and its handler.
//! - `components`: shared parameters, error answers, the Bearer scheme; builders.
//! - `schemas`: the JSON bodies.
//! - `pictures`, `history`, `serving`: the paths, as the route modules group them.

mod components;
mod document;
mod history;
mod pictures;
mod schemas;
mod serving;

pub use document::{document, openapi};
