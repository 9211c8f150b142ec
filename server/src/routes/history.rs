//! The annotation history over HTTP: the activity, a moment's frames (checkpoint and
//! updates, streamed) and state (JSON), one shape's changes, named versions, restores.
//! Anyone who may view a picture may read its history (it shows nothing the live
//! document did not); versions and restores need the edit or owner link.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Transact, TransactionMut, Update};

use super::access::{picture_and_role, require};
use crate::auth::{new_id, token_from, Role};
use crate::error::AppError;
use crate::history::cache::{state_line, LineKey};
use crate::history::checkpoint;
use crate::history::replay::{self, Use};
use crate::history::restore::Plan;
use crate::history::{author_key, HistoryError, Moment};
use crate::state::AppState;
use crate::store::times::{micros_to_text, now_micros, parse_time};
use crate::store::{ActivityQuery, ActivityRow, Author, Checkpoint, LogRow, VersionRow};

impl From<HistoryError> for AppError {
    fn from(e: HistoryError) -> Self {
        AppError::Internal(Box::new(e))
    }
}

/// `?seq=` or `?at=` (and `from=` for frames), as given.
#[derive(Debug, Default, Deserialize)]
pub struct MomentQuery {
    pub(super) seq: Option<String>,
    pub(super) at: Option<String>,
    from: Option<String>,
    encoding: Option<String>,
    pub(super) token: Option<String>,
}

fn parse_seq(name: &str, text: &str) -> Result<i64, AppError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|s| *s >= 0)
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "{name} must be a whole number from 0 (the empty document) up; got {text:?}"
            ))
        })
}

fn parse_at(name: &str, text: &str) -> Result<i64, AppError> {
    parse_time(text).ok_or_else(|| {
        AppError::BadRequest(format!(
            "{name} must be an ISO 8601 time such as 2026-03-14T10:42:00Z; got {text:?}"
        ))
    })
}

impl MomentQuery {
    /// Whether the frames' checkpoints go as stored (`encoding=v2`) rather than as
    /// v1 updates (`v1`, the default).
    fn v2(&self) -> Result<bool, AppError> {
        match self.encoding.as_deref() {
            None | Some("v1") => Ok(false),
            Some("v2") => Ok(true),
            Some(other) => Err(AppError::BadRequest(format!(
                "encoding must be v1 (Yjs updates as every client applies them, the default) or v2 (Yjs v2, as stored); got {other:?}"
            ))),
        }
    }

    pub(super) fn moment(&self) -> Result<Moment, AppError> {
        match (&self.seq, &self.at) {
            (Some(_), Some(_)) => Err(AppError::BadRequest(
                "give the moment as seq or as at, not both".into(),
            )),
            (Some(seq), None) => Ok(Moment::Seq(parse_seq("seq", seq)?)),
            (None, Some(at)) => Ok(Moment::At(parse_at("at", at)?)),
            (None, None) => Ok(Moment::Latest),
        }
    }
}

/// The seq of `moment` in `picture_id`'s log; a seq past the end is the client's fault.
pub(super) async fn resolve(
    state: &AppState,
    picture_id: &str,
    moment: Moment,
) -> Result<i64, AppError> {
    let latest = state
        .store
        .log_bounds(picture_id)
        .await?
        .latest
        .map_or(0, |l| l.0);
    match moment {
        Moment::Latest => Ok(latest),
        Moment::Seq(seq) if seq > latest => Err(AppError::BadRequest(format!(
            "the history of this picture ends at seq {latest}; there is no seq {seq}"
        ))),
        Moment::Seq(seq) => Ok(seq),
        Moment::At(at) => Ok(state.store.seq_at(picture_id, at).await?),
    }
}

/// The seq of `moment`, with the history's index far enough along to read that moment
/// from a checkpoint and at most one interval of updates. A time is found between
/// checkpoints, so for a time the index is brought up to date first; a seq the index
/// already covers needs nothing more (a restore to an earlier moment does not wait for
/// the index to take in the latest edits).
async fn indexed(state: &AppState, picture_id: &str, moment: Moment) -> Result<i64, AppError> {
    if matches!(moment, Moment::At(_)) {
        state.history.catch_up(picture_id).await?;
        return resolve(state, picture_id, moment).await;
    }
    let seq = resolve(state, picture_id, moment).await?;
    state.history.cover(picture_id, seq).await?;
    Ok(seq)
}

