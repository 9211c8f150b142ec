//! The HTTP API, started for real on port 0, in both modes: embedded (its own data
//! folder) and distributed (PostgreSQL, Redis, S3 and a separate worker process; see
//! `common/stack.rs`). Upload by multipart and by tus (interrupted and resumed),
//! progress over SSE, tiles with their headers, roles, limits, bad input, import by
//! URL, delete removing every stored object.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::jpeg;
use common::stack::{Mode, Server};

use std::time::Duration;

use reqwest::{header, StatusCode};
use serde_json::Value;

/// A tus PATCH of `body` at `offset`.
async fn tus_patch(
    server: &Server,
    location: &str,
    offset: usize,
    content_type: &str,
    body: reqwest::Body,
) -> reqwest::Result<reqwest::Response> {
    server
        .client
        .patch(location)
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", offset)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
}

const OFFSET_STREAM: &str = "application/offset+octet-stream";

async fn multipart_upload_to_served_tiles(mode: Mode) {
    // Behind a proxy that sets X-Forwarded-* (the IIIF check below).
    let server = Server::start_in(mode, &["--trust-proxy"]).await;
    let created = server.upload("photo.jpg", jpeg(1000, 700)).await;
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    let picture: Value = created.json().await.unwrap();
    let id = picture["id"].as_str().unwrap().to_string();
    assert_eq!(picture["status"], "queued");
    assert_eq!(picture["title"], "test photo.jpg");
    for role in ["owner", "edit", "comment", "view"] {
        assert_eq!(
            picture["tokens"][role].as_str().unwrap().len(),
            43,
            "{role} token"
        );
        assert!(picture["links"][role]
            .as_str()
            .unwrap()
            .contains(&format!("/p/{id}?token=")));
    }
    assert_eq!(
        picture["tiles"]["dzi"],
        server.url(&format!("/tiles/{id}/image.dzi"))
    );

    let last = server.wait_final(&id).await;
    assert_eq!(last["status"], "ready", "{last}");
    let picture: Value = server
        .client
        .get(server.url(&format!("/api/pictures/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (picture["width"].as_u64(), picture["height"].as_u64()),
        (Some(1000), Some(700))
    );
    assert_eq!(picture["role"], "view", "no token: the default role");

    // DeepZoom: descriptor and a tile, immutable, with a working ETag.
    let dzi = server
        .client
        .get(server.url(&format!("/tiles/{id}/image.dzi")))
        .send()
        .await
        .unwrap();
    assert_eq!(dzi.status(), StatusCode::OK);
    assert_eq!(
        dzi.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(dzi.text().await.unwrap().contains("Width=\"1000\""));
    let tile_url = server.url(&format!("/tiles/{id}/image_files/10/3_2.jpg"));
    let tile = server.client.get(&tile_url).send().await.unwrap();
    assert_eq!(tile.status(), StatusCode::OK);
    assert_eq!(tile.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert!(tile.headers().get(header::ACCEPT_RANGES).is_none());
    let etag = tile.headers()[header::ETAG].clone();
    let first_headers = tile.headers().clone();
    let bytes = tile.bytes().await.unwrap();
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF]);
    // Read again, the tile comes from memory before routing: the same answer.
    let hot = server.client.get(&tile_url).send().await.unwrap();
    assert_eq!(hot.status(), StatusCode::OK);
    let names = |h: &header::HeaderMap| {
        let mut names: Vec<String> = h
            .keys()
            .map(|k| k.as_str().to_string())
            .filter(|k| k != "date")
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(hot.headers()), names(&first_headers));
    for (name, value) in hot.headers() {
        if !["date", "x-request-id"].contains(&name.as_str()) {
            assert_eq!(Some(value), first_headers.get(name), "{name}");
        }
    }
    assert_ne!(
        hot.headers()["x-request-id"],
        first_headers["x-request-id"],
        "each answer has an id of its own"
    );
    assert_eq!(hot.bytes().await.unwrap(), bytes);
    let metrics = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let written: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hugepic_tiles_written_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    // Distributed: the tiles were written by the worker process, not this one.
    assert_eq!(written > 0, mode == Mode::Embedded, "{metrics}");
    assert!(metrics.contains("hugepic_hub_connections 0"), "{metrics}");
    assert_eq!(
        bytes,
        stored_object(&server, &id, "image_files/10/3_2.jpg").await
    );
    let again = server
        .client
        .get(&tile_url)
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        again.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(again.headers()[header::ETAG], first_headers[header::ETAG]);
    assert_eq!(again.headers()["x-content-type-options"], "nosniff");
    let missing = server
        .client
        .get(server.url(&format!("/tiles/{id}/image_files/10/9_9.jpg")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let error: Value = missing.json().await.unwrap();
    assert_eq!(error["error"], "not_found");
    let original = server
        .client
        .get(server.url(&format!("/tiles/{id}/original")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        original.status(),
        StatusCode::NOT_FOUND,
        "originals are not public"
    );

    // IIIF: the id follows the request's host; a tile it declares is there.
    let info: Value = server
        .client
        .get(server.url(&format!("/iiif/{id}/info.json")))
        .header("x-forwarded-host", "pics.example")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["id"], format!("https://pics.example/iiif/{id}"));
    assert_eq!(info["width"], 1000);
    let iiif_tile = server
        .client
        .get(server.url(&format!("/iiif/{id}/768,512,232,188/232,188/0/default.jpg")))
        .send()
        .await
        .unwrap();
    assert_eq!(iiif_tile.status(), StatusCode::OK);
    // Now in the hot-tile cache, it is still not served under /tiles/.
    let under_tiles = server
        .client
        .get(server.url(&format!(
            "/tiles/{id}/iiif/768,512,232,188/232,188/0/default.jpg"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(under_tiles.status(), StatusCode::NOT_FOUND);
    let full = server
        .client
        .get(server.url(&format!("/iiif/{id}/full/max/0/default.jpg")))
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), StatusCode::OK);

    // The gallery lists it.
    let gallery: Value = server
        .client
        .get(server.url("/api/pictures"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gallery["total"], 1);
    assert_eq!(gallery["pictures"][0]["id"], id.as_str());
}

async fn roles_edits_and_delete(mode: Mode) {
    let server = Server::start_in(mode, &[]).await;
    let picture: Value = server
        .upload("p.jpg", jpeg(300, 200))
        .await
        .json()
        .await
        .unwrap();
    let id = picture["id"].as_str().unwrap().to_string();
    let token = |role: &str| picture["tokens"][role].as_str().unwrap().to_string();
    server.wait_final(&id).await;
    let url = server.url(&format!("/api/pictures/{id}"));
    let edit = serde_json::json!({"title": "Harbour", "description": "at dawn"});

    let anonymous = server.client.patch(&url).json(&edit).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let viewer = server
        .client
        .patch(&url)
        .bearer_auth(token("view"))
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(viewer.status(), StatusCode::FORBIDDEN);
    let body: Value = viewer.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("owner"), "{body}");
    let forged = server
        .client
        .patch(&url)
        .bearer_auth("not-a-token")
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let owner = server
        .client
        .patch(&url)
        .bearer_auth(token("owner"))
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(owner.status(), StatusCode::OK);
    let updated: Value = owner.json().await.unwrap();
    assert_eq!(
        (updated["title"].as_str(), updated["description"].as_str()),
        (Some("Harbour"), Some("at dawn"))
    );
    assert_eq!(updated["role"], "owner");
    let as_editor: Value = server
        .client
        .get(format!("{url}?token={}", token("edit")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(as_editor["role"], "edit");

    // New links replace the old ones.
    let links: Value = server
        .client
        .post(format!("{url}/links"))
        .bearer_auth(token("owner"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let old_view = server
        .client
        .get(&url)
        .bearer_auth(token("view"))
        .send()
        .await
        .unwrap();
    assert_eq!(old_view.status(), StatusCode::UNAUTHORIZED);
    let new_view: Value = server
        .client
        .get(&url)
        .bearer_auth(links["tokens"]["view"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(new_view["role"], "view");

    let old_edit = server
        .client
        .delete(&url)
        .bearer_auth(token("edit"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        old_edit.status(),
        StatusCode::UNAUTHORIZED,
        "replaced links stop working"
    );
    let denied = server
        .client
        .delete(&url)
        .bearer_auth(links["tokens"]["edit"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let stored = server.stored_objects(&id).await;
    assert!(
        stored.iter().any(|k| k.ends_with("image.dzi")) && stored.len() > 10,
        "{stored:?}"
    );
    let deleted = server
        .client
        .delete(&url)
        .bearer_auth(token("owner"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        server.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let tile = server
        .client
        .get(server.url(&format!("/tiles/{id}/image.dzi")))
        .send()
        .await
        .unwrap();
    assert_eq!(tile.status(), StatusCode::NOT_FOUND);
    // The delete job removes every stored object.
    let mut left = server.stored_objects(&id).await;
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = server.stored_objects(&id).await;
    }
    assert!(
        left.is_empty(),
        "objects of a deleted picture are removed: {left:?}"
    );
}

async fn tus_upload_interrupted_and_resumed(mode: Mode) {
    let server = Server::start_in(mode, &[]).await;
    let bytes = jpeg(800, 600);
    let total = bytes.len();
    let options = server
        .client
        .request(reqwest::Method::OPTIONS, server.url("/api/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(options.headers()["tus-version"], "1.0.0");
    assert!(options.headers()["tus-extension"]
        .to_str()
        .unwrap()
        .contains("termination"));

    let no_version = server
        .client
        .post(server.url("/api/uploads"))
        .header("upload-length", total)
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), StatusCode::PRECONDITION_FAILED);

    let created = server
        .client
        .post(server.url("/api/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", total)
        .header("upload-metadata", "filename aGFyYm91ci5qcGc=")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let owner = created.headers()["picture-owner-token"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(created.headers().contains_key("upload-expires"));

    // First PATCH: the connection dies after 10,000 bytes.
    let first: Vec<u8> = bytes[..10_000].to_vec();
    let broken = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(first),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "cable pulled",
        )),
    ]);
    let _ = tus_patch(
        &server,
        &location,
        0,
        OFFSET_STREAM,
        reqwest::Body::wrap_stream(broken),
    )
    .await;
    let head = server
        .client
        .head(&location)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["cache-control"], "no-store");
    let offset: usize = head.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(offset <= 10_000, "kept what arrived: {offset}");

    let wrong = tus_patch(
        &server,
        &location,
        offset + 1,
        OFFSET_STREAM,
        reqwest::Body::from(bytes[offset + 1..].to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::CONFLICT);
    let wrong_type = tus_patch(
        &server,
        &location,
        offset,
        "image/jpeg",
        reqwest::Body::from(bytes[offset..].to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let rest = tus_patch(
        &server,
        &location,
        offset,
        OFFSET_STREAM,
        reqwest::Body::from(bytes[offset..].to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    assert_eq!(rest.headers()["upload-offset"], total.to_string().as_str());
    let id = rest.headers()["picture-id"].to_str().unwrap().to_string();
    let head = server
        .client
        .head(&location)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["picture-id"], id.as_str());

    assert_eq!(server.wait_final(&id).await["status"], "ready");
    let picture: Value = server
        .client
        .get(server.url(&format!("/api/pictures/{id}")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        picture["role"], "owner",
        "the creation's owner token owns the picture"
    );
    assert_eq!(picture["title"], "harbour.jpg");
    assert_eq!(
        (picture["width"].as_u64(), picture["height"].as_u64()),
        (Some(800), Some(600))
    );

    // Termination.
    let another = server
        .client
        .post(server.url("/api/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", 100)
        .send()
        .await
        .unwrap();
    let location = another.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let gone = server
        .client
        .delete(&location)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let head = server
        .client
        .head(&location)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
}

async fn limits_and_bad_input(mode: Mode) {
    let server = Server::start_in(mode, &["--max-upload-mib", "1"]).await;
    let big = server.upload("big.jpg", vec![0xAB; 2 << 20]).await;
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = big.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("1 MiB"), "{body}");
    let tus = server
        .client
        .post(server.url("/api/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", 5 << 20)
        .send()
        .await
        .unwrap();
    assert_eq!(tus.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let not_multipart = server
        .client
        .post(server.url("/api/pictures"))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Pictures that are not pictures, or broken ones, fail with the reason.
    let good = jpeg(400, 300);
    for (name, bytes, reason) in [
        (
            "notes.jpg",
            b"this is a text file".to_vec(),
            "unsupported picture format",
        ),
        ("cut.jpg", good[..good.len() / 2].to_vec(), "truncated"),
    ] {
        let picture: Value = server.upload(name, bytes).await.json().await.unwrap();
        let last = server.wait_final(picture["id"].as_str().unwrap()).await;
        assert_eq!(last["status"], "failed", "{name}: {last}");
        assert!(
            last["error"].as_str().unwrap().contains(reason),
            "{name}: {last}"
        );
    }
    // The server keeps serving.
    let ok = server.upload("fine.jpg", good).await;
    assert_eq!(ok.status(), StatusCode::ACCEPTED);
    let picture: Value = ok.json().await.unwrap();
    assert_eq!(
        server.wait_final(picture["id"].as_str().unwrap()).await["status"],
        "ready"
    );
}

async fn health_metrics_and_openapi(mode: Mode) {
    let server = Server::start_in(mode, &[]).await;
    assert_eq!(
        server
            .client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let ready: Value = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (ready["database"].as_str(), ready["storage"].as_str()),
        (Some("ok"), Some("ok"))
    );
    match mode {
        Mode::Distributed => assert_eq!(ready["redis"], "ok", "{ready}"),
        Mode::Embedded => assert!(ready.get("redis").is_none(), "{ready}"),
    }
    let _ = server
        .client
        .get(server.url("/api/pictures/nope"))
        .send()
        .await
        .unwrap();
    let metrics = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hugepic_http_requests_total{class=\"4xx\"} 1"),
        "{metrics}"
    );
    let api: Value = server
        .client
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(api["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/pictures", "/api/uploads/{id}", "/iiif/{id}/info.json"] {
        assert!(api["paths"].get(path).is_some(), "{path} documented");
    }
}

/// A little web server of our own for import tests: a picture, text, and redirects.
async fn picture_host(picture: Vec<u8>) -> String {
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/pic.jpg",
            get(move || async move { ([("content-type", "image/jpeg")], picture).into_response() }),
        )
        .route("/text", get(|| async { "hello, not a picture" }))
        .route(
            "/to-metadata",
            get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/to-picture",
            get(|| async { Redirect::temporary("/pic.jpg") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn import(server: &Server, url: &str) -> reqwest::Response {
    server
        .client
        .post(server.url("/api/pictures"))
        .json(&serde_json::json!({"url": url}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refuses_hostile_urls() {
    let host = picture_host(jpeg(64, 64)).await;
    let server = Server::start_in(Mode::Embedded, &[]).await;
    let cases = [
        (format!("{host}/pic.jpg"), "loopback"),
        ("http://localhost:9/pic.jpg".to_string(), "loopback"),
        ("http://[::1]:9/".to_string(), "loopback"),
        ("http://10.0.0.1/".to_string(), "private"),
        ("http://192.168.1.1/".to_string(), "private"),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "link-local",
        ),
        ("http://[fd00::1]/".to_string(), "unique-local"),
        ("http://[fe80::1]/".to_string(), "link-local"),
        ("http://224.0.0.1/".to_string(), "multicast"),
        ("http://0.0.0.0/".to_string(), "unspecified"),
        ("http://[::ffff:127.0.0.1]/".to_string(), "loopback"),
        ("http://[::ffff:169.254.169.254]/".to_string(), "link-local"),
        ("http://2130706433/".to_string(), "loopback"),
        (
            "ftp://example.com/pic.jpg".to_string(),
            "only http and https",
        ),
        ("file:///etc/passwd".to_string(), "only http and https"),
        ("not a url".to_string(), "not a URL"),
    ];
    for (url, reason) in cases {
        let response = import(&server, &url).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains(reason),
            "{url}: {body}"
        );
    }
    let gallery: Value = server
        .client
        .get(server.url("/api/pictures"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gallery["total"], 0, "nothing was created");
}

async fn import_from_an_allowed_host(mode: Mode) {
    let host = picture_host(jpeg(640, 480)).await;
    let server = Server::start_in(mode, &["--import-allow", "127.0.0.1"]).await;
    let response = import(&server, &format!("{host}/to-picture")).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let picture: Value = response.json().await.unwrap();
    assert_eq!(picture["title"], "pic.jpg");
    let last = server.wait_final(picture["id"].as_str().unwrap()).await;
    assert_eq!(last["status"], "ready", "{last}");
    // Allowing our host does not allow where it redirects to.
    let response = import(&server, &format!("{host}/to-metadata")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("169.254.169.254"),
        "{body}"
    );
    // Not a picture: refused by its first bytes.
    let response = import(&server, &format!("{host}/text")).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("not a picture"),
        "{body}"
    );
}

/// The bytes stored for `key` of a picture, read from the store itself.
async fn stored_object(server: &Server, id: &str, key: &str) -> Vec<u8> {
    match &server.distributed {
        Some(d) => d
            .bucket
            .client
            .get_object()
            .bucket(&d.bucket.name)
            .key(format!("tiles/{id}/{key}"))
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
            .to_vec(),
        None => std::fs::read(server.data.path().join("objects").join(id).join(key)).unwrap(),
    }
}

/// Runs each scenario against both deployments.
macro_rules! in_both_modes {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Mode::Embedded).await
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Mode::Distributed).await
                }
            )*
        }
    };
}

in_both_modes!(
    multipart_upload_to_served_tiles,
    roles_edits_and_delete,
    tus_upload_interrupted_and_resumed,
    limits_and_bad_input,
    health_metrics_and_openapi,
    import_from_an_allowed_host,
);
