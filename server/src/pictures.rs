//! Pictures coming into being: a record with fresh link tokens, an original moved into
//! the picture's objects, a pyramid queued. The HTTP handlers (`routes::pictures`,
//! `routes::uploads`) and the importer call these.

use crate::auth::{hash_token, new_id, new_token, Role, RoleTokens};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::times::now_rfc3339;
use crate::store::{PictureRecord, Status};

/// Characters kept of a picture's title and of its original's file name.
pub const TITLE_CHARS: usize = 300;

/// At most `TITLE_CHARS` characters of `text` (cut on characters, never inside one).
pub fn capped(text: &str) -> String {
    text.chars().take(TITLE_CHARS).collect()
}

/// Fresh tokens for `roles`: plaintext to show once, hashes to store.
pub fn fresh_tokens(roles: &[Role]) -> (RoleTokens, RoleTokens) {
    let plain: RoleTokens = roles.iter().map(|&r| (r, new_token())).collect();
    let hashed = plain.iter().map(|(r, t)| (*r, hash_token(t))).collect();
    (plain, hashed)
}

/// Makes a picture of a complete file in `uploads_dir`, queues its pyramid, and
/// returns its record. The file is moved into the picture's objects.
pub async fn picture_from_file(
    state: &AppState,
    file: &std::path::Path,
    title: &str,
    source_name: &str,
    token_hashes: &[(Role, String)],
) -> Result<PictureRecord, AppError> {
    let bytes = tokio::fs::metadata(file).await?.len();
    let record = new_picture(state, title, source_name, bytes, token_hashes).await?;
    attach_original(state, &record.id, file).await?;
    Ok(record)
}

/// Moves a complete original into a picture's objects and queues its pyramid.
pub async fn attach_original(
    state: &AppState,
    id: &str,
    file: &std::path::Path,
) -> Result<(), AppError> {
    state.objects.store_original(id, file).await?;
    state
        .queue
        .build_pyramid(id, None)
        .await
        .map_err(AppError::internal)
}

/// Records a new queued picture with its token hashes.
pub async fn new_picture(
    state: &AppState,
    title: &str,
    source_name: &str,
    bytes: u64,
    token_hashes: &[(Role, String)],
) -> Result<PictureRecord, AppError> {
    let id = new_id();
    let record = PictureRecord {
        id: id.clone(),
        status: Status::Queued,
        title: capped(title),
        description: String::new(),
        width: None,
        height: None,
        error: None,
        created_at: now_rfc3339(),
        stage: Some("queued".into()),
        done: 0,
        total: 0,
        tile_format: None,
        source_name: capped(source_name),
        source_bytes: bytes,
        visibility: state.config.default_visibility,
    };
    state.store.create_picture(&record, token_hashes).await?;
    Ok(record)
}
