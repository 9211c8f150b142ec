//! Resumable uploads, tus 1.0.0 (core, creation, creation-with-upload, termination,
//! expiration) under `/api/uploads`. Bytes go straight to a file; the offset recorded
//! is what reached the disk, so a dropped connection resumes where it stopped. A
//! finished upload becomes a picture: the final PATCH (and later HEADs) answer its id in
//! `Picture-Id`; the owner token comes with the creation response.
//!
//! Every request after the creation must carry that owner token, as `Authorization:
//! Bearer` or as `?token=`: the `Location` answered carries it in its query, so stock tus
//! clients, which use `Location` as it is, send it without knowing. New uploads are
//! held to per-address quotas, and refused with 507 when the disk cannot hold them.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, Extensions, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::pictures::TokenQuery;
use crate::auth::{hash_token, new_id, new_token, token_from, Role};
use crate::error::AppError;
use crate::pictures::{fresh_tokens, picture_from_file};
use crate::state::AppState;
use crate::store::times::now_rfc3339;
use crate::store::UploadRecord;
use crate::uploads::{admit, now_unix, remove_upload};
use crate::urls::BaseUrls;

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration";
const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

fn tus_response(status: StatusCode) -> Response {
    let mut r = status.into_response();
    r.headers_mut()
        .insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    r
}

fn set(r: &mut Response, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        r.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// An error with the tus headers a client expects on every answer.
fn tus_error(e: AppError) -> Response {
    let mut r = e.into_response();
    r.headers_mut()
        .insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    r
}

/// The 412 answer for a request without `Tus-Resumable: 1.0.0`, if it lacks it.
fn version_error(headers: &HeaderMap) -> Option<Response> {
    if headers.get("tus-resumable").and_then(|v| v.to_str().ok()) == Some(TUS_VERSION) {
        return None;
    }
    let mut r =
        AppError::PreconditionFailed(format!("send Tus-Resumable: {TUS_VERSION}")).into_response();
    r.headers_mut()
        .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    Some(r)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn http_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `Upload-Metadata` pairs, values base64-decoded.
fn metadata(raw: &str) -> Result<Vec<(String, String)>, AppError> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, ' ');
            let key = parts.next().unwrap_or_default().to_string();
            let value = match parts.next() {
                Some(v) => base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .map_err(|_| {
                        AppError::BadRequest(format!(
                            "Upload-Metadata value of {key:?} is not base64"
                        ))
                    })?,
                None => Vec::new(),
            };
            Ok((key, String::from_utf8_lossy(&value).into_owned()))
        })
        .collect()
}

/// `OPTIONS /api/uploads`: what this server supports.
pub async fn options(State(state): State<AppState>) -> Response {
    let mut r = tus_response(StatusCode::NO_CONTENT);
    set(&mut r, "tus-version", TUS_VERSION);
    set(&mut r, "tus-extension", EXTENSIONS);
    set(&mut r, "tus-max-size", state.config.max_upload_bytes);
    r
}

/// `POST /api/uploads`: creates an upload, optionally with its first bytes.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Body,
) -> Response {
    if let Some(r) = version_error(&headers) {
        return r;
    }
    let peer = extensions.get::<ConnectInfo<SocketAddr>>();
    let address = crate::rate::client_address(&state.config, &headers, peer);
    match create_inner(&state, &headers, address, body).await {
        Ok(r) => r,
        Err(e) => tus_error(e),
    }
}

