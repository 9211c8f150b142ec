//! The picture API: create (multipart upload), list, read, edit, delete, share links.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::access::{owner_only, picture_and_role};
use crate::auth::{Role, RoleTokens};
use crate::error::AppError;
use crate::pictures::{fresh_tokens, new_picture, picture_from_file};
use crate::state::AppState;
use crate::store::{PictureRecord, Visibility};
use crate::urls::BaseUrls;

/// A picture as the API shows it.
pub fn picture_json(p: &PictureRecord, urls: &BaseUrls) -> Value {
    json!({
        "id": p.id,
        "status": p.status,
        "title": p.title,
        "description": p.description,
        "width": p.width,
        "height": p.height,
        "error": p.error,
        "created_at": p.created_at,
        "visibility": p.visibility,
        "tile_format": p.tile_format,
        "progress": {"stage": p.stage, "done": p.done, "total": p.total},
        "tiles": {"dzi": urls.dzi(&p.id), "iiif": urls.iiif_info(&p.id)},
        "thumbnail": format!("{}/tiles/{}/thumbnail-256.{}", urls.public, p.id, p.tile_format.as_deref().unwrap_or("jpg")),
    })
}

/// A small text field of a multipart form, read up to `super::SMALL_BODY_BYTES` (a larger one
/// is refused as it arrives, never held whole).
async fn small_field(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| AppError::BadRequest(format!("the multipart body is malformed: {e}")))?
    {
        if bytes.len() + chunk.len() > super::SMALL_BODY_BYTES {
            return Err(AppError::TooLarge(format!(
                "the {name} field is over {} KiB",
                super::SMALL_BODY_BYTES >> 10
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| AppError::BadRequest(format!("the {name} field is not UTF-8 text")))
}

/// Import request body.
#[derive(Debug, Deserialize)]
pub struct ImportRequest {
    url: String,
    title: Option<String>,
}

/// `POST /api/pictures`: multipart field `file` (and optional `title`), or JSON
/// `{"url": "…", "title": "…"}` to import by URL.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<(StatusCode, Json<Value>), AppError> {
    use axum::extract::FromRequest;
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        let bytes = axum::body::to_bytes(request.into_body(), super::SMALL_BODY_BYTES)
            .await
            .map_err(|_| AppError::TooLarge("the JSON body is over 64 KiB".into()))?;
        let import: ImportRequest = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::BadRequest(format!("expected JSON {{\"url\": \"…\"}}: {e}")))?;
        return import_url(state, headers, import).await;
    }
    let mut multipart = Multipart::from_request(request, &state).await.map_err(|_| {
        AppError::UnsupportedMediaType(
            "send the picture as multipart/form-data with a field named \"file\", or JSON {\"url\": \"…\"}".into(),
        )
    })?;
    let max = state.config.max_upload_bytes;
    tokio::fs::create_dir_all(&state.uploads_dir).await?;
    let mut title = String::new();
    let mut received: Option<(tempfile::TempPath, String)> = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(format!("the multipart body is malformed: {e}")))?
    {
        match field.name() {
            Some("title") => title = small_field(&mut field, "title").await?,
            Some("file") => {
                let name = field.file_name().unwrap_or("picture").to_string();
                let temp = tempfile::Builder::new()
                    .prefix("multipart-")
                    .tempfile_in(&state.uploads_dir)?
                    .into_temp_path();
                let mut file = tokio::fs::File::create(&temp).await?;
                let mut written = 0u64;
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| AppError::BadRequest(format!("the upload was cut off: {e}")))?
                {
                    written += chunk.len() as u64;
                    if written > max {
                        // The client is still sending: what is left of the file is read
                        // and dropped (the body limit bounds it) so that it gets this
                        // answer rather than a connection closed under it.
                        while let Ok(Some(_)) = field.chunk().await {}
                        return Err(AppError::TooLarge(format!(
                            "the picture is larger than this server's limit of {} MiB",
                            max >> 20
                        )));
                    }
                    file.write_all(&chunk).await?;
                }
                file.flush().await?;
                state.metrics.uploaded(written);
                if written == 0 {
                    return Err(AppError::BadRequest("the file is empty".into()));
                }
                received = Some((temp, name));
            }
            _ => {}
        }
    }
    let (temp, name) = received
        .ok_or_else(|| AppError::BadRequest("no field named \"file\" in the form".into()))?;
    if title.is_empty() {
        title = name.clone();
    }
    let roles = [Role::Owner, Role::Edit, Role::Comment, Role::View];
    let (plain, hashed) = fresh_tokens(&roles);
    let path = temp.keep().map_err(|e| AppError::internal(e.error))?;
    let record = picture_from_file(&state, &path, &title, &name, &hashed).await?;
    Ok(created(&state, &headers, &record, &plain))
}