/// The picture's role for the caller; anyone who can view may read the history.
pub(super) async fn reader(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<Role, AppError> {
    let (_, role) = picture_and_role(state, id, headers, token).await?;
    require(
        role,
        Role::View,
        token_from(headers, token).is_some(),
        "reading the history",
    )?;
    Ok(role)
}

/// The caller's role, if it may change the history (edit, owner).
pub(super) async fn writer(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    token: Option<&str>,
    action: &str,
) -> Result<Role, AppError> {
    let (_, role) = picture_and_role(state, id, headers, token).await?;
    require(
        role,
        Role::Edit,
        token_from(headers, token).is_some(),
        action,
    )?;
    Ok(role)
}

fn author_json(author: &Author) -> Value {
    json!({"id": author.id, "name": author.name, "color": author.color})
}

/// `GET /api/pictures/{id}/history/state?seq=|at=`: the document at that moment.
pub async fn state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<MomentQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    reader(&state, &id, &headers, query.token.as_deref()).await?;
    let moment = query.moment()?;
    let mut timing = Timing::start();
    let seq = indexed(&state, &id, moment).await?;
    timing.lap("moment");
    // A moment a restore's dry run rebuilt is kept; a seek here is not (see `roots_at`).
    let (document, read) = match state.history.kept(&id, seq) {
        Some(roots) => {
            timing.lap("kept");
            let document =
                crate::history::cpu::request(move || replay::roots_document(&roots)).await?;
            (document, 0)
        }
        None => {
            let (replay, read) = state.history.replay_to(&id, seq, Use::Read).await?;
            timing.lap("replay");
            (
                crate::history::cpu::request(move || replay.document()).await?,
                read,
            )
        }
    };
    timing.lap("document");
    let mut response = Json(document).into_response();
    let headers = response.headers_mut();
    headers.insert("history-seq", HeaderValue::from(seq));
    headers.insert("history-updates-read", HeaderValue::from(read as u64));
    timing.put(headers);
    Ok(response)
}

fn line(value: &Value) -> Bytes {
    let mut text = value.to_string();
    text.push('\n');
    Bytes::from(text)
}

fn update_line(row: &LogRow) -> Bytes {
    line(&json!({
        "type": "update",
        "seq": row.seq,
        "at": micros_to_text(row.at),
        "author": author_json(&author_key(&row.author)),
        "role": row.role,
        "kind": if row.restored_to.is_some() { "restore" } else { "edit" },
        "restored_to": row.restored_to,
        "update": base64::engine::general_purpose::STANDARD.encode(&row.update),
    }))
}

/// The line of one checkpoint: its state as a Yjs v1 update, or v2 (as stored).
fn checkpoint_line(
    picture: &str,
    checkpoint: &Checkpoint,
    v2: bool,
) -> Result<Bytes, HistoryError> {
    let corrupt = || HistoryError::Corrupt {
        picture: picture.to_string(),
        seq: checkpoint.seq,
    };
    let state = match (checkpoint::unpack(picture, checkpoint)?, v2) {
        (checkpoint::State::V2(bytes), true) => bytes,
        (checkpoint::State::V1(bytes), true) => Update::decode_v1(&bytes)
            .map_err(|_| corrupt())?
            .encode_v2(),
        (state, false) => state.into_v1().map_err(|_| corrupt())?,
    };
    Ok(state_line(
        checkpoint.seq,
        checkpoint.base,
        checkpoint.at,
        v2,
        &state,
    ))
}