async fn create_inner(
    state: &AppState,
    headers: &HeaderMap,
    address: Option<std::net::IpAddr>,
    body: Body,
) -> Result<Response, AppError> {
    if headers.contains_key("upload-defer-length") {
        return Err(AppError::BadRequest(
            "Upload-Defer-Length is not supported; send Upload-Length".into(),
        ));
    }
    let length = header_u64(headers, "upload-length").ok_or_else(|| {
        AppError::BadRequest("send Upload-Length with the size of the file in bytes".into())
    })?;
    let max = state.config.max_upload_bytes;
    if length > max {
        return Err(AppError::TooLarge(format!(
            "the file is {length} bytes, over this server's limit of {} MiB",
            max >> 20
        )));
    }
    if length == 0 {
        return Err(AppError::BadRequest("the file is empty".into()));
    }
    let raw_metadata = headers
        .get("upload-metadata")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    metadata(&raw_metadata)?;
    tokio::fs::create_dir_all(&state.uploads_dir).await?;
    admit(state, address, length).await?;
    let id = new_id();
    let owner = new_token();
    let expires_at = now_unix() + state.config.upload_expiry.as_secs() as i64;
    tokio::fs::write(state.uploads_dir.join(format!("{id}.part")), b"").await?;
    let record = UploadRecord {
        id: id.clone(),
        length,
        offset: 0,
        metadata: raw_metadata,
        created_at: now_rfc3339(),
        expires_at,
        owner_hash: hash_token(&owner),
        picture_id: None,
        address: address.map(|a| a.to_string()),
    };
    state.store.create_upload(&record).await?;
    let urls = BaseUrls::from_request(&state.config, headers);
    let mut offset = None;
    let mut picture = None;
    let has_body = header_u64(headers, "content-length").unwrap_or(0) > 0
        || headers.contains_key(header::TRANSFER_ENCODING);
    if has_body {
        check_content_type(headers)?;
        let locks = state.upload_locks.clone();
        let _guard = locks.lock(&id);
        let (o, p) = append(state, record, body).await?;
        offset = Some(o);
        picture = p;
    }
    let mut r = tus_response(StatusCode::CREATED);
    set(
        &mut r,
        "location",
        format!("{}/api/uploads/{id}?token={owner}", urls.public),
    );
    set(&mut r, "upload-expires", http_date(expires_at));
    set(&mut r, "picture-owner-token", owner);
    if let Some(o) = offset {
        set(&mut r, "upload-offset", o);
    }
    if let Some(p) = picture {
        set(&mut r, "picture-id", p);
    }
    Ok(r)
}

fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        == Some(OFFSET_CONTENT_TYPE);
    if ok {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!(
            "send the bytes with Content-Type: {OFFSET_CONTENT_TYPE}"
        )))
    }
}

/// An upload, when the request carries its owner token: 404 when there is none, 401
/// without a token, 403 with another.
async fn owned_upload(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    query: &TokenQuery,
) -> Result<UploadRecord, AppError> {
    let upload = state
        .store
        .upload(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no upload {id:?}")))?;
    match token_from(headers, query.token.as_deref()) {
        None => Err(AppError::Unauthorized(
            "send the upload's owner token (Authorization: Bearer, or the ?token= of its Location)"
                .into(),
        )),
        Some(token) if hash_token(&token) != upload.owner_hash => Err(AppError::Forbidden(
            "this token is not the owner token of this upload".into(),
        )),
        Some(_) => Ok(upload),
    }
}

/// An upload still alive, with its owner token: as `owned_upload`, and 410 once expired.
async fn live_upload(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    query: &TokenQuery,
) -> Result<UploadRecord, AppError> {
    let upload = owned_upload(state, id, headers, query).await?;
    if upload.picture_id.is_none() && upload.expires_at < now_unix() {
        return Err(AppError::Gone("this upload expired; start again".into()));
    }
    Ok(upload)
}

/// `HEAD /api/uploads/{id}`: how far it got.
pub async fn head(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = version_error(&headers) {
        return r;
    }
    // A client resuming after a dropped connection asks at once; answer with the offset
    // its cut PATCH stored, not the one from before it.
    state
        .upload_locks
        .settled(&id, std::time::Duration::from_secs(5))
        .await;
    match live_upload(&state, &id, &headers, &query).await {
        Ok(upload) => {
            let mut r = tus_response(StatusCode::OK);
            set(&mut r, "upload-offset", upload.offset);
            set(&mut r, "upload-length", upload.length);
            set(&mut r, "cache-control", "no-store");
            if !upload.metadata.is_empty() {
                set(&mut r, "upload-metadata", &upload.metadata);
            }
            match upload.picture_id {
                Some(p) => set(&mut r, "picture-id", p),
                None => set(&mut r, "upload-expires", http_date(upload.expires_at)),
            }
            r
        }
        // HEAD answers carry no body: status and tus headers only.
        Err(e) => {
            let status = e.into_response().status();
            tus_response(status)
        }
    }
}

/// `PATCH /api/uploads/{id}`: appends bytes at `Upload-Offset`.
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(r) = version_error(&headers) {
        return r;
    }
    let result = async {
        check_content_type(&headers)?;
        let offset = header_u64(&headers, "upload-offset")
            .ok_or_else(|| AppError::BadRequest("send Upload-Offset".into()))?;
        let _guard = state
            .upload_locks
            .lock(&id)
            .ok_or_else(|| AppError::Conflict("another request is writing to this upload".into()))?;
        let upload = live_upload(&state, &id, &headers, &query).await?;
        if upload.picture_id.is_some() {
            return Err(AppError::Conflict("this upload is already complete".into()));
        }
        if offset != upload.offset {
            return Err(AppError::Conflict(format!(
                "Upload-Offset is {offset} but the server has {} bytes; ask with HEAD and resume from there",
                upload.offset
            )));
        }
        let expires_at = upload.expires_at;
        let (new_offset, picture) = append(&state, upload, body).await?;
        let mut r = tus_response(StatusCode::NO_CONTENT);
        set(&mut r, "upload-offset", new_offset);
        match picture {
            Some(p) => set(&mut r, "picture-id", p),
            None => set(&mut r, "upload-expires", http_date(expires_at)),
        }
        Ok::<_, AppError>(r)
    }
    .await;
    result.unwrap_or_else(tus_error)
}

