//! Annotations in and out over HTTP: the W3C collection (JSON-LD) and CSV of a picture's
//! annotations, now or at a moment of its history; the IIIF manifest and the canvas's
//! annotation page (open to other origins, as viewers fetch them from elsewhere); and
//! import (edit and owner), made as one document update, delivered live.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use yrs::updates::decoder::Decode;
use yrs::{Transact, Update};

use super::access::{picture_and_role, require};
use super::history::{resolve, writer, AuthorBody, MomentQuery};
use crate::auth::{token_from, Role};
use crate::error::AppError;
use crate::history::replay::{document_json, Use};
use crate::history::Moment;
use crate::interchange::export::{self, Flavor, Picture};
use crate::interchange::incoming::{self, IncomingError};
use crate::interchange::model::Annotations;
use crate::interchange::{csv, update_of};
use crate::state::AppState;
use crate::store::times::now_micros;
use crate::store::PictureRecord;
use crate::urls::BaseUrls;

/// `?seq=|at=`, `page=` and `token=`.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(flatten)]
    moment: MomentQuery,
    page: Option<String>,
}

impl From<IncomingError> for AppError {
    fn from(e: IncomingError) -> Self {
        match e {
            IncomingError::NotAnnotations(m) => AppError::BadRequest(m),
            too_many @ IncomingError::TooMany { .. } => AppError::TooLarge(too_many.to_string()),
        }
    }
}

/// The picture, once the caller may view it.
async fn viewable(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<PictureRecord, AppError> {
    let (picture, role) = picture_and_role(state, id, headers, token).await?;
    require(
        role,
        Role::View,
        token_from(headers, token).is_some(),
        "reading the annotations",
    )?;
    Ok(picture)
}

/// The document at the moment asked for (the live one by default), and the query that
/// names that moment again on the links written.
async fn document(
    state: &AppState,
    id: &str,
    query: &MomentQuery,
) -> Result<(Value, Vec<(&'static str, String)>), AppError> {
    let mut carried = Vec::new();
    let document = match query.moment()? {
        Moment::Latest => state.hub.read(id, document_json).await?,
        moment => {
            state.history.catch_up(id).await?;
            let seq = resolve(state, id, moment).await?;
            carried.push(("seq", seq.to_string()));
            let (replay, _) = state.history.replay_to(id, seq, Use::Read).await?;
            crate::history::cpu::request(move || replay.document()).await?
        }
    };
    if let Some(token) = &query.token {
        carried.push(("token", token.clone()));
    }
    Ok((document, carried))
}

fn query_text(pairs: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        text.push(if i == 0 { '?' } else { '&' });
        text.push_str(key);
        text.push('=');
        text.push_str(&export::encode(value));
    }
    text
}

/// What an export writes from: the picture once the caller may view it, its document
/// at the moment asked for, and the query its links carry.
async fn exported(
    state: &AppState,
    id: &str,
    query: &MomentQuery,
    headers: &HeaderMap,
) -> Result<(PictureRecord, Value, String), AppError> {
    let record = viewable(state, id, headers, query.token.as_deref()).await?;
    let (document, carried) = document(state, id, query).await?;
    Ok((record, document, query_text(&carried)))
}

fn picture<'a>(record: &'a PictureRecord, urls: &'a BaseUrls, query: String) -> Picture<'a> {
    Picture {
        id: &record.id,
        title: &record.title,
        description: &record.description,
        size: record.width.zip(record.height),
        tile_extension: record.tile_format.as_deref().unwrap_or("jpg"),
        urls,
        query,
    }
}

/// A JSON answer that any origin may read, with its content type.
fn shared(value: Value, content_type: &'static str) -> Response {
    let mut response = Json(value).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::VARY,
        HeaderValue::from_static("Host, X-Forwarded-Host, X-Forwarded-Proto"),
    );
    response
}

/// `GET /api/pictures/{id}/annotations.jsonld[?page=n][&seq=|at=]`: the W3C collection
/// with its first page, or page `n`.
pub async fn jsonld(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (record, document, carried) = exported(&state, &id, &query.moment, &headers).await?;
    let urls = BaseUrls::from_request(&state.config, &headers);
    let picture = picture(&record, &urls, carried);
    let items = export::items(&picture, Flavor::W3c, &Annotations::read(&document));
    let body = match query.page.as_deref() {
        None => export::collection(&picture, &items),
        Some(n) => {
            let n: usize = n.trim().parse().map_err(|_| {
                AppError::BadRequest(format!("page must be a whole number from 0; got {n:?}"))
            })?;
            export::page(&picture, &items, n, false).ok_or_else(|| {
                AppError::NotFound(format!(
                    "there is no page {n}: the {} annotations fill pages 0 to {}",
                    items.len(),
                    items.len().div_ceil(export::PAGE_SIZE).max(1) - 1
                ))
            })?
        }
    };
    Ok(shared(
        body,
        "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"",
    ))
}

/// A file name made of the title's letters and digits.
fn file_name(record: &PictureRecord) -> String {
    let stem: String = record
        .title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let stem = stem.trim_matches('-');
    let stem = if stem.is_empty() { &record.id } else { stem };
    format!(
        "{}-annotations.csv",
        stem.chars().take(60).collect::<String>()
    )
}