/// The lines of a checkpoint chain (a whole state, then the deltas on it, each a line
/// that a client applies in order, as it applies updates; the empty document for no
/// chain). Lines are made once per checkpoint and kept (`history::cache`).
async fn checkpoint_lines(
    state: &AppState,
    picture: &str,
    chain: Vec<Checkpoint>,
    v2: bool,
) -> Result<Vec<Bytes>, AppError> {
    if chain.is_empty() {
        let empty = crate::history::replay::Replay::new(Use::Pack);
        let state = if v2 { empty.state_v2() } else { empty.state() };
        return Ok(vec![state_line(0, None, None, v2, &state)]);
    }
    let cache = state.history.lines();
    let key = |c: &Checkpoint| LineKey {
        picture: picture.to_string(),
        seq: c.seq,
        base: c.base,
        v2,
    };
    let mut lines: Vec<Option<Bytes>> = chain.iter().map(|c| cache.get(&key(c))).collect();
    let missing: Vec<(usize, Checkpoint)> = chain
        .into_iter()
        .enumerate()
        .filter(|(i, _)| lines[*i].is_none())
        .collect();
    if !missing.is_empty() {
        let id = picture.to_string();
        let made = crate::history::cpu::request(move || {
            missing
                .into_iter()
                .map(|(i, c)| Ok((i, checkpoint_line(&id, &c, v2)?, c)))
                .collect::<Result<Vec<_>, HistoryError>>()
        })
        .await??;
        let counter = &state.history.metrics().checkpoint_lines_made;
        for (i, made, c) in made {
            counter.fetch_add(1, Ordering::Relaxed);
            cache.put(key(&c), made.clone());
            lines[i] = Some(made);
        }
    }
    Ok(lines.into_iter().flatten().collect())
}

/// `GET /api/pictures/{id}/history/frames?seq=|at=[&from=]`: NDJSON, streamed: the
/// checkpoint at or before the moment and every update after it up to the moment (or,
/// with `from`, the updates after `from`).
pub async fn frames(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<MomentQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    reader(&state, &id, &headers, query.token.as_deref()).await?;
    let moment = query.moment()?;
    let from = query
        .from
        .as_deref()
        .map(|f| parse_seq("from", f))
        .transpose()?;
    let v2 = query.v2()?;
    let seq = indexed(&state, &id, moment).await?;
    let latest = resolve(&state, &id, Moment::Latest).await?;
    let (after, first) = match from {
        Some(from) => (from.min(seq), Vec::new()),
        None => {
            let chain = state.store.checkpoint_chain(&id, seq).await?;
            (
                chain.last().map_or(0, |c| c.seq),
                checkpoint_lines(&state, &id, chain, v2).await?,
            )
        }
    };
    // Rows go from the database to the socket through a small channel: memory stays
    // bounded whatever the length of the log.
    let (rows_in, rows_out) = mpsc::channel::<LogRow>(64);
    let (failed_in, failed_out) = oneshot::channel::<String>();
    let store = state.store.clone();
    let picture = id.clone();
    tokio::spawn(async move {
        if let Err(e) = store.stream_log(&picture, after, seq, rows_in).await {
            tracing::error!(picture, error = %e, "could not stream the history");
            crate::metrics::failed(crate::metrics::Failure::HistoryStream);
            let _ = failed_in.send("the history could not be read to the end".into());
        }
    });
    let counted = from.is_none();
    let history = state.history.clone();
    let rows = futures_util::stream::unfold(rows_out, |mut rows| async move {
        rows.recv().await.map(|row| (row, rows))
    })
    .map(move |row| {
        if counted {
            history
                .metrics()
                .updates_read
                .fetch_add(1, Ordering::Relaxed);
        }
        update_line(&row)
    });
    let end = futures_util::stream::once(async move {
        match failed_out.await {
            Ok(detail) => line(&json!({"type": "error", "detail": detail})),
            Err(_) => line(&json!({"type": "end", "seq": seq, "latest_seq": latest})),
        }
    });
    let body = futures_util::stream::iter(first)
        .chain(rows)
        .chain(end)
        .map(Ok::<_, Infallible>);
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// `?limit=&before=&author=&since=&until=` of the activity.
#[derive(Debug, Default, Deserialize)]
pub struct ActivityParams {
    limit: Option<String>,
    before: Option<String>,
    author: Option<String>,
    since: Option<String>,
    until: Option<String>,
    token: Option<String>,
}

fn entry_json(a: &ActivityRow) -> Value {
    let shape_ids: Vec<&String> = a
        .added
        .iter()
        .chain(&a.changed)
        .chain(a.deleted.iter().filter(|id| !a.added.contains(id)))
        .take(200)
        .collect();
    json!({
        "from_seq": a.from_seq,
        "to_seq": a.to_seq,
        "from": micros_to_text(a.from_at),
        "to": micros_to_text(a.to_at),
        "author": author_json(&a.author),
        "updates": a.updates,
        "counts": {
            "shapes_added": a.added.len(),
            "shapes_changed": a.changed.len(),
            "shapes_deleted": a.deleted.len(),
            "comments": a.comments,
        },
        "shape_ids": shape_ids,
        "restore": a.restored_to.map(|to| json!({"to_seq": to})),
    })
}

/// `GET /api/pictures/{id}/history`: who did what, when; newest first, paged.
pub async fn activity(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<ActivityParams>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    reader(&state, &id, &headers, params.token.as_deref()).await?;
    let limit = match &params.limit {
        None => 50,
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=200).contains(l))
            .ok_or_else(|| {
                AppError::BadRequest(format!("limit must be from 1 to 200; got {text:?}"))
            })?,
    };
    let query = ActivityQuery {
        limit,
        before: params
            .before
            .as_deref()
            .map(|b| parse_seq("before", b))
            .transpose()?,
        author_id: params.author.clone().filter(|a| !a.is_empty()),
        since: params
            .since
            .as_deref()
            .map(|t| parse_at("since", t))
            .transpose()?,
        until: params
            .until
            .as_deref()
            .map(|t| parse_at("until", t))
            .transpose()?,
    };
    state.history.catch_up(&id).await?;
    let entries = state.store.activity(&id, &query).await?;
    let bounds = state.store.log_bounds(&id).await?;
    let authors = state.store.authors(&id).await?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.from_seq))
        .flatten();
    Ok(Json(json!({
        "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
        "next_before": next_before,
        "first_seq": bounds.first.map_or(0, |f| f.0),
        "latest_seq": bounds.latest.map_or(0, |l| l.0),
        "first_at": bounds.first.map(|f| micros_to_text(f.1)),
        "latest_at": bounds.latest.map(|l| micros_to_text(l.1)),
        "authors": authors.iter().map(|(a, n)| {
            let mut a = author_json(a);
            a["updates"] = json!(n);
            a
        }).collect::<Vec<_>>(),
    })))
}

