//! Who may do what to a picture: the role a request's token grants.

use axum::http::HeaderMap;

use crate::auth::{hash_token, token_from, Role};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{PictureRecord, Visibility};

/// The picture and the caller's role on it; 404 for unknown pictures and, without a
/// token, for unlisted ones (they exist only for their links); 401 for a token that is
/// not one of this picture's.
pub async fn picture_and_role(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(PictureRecord, Role), AppError> {
    let unknown = || AppError::NotFound(format!("there is no picture {id:?}"));
    let picture = state.store.picture(id).await?.ok_or_else(unknown)?;
    let role = match token_from(headers, query_token) {
        None if picture.visibility == Visibility::Unlisted => return Err(unknown()),
        None => state.config.default_role,
        Some(token) => state
            .store
            .role_for(id, &hash_token(&token))
            .await?
            .ok_or_else(|| {
                AppError::Unauthorized("this token is not valid for this picture".into())
            })?,
    };
    Ok((picture, role))
}

/// Refuses unless `role` is at least `needed`; 401 without a token, 403 with one.
pub fn require(role: Role, needed: Role, had_token: bool, action: &str) -> Result<(), AppError> {
    if role >= needed {
        return Ok(());
    }
    let message = format!(
        "{action} needs the {} link; this one allows {}",
        needed.as_str(),
        role.as_str()
    );
    Err(if had_token {
        AppError::Forbidden(message)
    } else {
        AppError::Unauthorized(message)
    })
}

/// The picture, when the caller holds its owner token; `action` names what was refused.
pub async fn owner_only(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    query_token: Option<&str>,
    action: &str,
) -> Result<PictureRecord, AppError> {
    let (picture, role) = picture_and_role(state, id, headers, query_token).await?;
    require(
        role,
        Role::Owner,
        token_from(headers, query_token).is_some(),
        action,
    )?;
    Ok(picture)
}