/// Appends `body` to the upload's file; records the bytes that reached the disk even
/// when the connection drops; makes the picture when the last byte arrives.
async fn append(
    state: &AppState,
    upload: UploadRecord,
    body: Body,
) -> Result<(u64, Option<String>), AppError> {
    let path = state.uploads_dir.join(format!("{}.part", upload.id));
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .await?;
    let mut offset = upload.offset;
    let mut stream = body.into_data_stream();
    let mut failure = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                if offset + bytes.len() as u64 > upload.length {
                    failure = Some(AppError::TooLarge(format!(
                        "more bytes than the declared Upload-Length of {}",
                        upload.length
                    )));
                    break;
                }
                file.write_all(&bytes).await?;
                offset += bytes.len() as u64;
                state.metrics.uploaded(bytes.len() as u64);
            }
            Err(e) => {
                failure = Some(AppError::BadRequest(format!("the upload was cut off: {e}")));
                break;
            }
        }
    }
    file.flush().await?;
    file.sync_data().await?;
    drop(file);
    state.store.set_upload_offset(&upload.id, offset).await?;
    if let Some(e) = failure {
        return Err(e);
    }
    if offset < upload.length {
        return Ok((offset, None));
    }
    let meta = metadata(&upload.metadata).unwrap_or_default();
    let find = |key: &str| meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let name = find("filename")
        .or_else(|| find("name"))
        .unwrap_or_else(|| "picture".into());
    let title = find("title").unwrap_or_else(|| name.clone());
    let (_, mut hashed) = fresh_tokens(&[Role::Edit, Role::Comment, Role::View]);
    hashed.push((Role::Owner, upload.owner_hash.clone()));
    let picture = picture_from_file(state, &path, &title, &name, &hashed).await?;
    state.store.finish_upload(&upload.id, &picture.id).await?;
    Ok((offset, Some(picture.id)))
}

/// `DELETE /api/uploads/{id}`: termination.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = version_error(&headers) {
        return r;
    }
    let result = async {
        let _guard = state.upload_locks.lock(&id).ok_or_else(|| {
            AppError::Conflict("another request is writing to this upload".into())
        })?;
        owned_upload(&state, &id, &headers, &query).await?;
        remove_upload(&state, &id).await?;
        Ok::<_, AppError>(tus_response(StatusCode::NO_CONTENT))
    }
    .await;
    result.unwrap_or_else(tus_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_decode() {
        let pairs = metadata("filename d29ybGQuanBn,is_confidential,title SMOpbGxv").unwrap();
        assert_eq!(pairs[0], ("filename".into(), "world.jpg".into()));
        assert_eq!(pairs[1], ("is_confidential".into(), String::new()));
        assert_eq!(pairs[2].1, "Héllo");
        assert!(metadata("filename !!!").is_err());
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