/// `GET /api/pictures/{id}/shapes/{shape_id}/history`: every change to one shape.
pub async fn shape(
    State(state): State<AppState>,
    Path((id, shape_id)): Path<(String, String)>,
    Query(query): Query<MomentQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    reader(&state, &id, &headers, query.token.as_deref()).await?;
    state.history.catch_up(&id).await?;
    let changes = state.store.shape_changes(&id, &shape_id).await?;
    if changes.is_empty() {
        return Err(AppError::NotFound(format!(
            "there is no shape {shape_id:?} in this picture's history"
        )));
    }
    let mut before: Option<Value> = None;
    let mut out = Vec::with_capacity(changes.len());
    for change in &changes {
        let after: Option<Value> = change
            .after
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok());
        if after == before {
            continue; // an update that touched the shape and left it as it was
        }
        let kind = match (&before, &after) {
            (None, Some(_)) => "created",
            (_, None) => "deleted",
            _ => "changed",
        };
        let keys = |v: &Option<Value>| {
            v.as_ref()
                .and_then(Value::as_object)
                .map(|o| o.keys().cloned().collect::<HashSet<_>>())
                .unwrap_or_default()
        };
        let mut fields: Vec<String> = keys(&before)
            .union(&keys(&after))
            // `modified` only says when: every change sets it.
            .filter(|k| k.as_str() != "modified")
            .filter(|k| {
                before.as_ref().and_then(|b| b.get(k.as_str()))
                    != after.as_ref().and_then(|a| a.get(k.as_str()))
            })
            .cloned()
            .collect();
        fields.sort();
        out.push(json!({
            "seq": change.seq,
            "at": micros_to_text(change.at),
            "author": author_json(&author_key(&change.author)),
            "kind": kind,
            "fields": fields,
            "before": before,
            "after": after,
            "restore": change.restored_to.map(|to| json!({"to_seq": to})),
        }));
        before = after;
    }
    let deleted_at = changes
        .last()
        .filter(|c| c.after.is_none())
        .map(|c| micros_to_text(c.at));
    Ok(Json(json!({
        "shape_id": shape_id,
        "changes": out,
        "deleted_at": deleted_at,
    })))
}

