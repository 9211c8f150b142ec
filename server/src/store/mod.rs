//! Picture metadata, tokens, uploads and annotation documents (update log, snapshots): the `MetaStore` trait and its implementations
//! (SQLite for the embedded mode, PostgreSQL for the distributed one).

mod documents;
mod history;
mod migrate;
mod postgres;
mod postgres_documents;
mod postgres_history;
mod sqlite;
mod sqlite_documents;
mod sqlite_history;
pub mod times;

pub use history::{
    ActivityQuery, ActivityRow, Author, AuthorTally, Checkpoint, HistoryStore, IndexBatch,
    IndexState, LogBounds, LogRow, ShapeChange, ShapeChangeRow, VersionRow,
};

pub use documents::{DocStore, MemoryDocStore, NewUpdate, StoredDocument};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::auth::Role;

/// Why the metadata store failed. Always the server's fault, never the client's.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or is unreachable.
    #[error("database: {0}")]
    Database(String),
    /// The schema is older than this binary.
    #[error("the database schema is at version {found}, this build needs {needed}: run `hugepic migrate`")]
    SchemaBehind {
        /// Version in the database.
        found: i64,
        /// Version this binary needs.
        needed: i64,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// Where a picture is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for a worker.
    Queued,
    /// Being decoded and cut into tiles.
    Tiling,
    /// Tiles being made available.
    Publishing,
    /// Viewable.
    Ready,
    /// Gave up; `error` says why.
    Failed,
}

impl Status {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Tiling => "tiling",
            Status::Publishing => "publishing",
            Status::Ready => "ready",
            Status::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Status {
        match s {
            "tiling" => Status::Tiling,
            "publishing" => Status::Publishing,
            "ready" => Status::Ready,
            "failed" => Status::Failed,
            _ => Status::Queued,
        }
    }

    /// No more changes will come.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Ready | Status::Failed)
    }
}

/// Who may find a picture without one of its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Only its links work: without a token the picture does not exist (404). Its tile
    /// URLs, which carry the unguessable picture id, are still served.
    Unlisted,
    /// Listed in the gallery; a visitor without a token has `--default-role`.
    Public,
}

impl Visibility {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Unlisted => "unlisted",
            Visibility::Public => "public",
        }
    }

    /// Parses a name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "unlisted" => Some(Visibility::Unlisted),
            "public" => Some(Visibility::Public),
            _ => None,
        }
    }
}

/// A picture as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureRecord {
    /// Random id.
    pub id: String,
    /// Life stage.
    pub status: Status,
    /// Owner-editable title.
    pub title: String,
    /// Owner-editable description.
    pub description: String,
    /// Pixels, once known.
    pub width: Option<u32>,
    /// Pixels, once known.
    pub height: Option<u32>,
    /// Why it failed.
    pub error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Current stage name for progress.
    pub stage: Option<String>,
    /// Progress within the stage.
    pub done: u64,
    /// Total of the stage.
    pub total: u64,
    /// `jpg` or `png`, once tiled.
    pub tile_format: Option<String>,
    /// Original file name.
    pub source_name: String,
    /// Original size in bytes.
    pub source_bytes: u64,
    /// Who may find it without a link.
    pub visibility: Visibility,
}

/// A tus upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// Random id (also its URL).
    pub id: String,
    /// Declared total length.
    pub length: u64,
    /// Bytes received.
    pub offset: u64,
    /// The raw `Upload-Metadata` header.
    pub metadata: String,
    /// RFC 3339.
    pub created_at: String,
    /// Unix seconds after which it is gone.
    pub expires_at: i64,
    /// Hash of the owner token handed out at creation.
    pub owner_hash: String,
    /// The picture it became, once complete.
    pub picture_id: Option<String>,
    /// The address it came from (`rate::client_address`), for the quotas.
    pub address: Option<String>,
}

/// What the unfinished uploads hold: how many, and the bytes declared and not yet
/// received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unfinished {
    /// Unfinished uploads.
    pub uploads: u64,
    /// Declared bytes still to come.
    pub bytes_to_come: u64,
}

/// The metadata store (and, through `DocStore`, the annotation documents, and through
/// `HistoryStore`, what the annotation history reads).
#[async_trait]
pub trait MetaStore: HistoryStore + DocStore + Send + Sync {
    /// Inserts a picture with its token hashes.
    async fn create_picture(
        &self,
        picture: &PictureRecord,
        tokens: &[(Role, String)],
    ) -> Result<(), StoreError>;
    /// One picture.
    async fn picture(&self, id: &str) -> Result<Option<PictureRecord>, StoreError>;
    /// A page of the gallery (ready, public pictures), newest first, and their count.
    async fn listed_pictures(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<PictureRecord>, u64), StoreError>;
    /// Sets what is given of title, description and visibility.
    async fn update_details(
        &self,
        id: &str,
        title: Option<&str>,
        description: Option<&str>,
        visibility: Option<Visibility>,
    ) -> Result<(), StoreError>;
    /// Moves a picture to `status` (with `error` when failed) and clears progress.
    async fn set_status(
        &self,
        id: &str,
        status: Status,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Records size and tile format once decoding started.
    async fn set_dimensions(
        &self,
        id: &str,
        width: u32,
        height: u32,
        tile_format: &str,
    ) -> Result<(), StoreError>;
    /// Records progress of the current stage.
    async fn set_progress(
        &self,
        id: &str,
        stage: &str,
        done: u64,
        total: u64,
    ) -> Result<(), StoreError>;
    /// Removes a picture and its tokens.
    async fn delete_picture(&self, id: &str) -> Result<(), StoreError>;
    /// The role `token_hash` grants on picture `id`, if any.
    async fn role_for(&self, id: &str, token_hash: &str) -> Result<Option<Role>, StoreError>;
    /// Replaces the tokens of the given roles.
    async fn replace_tokens(&self, id: &str, tokens: &[(Role, String)]) -> Result<(), StoreError>;
    /// Inserts an upload.
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), StoreError>;
    /// One upload.
    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StoreError>;
    /// Records bytes received.
    async fn set_upload_offset(&self, id: &str, offset: u64) -> Result<(), StoreError>;
    /// Marks an upload complete, as picture `picture_id`.
    async fn finish_upload(&self, id: &str, picture_id: &str) -> Result<(), StoreError>;
    /// Removes an upload record.
    async fn delete_upload(&self, id: &str) -> Result<(), StoreError>;
    /// What the unfinished uploads from `address` hold (every address's, for `None`).
    async fn unfinished_uploads(&self, address: Option<&str>) -> Result<Unfinished, StoreError>;
    /// Unfinished uploads whose time ran out before `now` (unix seconds).
    async fn expired_uploads(&self, now: i64) -> Result<Vec<String>, StoreError>;
    /// Pictures per status, for `/metrics`.
    async fn status_counts(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// A cheap query, for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
}