/// The 202 answer to a new picture: the picture, its tokens and share links.
fn created(
    state: &AppState,
    headers: &HeaderMap,
    record: &PictureRecord,
    plain: &RoleTokens,
) -> (StatusCode, Json<Value>) {
    let urls = BaseUrls::from_request(&state.config, headers);
    let mut body = picture_json(record, &urls);
    body["tokens"] = plain
        .iter()
        .map(|(r, t)| (r.as_str().to_string(), Value::from(t.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    body["links"] = urls.links(&record.id, plain).into();
    (StatusCode::ACCEPTED, Json(body))
}

/// Checks and starts an import: hostile URLs and non-pictures are refused here, at
/// once; the download itself is the first stage of the picture's job, so it survives
/// the process that took the request and runs where the workers run.
async fn import_url(
    state: AppState,
    headers: HeaderMap,
    import: ImportRequest,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let fetched = crate::import::fetch(&state.config.import, &import.url).await?;
    let name = fetched.name.clone();
    drop(fetched);
    let title = import
        .title
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| name.clone());
    let (plain, hashed) = fresh_tokens(&[Role::Owner, Role::Edit, Role::Comment, Role::View]);
    let record = new_picture(&state, &title, &name, 0, &hashed).await?;
    state
        .store
        .set_progress(&record.id, "downloading", 0, 0)
        .await?;
    state
        .queue
        .build_pyramid(&record.id, Some(&import.url))
        .await
        .map_err(AppError::internal)?;
    Ok(created(&state, &headers, &record, &plain))
}

/// Paging of the gallery.
#[derive(Debug, Deserialize)]
pub struct Page {
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /api/pictures`: ready public pictures, newest first (unlisted ones are reached
/// only through their links).
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(page): Query<Page>,
) -> Result<Json<Value>, AppError> {
    let per_page = page.per_page.unwrap_or(24).clamp(1, 100);
    let number = page.page.unwrap_or(1).max(1);
    // Pages past the last are empty, however far (the offset saturates).
    let offset = (number - 1).saturating_mul(per_page);
    let (pictures, total) = state.store.listed_pictures(per_page, offset).await?;
    let urls = BaseUrls::from_request(&state.config, &headers);
    Ok(Json(json!({
        "pictures": pictures.iter().map(|p| picture_json(p, &urls)).collect::<Vec<_>>(),
        "page": number,
        "per_page": per_page,
        "total": total,
    })))
}

/// A token in the query string, for links opened in a browser.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    /// The capability token.
    pub token: Option<String>,
}

/// `GET /api/pictures/{id}`: the picture and the caller's role.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Json<Value>, AppError> {
    let (picture, role) = picture_and_role(&state, &id, &headers, query.token.as_deref()).await?;
    let mut body = picture_json(&picture, &BaseUrls::from_request(&state.config, &headers));
    body["role"] = role.as_str().into();
    Ok(Json(body))
}

/// Editable fields.
#[derive(Debug, Deserialize)]
pub struct PictureEdit {
    title: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
}

/// `PATCH /api/pictures/{id}`: title, description and visibility (owner). Made unlisted,
/// the picture's tokenless connections are closed on every node.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    body: axum::body::Body,
) -> Result<Json<Value>, AppError> {
    // The owner is checked before a byte of the body is read.
    let before = owner_only(
        &state,
        &id,
        &headers,
        query.token.as_deref(),
        "editing the picture",
    )
    .await?;
    let bytes = axum::body::to_bytes(body, super::SMALL_BODY_BYTES)
        .await
        .map_err(|_| {
            AppError::TooLarge(format!(
                "the body is over {} KiB",
                super::SMALL_BODY_BYTES >> 10
            ))
        })?;
    let edit: PictureEdit = serde_json::from_slice(&bytes).map_err(|e| {
        AppError::BadRequest(format!(
            "expected JSON {{\"title\", \"description\", \"visibility\"}}: {e}"
        ))
    })?;
    let visibility = match edit.visibility.as_deref() {
        None => None,
        Some(name) => Some(Visibility::parse(name).ok_or_else(|| {
            AppError::BadRequest(format!(
                "visibility must be \"unlisted\" or \"public\", not {name:?}"
            ))
        })?),
    };
    let check = |v: &Option<String>, max: usize, what: &str| match v {
        Some(s) if s.chars().count() > max => Err(AppError::BadRequest(format!(
            "the {what} is longer than {max} characters"
        ))),
        _ => Ok(()),
    };
    check(&edit.title, 300, "title")?;
    check(&edit.description, 10_000, "description")?;
    state
        .store
        .update_details(
            &id,
            edit.title.as_deref(),
            edit.description.as_deref(),
            visibility,
        )
        .await?;
    if visibility == Some(Visibility::Unlisted) && before.visibility != Visibility::Unlisted {
        state.hub.made_unlisted(&id);
    }
    get(State(state), Path(id), headers, Query(query)).await
}

/// `DELETE /api/pictures/{id}`: the picture and every stored object (owner).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<StatusCode, AppError> {
    owner_only(
        &state,
        &id,
        &headers,
        query.token.as_deref(),
        "deleting the picture",
    )
    .await?;
    state.store.delete_picture(&id).await?;
    state.servable.gone(&id);
    state.tile_cache.forget_picture(&id);
    state.history.forget(&id);
    state.hub.announce_gone(&id);
    state.hub.deleted(&id);
    state
        .queue
        .delete_picture(&id)
        .await
        .map_err(AppError::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/pictures/{id}/links`: new share links for edit, comment and view; the old
/// ones stop working (owner).
pub async fn new_links(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Json<Value>, AppError> {
    owner_only(
        &state,
        &id,
        &headers,
        query.token.as_deref(),
        "making share links",
    )
    .await?;
    let (plain, hashed) = fresh_tokens(&[Role::Edit, Role::Comment, Role::View]);
    state.store.replace_tokens(&id, &hashed).await?;
    state.hub.links_revoked(
        &id,
        &[Role::Edit, Role::Comment, Role::View],
        "the owner replaced this picture's links; ask them for the new one",
    );
    let urls = BaseUrls::from_request(&state.config, &headers);
    Ok(Json(json!({
        "tokens": plain.iter().map(|(r, t)| (r.as_str().to_string(), Value::from(t.clone()))).collect::<serde_json::Map<_, _>>(),
        "links": urls.links(&id, &plain),
    })))
}