/// Who a version or restore is by, as the browser says (there are no accounts).
#[derive(Debug, Default, Deserialize)]
pub struct AuthorBody {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: String,
}

impl AuthorBody {
    /// Who, from separate fields (a query string).
    pub(super) fn from_parts(id: String, name: String, color: String) -> AuthorBody {
        AuthorBody { id, name, color }
    }

    pub(super) fn author(self, role: Role) -> Author {
        let cut = |s: String, n: usize| s.chars().take(n).collect::<String>();
        Author {
            id: cut(self.id, 64),
            name: if self.name.trim().is_empty() {
                format!("someone with the {} link", role.as_str())
            } else {
                cut(self.name, 100)
            },
            color: cut(self.color, 32),
        }
    }
}

/// `POST …/versions` body.
#[derive(Debug, Deserialize)]
pub struct NewVersion {
    name: String,
    seq: Option<i64>,
    author: Option<AuthorBody>,
}

async fn version_json(state: &AppState, id: &str, v: &VersionRow) -> Result<Value, AppError> {
    let at = if v.seq > 0 {
        state
            .store
            .log_rows(id, v.seq - 1, Some(v.seq), 1)
            .await?
            .first()
            .map(|r| micros_to_text(r.at))
    } else {
        None
    };
    Ok(json!({
        "id": v.id,
        "name": v.name,
        "seq": v.seq,
        "at": at,
        "created_at": micros_to_text(v.created_at),
        "author": author_json(&v.author),
    }))
}

/// The JSON body of a POST, with a sentence when it is not what we take.
pub(super) fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::BadRequest(format!("the body is not the JSON this takes: {e}")))
}

/// `POST /api/pictures/{id}/versions`: names a moment (edit, owner).
pub async fn create_version(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<MomentQuery>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let role = writer(
        &state,
        &id,
        &headers,
        query.token.as_deref(),
        "saving a version",
    )
    .await?;
    let new: NewVersion = body(&bytes)?;
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "a version needs a name of 1 to 200 characters".into(),
        ));
    }
    state.history.catch_up(&id).await?;
    let seq = resolve(&state, &id, new.seq.map_or(Moment::Latest, Moment::Seq)).await?;
    if new.seq.is_some_and(|s| s < 0) {
        return Err(AppError::BadRequest("seq must be 0 or more".into()));
    }
    // A checkpoint at the version: reading it back costs one read.
    if seq > 0 {
        let (replay, _) = state.history.replay_to(&id, seq, Use::Pack).await?;
        let whole = crate::history::cpu::request(move || checkpoint::pack(seq, &replay)).await?;
        state.store.save_checkpoint(&id, &whole).await?;
    }
    let version = VersionRow {
        id: new_id(),
        name,
        seq,
        created_at: now_micros(),
        author: new.author.unwrap_or_default().author(role),
    };
    state.store.create_version(&id, &version).await?;
    Ok((
        StatusCode::CREATED,
        Json(version_json(&state, &id, &version).await?),
    ))
}

/// `GET /api/pictures/{id}/versions`.
pub async fn versions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<MomentQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    reader(&state, &id, &headers, query.token.as_deref()).await?;
    let mut out = Vec::new();
    for v in state.store.versions(&id).await? {
        out.push(version_json(&state, &id, &v).await?);
    }
    Ok(Json(json!({ "versions": out })))
}

/// `POST …/restore` body.
#[derive(Debug, Deserialize)]
pub struct RestoreBody {
    seq: Option<i64>,
    at: Option<String>,
    version: Option<String>,
    shape_ids: Option<Vec<String>>,
    #[serde(default)]
    dry_run: bool,
    author: Option<AuthorBody>,
}