/// `GET /api/pictures/{id}/annotations.csv[?seq=|at=]`: one row per comment message.
pub async fn csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (record, document, _) = exported(&state, &id, &query.moment, &headers).await?;
    let text = csv::comments(&Annotations::read(&document));
    let disposition = format!("attachment; filename=\"{}\"", file_name(&record));
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).map_err(AppError::internal)?,
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    Ok((headers, text).into_response())
}

/// `GET /iiif/{id}/manifest.json`: the IIIF Presentation 3 manifest.
pub async fn manifest(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<MomentQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let record = viewable(&state, &id, &headers, query.token.as_deref()).await?;
    let urls = BaseUrls::from_request(&state.config, &headers);
    let carried: Vec<(&str, String)> = query.token.iter().map(|t| ("token", t.clone())).collect();
    let picture = picture(&record, &urls, query_text(&carried));
    let manifest = export::manifest(&picture).ok_or_else(|| {
        AppError::NotFound(format!(
            "picture {id:?} has no tiles yet; its manifest is made once it is tiled"
        ))
    })?;
    Ok(shared(
        manifest,
        "application/ld+json;profile=\"http://iiif.io/api/presentation/3/context.json\"",
    ))
}

/// `GET /iiif/{id}/annotations.json[?seq=|at=]`: the canvas's annotations as a IIIF
/// AnnotationPage.
pub async fn iiif_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<MomentQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (record, document, carried) = exported(&state, &id, &query, &headers).await?;
    let urls = BaseUrls::from_request(&state.config, &headers);
    let picture = picture(&record, &urls, carried);
    let items = export::items(&picture, Flavor::Iiif, &Annotations::read(&document));
    Ok(shared(
        export::iiif_page(&picture, items),
        "application/ld+json;profile=\"http://iiif.io/api/presentation/3/context.json\"",
    ))
}

/// `POST …/annotations` query: the dry run, who imports, the token.
#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    #[serde(default)]
    dry_run: Option<String>,
    token: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    author_id: Option<String>,
    #[serde(default)]
    color: Option<String>,
}

/// `POST /api/pictures/{id}/annotations[?dry_run=true]`: W3C annotations, a page or a
/// collection, an Annotorious export or a IIIF AnnotationPage, added as ONE document
/// update (one undo step, one history entry) that every connected client receives.
pub async fn import(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AppError> {
    let role = writer(
        &state,
        &id,
        &headers,
        query.token.as_deref(),
        "importing annotations",
    )
    .await?;
    let dry_run = match query.dry_run.as_deref().map(str::trim) {
        None | Some("false" | "0" | "") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "dry_run must be true or false; got {other:?}"
            )))
        }
    };
    let root: Value = serde_json::from_slice(&bytes).map_err(|e| {
        AppError::BadRequest(format!(
            "the body is not JSON ({e}); post W3C annotations as JSON"
        ))
    })?;
    let record = state
        .store
        .picture(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no picture {id:?}")))?;
    let author = AuthorBody::from_parts(
        query.author_id.unwrap_or_default(),
        query.author.unwrap_or_default(),
        query.color.unwrap_or_default(),
    )
    .author(role);
    let context = incoming::Context {
        size: record.width.zip(record.height),
        now_ms: now_micros() as f64 / 1000.0,
        most: state.config.max_import_annotations,
        importer: (&author.name, &author.id),
    };
    let incoming = incoming::read(&root, context)?;
    let empty = incoming.shapes.is_empty() && incoming.threads.is_empty();
    let mut seq = None;
    if !dry_run && !empty {
        let update = update_of(&incoming);
        let most = state.hub.limits().session.max_document_bytes;
        let mut past_limit = None;
        seq = state
            .hub
            .change(&id, author, role, None, |doc, bytes| {
                if bytes + update.len() > most {
                    past_limit = Some(bytes + update.len());
                    return None;
                }
                let decoded = Update::decode_v1(&update).ok()?;
                doc.transact_mut().apply_update(decoded).ok()?;
                Some(update)
            })
            .await?;
        if let Some(would_be) = past_limit {
            return Err(AppError::TooLarge(format!(
                "the import would make the annotation document {:.1} MiB; a document may hold {} MiB",
                would_be as f64 / f64::from(1 << 20),
                most >> 20
            )));
        }
        if seq.is_none() {
            return Err(AppError::internal(
                "the import was applied but could not be logged",
            ));
        }
    }
    let answer = json!({
        "dry_run": dry_run,
        "seq": seq,
        "created": {
            "shapes": incoming.shapes.len(),
            "threads": incoming.threads.len(),
            "messages": incoming.messages(),
        },
        "annotations": incoming.made,
        "skipped": incoming.skipped.iter().map(|s| json!({"id": s.id, "reason": s.reason})).collect::<Vec<_>>(),
    });
    let status = if dry_run || empty {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(answer)).into_response();
    if let Some(seq) = seq {
        response.headers_mut().insert(
            HeaderName::from_static("history-seq"),
            HeaderValue::from(seq),
        );
    }
    Ok(response)
}