/// `POST /api/pictures/{id}/restore`: appends one update that turns the document into
/// the one at a moment (or only some shapes and their threads); `dry_run` only tells.
pub async fn restore(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<MomentQuery>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AppError> {
    let role = writer(
        &state,
        &id,
        &headers,
        query.token.as_deref(),
        "restoring a moment",
    )
    .await?;
    let asked: RestoreBody = body(&bytes)?;
    let moment = match (asked.seq, &asked.at, &asked.version) {
        (Some(seq), None, None) if seq >= 0 => Moment::Seq(seq),
        (Some(seq), None, None) => {
            return Err(AppError::BadRequest(format!(
                "seq must be 0 or more; got {seq}"
            )))
        }
        (None, Some(at), None) => Moment::At(parse_at("at", at)?),
        (None, None, Some(version)) => {
            let found = state.store.versions(&id).await?;
            let v = found.iter().find(|v| &v.id == version).ok_or_else(|| {
                AppError::NotFound(format!("this picture has no version {version:?}"))
            })?;
            Moment::Seq(v.seq)
        }
        _ => {
            return Err(AppError::BadRequest(
                "say which moment to restore: exactly one of seq, at or version".into(),
            ))
        }
    };
    let only: Option<HashSet<String>> = asked.shape_ids.map(|ids| ids.into_iter().collect());
    if only.as_ref().is_some_and(|ids| ids.len() > 10_000) {
        return Err(AppError::BadRequest(
            "at most 10,000 shape ids at once".into(),
        ));
    }
    let mut timing = Timing::start();
    let to = indexed(&state, &id, moment).await?;
    timing.lap("moment");
    let (target, read) = state.history.roots_at(&id, to).await?;
    timing.lap(if read.is_some() { "replay" } else { "kept" });
    let dry_run = asked.dry_run;
    let author = asked.author.unwrap_or_default().author(role);
    let mut planned = Plan::default();
    let (mut plan_ms, mut apply_ms) = (0.0, 0.0);
    let seq = state
        .hub
        .change(&id, author, role, Some(to), |doc, _| {
            let started = std::time::Instant::now();
            let shapes = doc.get_or_insert_map("shapes");
            let comments = doc.get_or_insert_map("comments");
            let current = {
                let txn = doc.transact();
                (shapes.to_json(&txn), comments.to_json(&txn))
            };
            planned = Plan::new(&current, &target, only.as_ref());
            plan_ms = started.elapsed().as_secs_f64() * 1e3;
            if dry_run || planned.is_empty() {
                return None;
            }
            let mut txn: TransactionMut = doc.transact_mut();
            planned.apply(&mut txn, &shapes, &comments);
            let update = txn.encode_update_v1();
            apply_ms = started.elapsed().as_secs_f64() * 1e3 - plan_ms;
            Some(update)
        })
        .await?;
    let change_ms = timing.lap("change");
    timing.add("plan", plan_ms);
    timing.add("apply", apply_ms);
    // What the room spent besides the edit: waiting for its document, and logging.
    timing.add("log", (change_ms - plan_ms - apply_ms).max(0.0));
    if seq.is_none() && !dry_run && !planned.is_empty() {
        return Err(AppError::internal(
            "the restore was applied but could not be logged",
        ));
    }
    let mut response = Json(json!({
        "restored_to": to,
        "dry_run": dry_run,
        "seq": seq,
        "counts": planned.counts,
        "shape_ids": planned.shape_ids,
    }))
    .into_response();
    timing.put(response.headers_mut());
    Ok(response)
}

/// Where a request's time went, as a `Server-Timing` header (milliseconds per phase;
/// browsers' developer tools and the history benchmark read it).
struct Timing {
    last: std::time::Instant,
    phases: Vec<(&'static str, f64)>,
}

impl Timing {
    fn start() -> Timing {
        Timing {
            last: std::time::Instant::now(),
            phases: Vec::new(),
        }
    }

    /// Ends phase `name` now; its milliseconds.
    fn lap(&mut self, name: &'static str) -> f64 {
        let ms = self.last.elapsed().as_secs_f64() * 1e3;
        self.last = std::time::Instant::now();
        self.add(name, ms);
        ms
    }

    fn add(&mut self, name: &'static str, ms: f64) {
        self.phases.push((name, ms));
    }

    fn put(&self, headers: &mut HeaderMap) {
        let text = self
            .phases
            .iter()
            .map(|(name, ms)| format!("{name};dur={ms:.1}"))
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(value) = HeaderValue::from_str(&text) {
            headers.insert("server-timing", value);
        }
    }
}
