//! Attacks on the HTTP API, each performed for real against a server on port 0, with
//! what must hold instead: the server stays up and answers what a person understands,
//! and honest requests are unaffected.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::jpeg;
use common::stack::Server;

use reqwest::StatusCode;
use serde_json::Value;

/// Tests here run one at a time: two measure the process's memory.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Resident memory of this process (the server runs in it), bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib << 10
}

/// A folder holding a stand-in for the built client (its `index.html`), and its path.
fn stand_in_client() -> (tempfile::TempDir, String) {
    let client = tempfile::tempdir().unwrap();
    std::fs::write(
        client.path().join("index.html"),
        "<!doctype html><title>t</title>",
    )
    .unwrap();
    let dir = client.path().display().to_string();
    (client, dir)
}

/// A small picture uploaded with `title`.
async fn upload_titled(server: &Server, title: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("title", title.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(jpeg(64, 64)).file_name("x.jpg"),
        );
    server
        .client
        .post(server.url("/api/pictures"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn titles_are_cut_on_characters_and_a_huge_title_field_is_refused_as_it_arrives() {
    let _one_at_a_time = SERIAL.lock().await;
    let server = Server::start(&[]).await;
    // "a" then 200 "é": byte 300 falls inside a character (this panicked the handler).
    let title = format!("a{}", "é".repeat(200));
    let created = upload_titled(&server, &title).await;
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    let picture: Value = created.json().await.unwrap();
    assert_eq!(picture["title"], title.as_str());
    // 500 characters of two bytes each: 300 characters are kept.
    let long = "é".repeat(500);
    let created = upload_titled(&server, &long).await;
    let picture: Value = created.json().await.unwrap();
    assert_eq!(picture["title"].as_str().unwrap().chars().count(), 300);
    // A 300 MB title field (no token needed to send one): refused, not buffered.
    let before = rss();
    let chunk = axum::body::Bytes::from(vec![b'a'; 1 << 20]);
    let stream =
        futures_util::stream::iter((0..300).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let form = reqwest::multipart::Form::new().part(
        "title",
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream)),
    );
    let refused = server
        .client
        .post(server.url("/api/pictures"))
        .multipart(form)
        .send()
        .await;
    if let Ok(refused) = refused {
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = refused.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().contains("title"), "{body}");
    }
    let grown = rss().saturating_sub(before);
    assert!(grown < 20 << 20, "memory grew by {} MiB", grown >> 20);
    // The server is still there for honest uploads.
    assert_eq!(
        server.upload("after.jpg", jpeg(64, 64)).await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn the_events_of_unknown_pictures_are_404_and_leave_nothing_behind() {
    let _one_at_a_time = SERIAL.lock().await;
    let server = Server::start(&[]).await;
    for i in 0..200 {
        let response = server
            .client
            .get(server.url(&format!("/api/pictures/nope{i}/events")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(server.state.progress.listened(), 0);
}

#[tokio::test]
async fn forwarded_hosts_are_ignored_unless_trusted_and_metrics_need_the_token() {
    let _one_at_a_time = SERIAL.lock().await;
    let server = Server::start(&["--metrics-token", "s3cret"]).await;
    let created = server.upload("x.jpg", jpeg(64, 64)).await;
    let picture: Value = created.json().await.unwrap();
    let id = picture["id"].as_str().unwrap();
    server.wait_final(id).await;
    let info: Value = server
        .client
        .get(server.url(&format!("/iiif/{id}/info.json")))
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let iiif_id = info["id"].as_str().unwrap();
    assert!(!iiif_id.contains("evil.example"), "{iiif_id}");
    assert_eq!(iiif_id, server.url(&format!("/iiif/{id}")));
    // /metrics: refused without the token, served with it.
    let scrape = |token: Option<&'static str>| {
        let request = server.client.get(server.url("/metrics"));
        match token {
            Some(token) => request.bearer_auth(token).send(),
            None => request.send(),
        }
    };
    assert_eq!(
        scrape(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        scrape(Some("guess")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let read = scrape(Some("s3cret")).await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert!(read
        .text()
        .await
        .unwrap()
        .contains("hugepic_hub_connections"));
}

#[tokio::test]
async fn writes_past_an_addresss_allowance_get_429_with_retry_after() {
    let _one_at_a_time = SERIAL.lock().await;
    let server = Server::start(&["--trust-proxy", "--writes-per-minute", "3"]).await;
    let create = |from: &'static str| {
        server
            .client
            .post(server.url("/api/uploads"))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "10")
            .header("x-forwarded-for", from)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            create("203.0.113.7").await.unwrap().status(),
            StatusCode::CREATED
        );
    }
    let refused = create("203.0.113.7").await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "Retry-After: {wait}");
    // Another address, and reads, are not affected.
    assert_eq!(
        create("203.0.113.8").await.unwrap().status(),
        StatusCode::CREATED
    );
    let list = server
        .client
        .get(server.url("/api/pictures"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::OK);
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_and_only_embeds_may_be_framed() {
    let _one_at_a_time = SERIAL.lock().await;
    let (_client, dir) = stand_in_client();
    let server = Server::start(&["--client-dir", &dir]).await;
    let page = server
        .client
        .get(server.url("/p/abc"))
        .send()
        .await
        .unwrap();
    // No such picture: 404, with the same headers as any page.
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let headers = page.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    let embed = server
        .client
        .get(server.url("/embed/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(embed.status(), StatusCode::NOT_FOUND);
    assert!(embed.headers().get("x-frame-options").is_none());
    let policy = embed.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors *"), "{policy}");
    let api = server
        .client
        .get(server.url("/api/pictures"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn a_huge_json_body_is_not_read_before_the_owner_check_nor_past_64_kib() {
    let _one_at_a_time = SERIAL.lock().await;
    let server = Server::start(&[]).await;
    let created: Value = server
        .upload("x.jpg", jpeg(64, 64))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let owner = created["tokens"]["owner"].as_str().unwrap();
    let huge = format!(r#"{{"title":"{}"}}"#, "a".repeat(50 << 20));
    let copy = huge.clone();
    let url = server.url(&format!("/api/pictures/{id}"));
    let before = rss();
    let anonymous = server.client.patch(&url).body(copy).send().await;
    if let Ok(answer) = anonymous {
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    let as_owner = server
        .client
        .patch(&url)
        .bearer_auth(owner)
        .body(huge)
        .send()
        .await;
    if let Ok(answer) = as_owner {
        assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let grown = rss().saturating_sub(before);
    assert!(grown < 20 << 20, "memory grew by {} MiB", grown >> 20);
    // A normal edit works.
    let edited = server
        .client
        .patch(&url)
        .bearer_auth(owner)
        .json(&serde_json::json!({"title": "fine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
}

/// A tus creation of `length` bytes, from `address` (through `X-Forwarded-For`).
async fn tus_create(server: &Server, length: u64, address: &str) -> reqwest::Response {
    server
        .client
        .post(server.url("/api/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", length.to_string())
        .header("x-forwarded-for", address)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn tus_requests_need_the_upload_owner_token() {
    let _one_at_a_time = SERIAL.lock().await;
    let server = Server::start(&[]).await;
    let created = tus_create(&server, 10, "203.0.113.1").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let owner = created.headers()["picture-owner-token"]
        .to_str()
        .unwrap()
        .to_string();
    // The Location carries the owner token, so a stock tus client sends it unknowingly.
    let (bare, query) = location.split_once('?').unwrap();
    assert_eq!(query, format!("token={owner}"));
    let head = |url: String, bearer: Option<&'static str>| {
        let mut request = server.client.head(url).header("tus-resumable", "1.0.0");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(
        head(bare.to_string(), None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        head(bare.to_string(), Some("someone-elses-token"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    // Neither appending nor terminating without the owner token.
    let patch = server
        .client
        .patch(bare)
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(vec![b'x'; 5])
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::UNAUTHORIZED);
    let delete = server
        .client
        .delete(bare)
        .header("tus-resumable", "1.0.0")
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::FORBIDDEN);
    // The owner's requests, by Location or by bearer, work; nothing was appended before.
    let head_owner = head(location.clone(), None).await.unwrap();
    assert_eq!(head_owner.status(), StatusCode::OK);
    assert_eq!(head_owner.headers()["upload-offset"], "0");
    let patch = server
        .client
        .patch(bare)
        .bearer_auth(&owner)
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(vec![b'x'; 5])
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::NO_CONTENT);
    assert_eq!(patch.headers()["upload-offset"], "5");
    let delete = server
        .client
        .delete(&location)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn unfinished_uploads_are_held_to_quotas_per_address_and_to_the_disk() {
    let _one_at_a_time = SERIAL.lock().await;
    let server = Server::start(&[
        "--trust-proxy",
        "--writes-per-minute",
        "100",
        "--max-unfinished-uploads",
        "2",
        "--max-unfinished-upload-mib",
        "10",
    ])
    .await;
    let mib = 1u64 << 20;
    // 200 creations of 4 GiB each were all accepted before: now an address holds two
    // unfinished uploads, promising at most 10 MiB.
    let first = tus_create(&server, 4 * mib, "203.0.113.2").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(
        tus_create(&server, 4 * mib, "203.0.113.2").await.status(),
        StatusCode::CREATED
    );
    let third = tus_create(&server, mib, "203.0.113.2").await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = third.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("unfinished uploads"),
        "{body}"
    );
    let promising = tus_create(&server, 11 * mib, "203.0.113.3").await;
    assert_eq!(promising.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected; cancelling an upload frees its place.
    assert_eq!(
        tus_create(&server, mib, "203.0.113.4").await.status(),
        StatusCode::CREATED
    );
    let location = first.headers()["location"].to_str().unwrap().to_string();
    let cancelled = server
        .client
        .delete(&location)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        tus_create(&server, mib, "203.0.113.2").await.status(),
        StatusCode::CREATED
    );

    // A disk that cannot hold what is declared plus the margin: 507, said plainly.
    let free = hugepic::uploads::free_bytes(server.data.path()).unwrap();
    let margin = (free >> 20) + 1;
    let full = Server::start(&["--upload-disk-margin-mib", &margin.to_string()]).await;
    let refused = tus_create(&full, 10, "203.0.113.5").await;
    assert_eq!(refused.status(), StatusCode::INSUFFICIENT_STORAGE);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("disk cannot hold"),
        "{body}"
    );
    // The server stays up for what it can hold.
    assert_eq!(
        upload_titled(&full, "small").await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn unlisted_pictures_exist_only_for_their_links() {
    let _one_at_a_time = SERIAL.lock().await;
    let (_client, dir) = stand_in_client();
    let server = Server::start(&["--default-visibility", "unlisted", "--client-dir", &dir]).await;
    let created = upload_titled(&server, "private scan").await;
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    let picture: Value = created.json().await.unwrap();
    assert_eq!(picture["visibility"], "unlisted");
    let id = picture["id"].as_str().unwrap().to_string();
    let owner = picture["tokens"]["owner"].as_str().unwrap().to_string();
    let view = picture["tokens"]["view"].as_str().unwrap().to_string();
    let last = server.watch_with(&id, Some(&owner)).await.pop().unwrap();
    assert_eq!(last["status"], "ready");
    let get = |path: String, token: Option<String>| {
        let mut request = server.client.get(server.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    // Without a link it does not exist: API, events, history, annotations, manifest, page.
    for path in [
        format!("/api/pictures/{id}"),
        format!("/api/pictures/{id}/events"),
        format!("/api/pictures/{id}/history"),
        format!("/api/pictures/{id}/annotations.jsonld"),
        format!("/iiif/{id}/manifest.json"),
        format!("/p/{id}"),
        format!("/embed/{id}"),
    ] {
        let answer = get(path.clone(), None).await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let unknown: Value = get(format!("/api/pictures/{id}"), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let never: Value = get("/api/pictures/AAAAAAAAAAAAAAAA".into(), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        unknown["detail"].as_str().unwrap().replace(&id, ""),
        never["detail"]
            .as_str()
            .unwrap()
            .replace("AAAAAAAAAAAAAAAA", ""),
        "an unlisted picture reads as one that does not exist"
    );
    let gallery: Value = get("/api/pictures".into(), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gallery["total"], 0);
    // Its tile URLs (the unguessable id) are still served, for viewers and CDNs.
    assert_eq!(
        get(format!("/tiles/{id}/image.dzi"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // A view link works, and its page is served.
    let seen: Value = get(format!("/api/pictures/{id}"), Some(view.clone()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["role"], "view");
    let page = server
        .client
        .get(server.url(&format!("/p/{id}?token={view}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    // Only the owner changes it; a wrong value is a sentence.
    let set = |token: String, visibility: &'static str| {
        server
            .client
            .patch(server.url(&format!("/api/pictures/{id}")))
            .bearer_auth(token)
            .json(&serde_json::json!({ "visibility": visibility }))
            .send()
    };
    assert_eq!(
        set(view.clone(), "public").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let wrong = set(owner.clone(), "secret").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let said: Value = wrong.json().await.unwrap();
    assert!(said["detail"].as_str().unwrap().contains("unlisted"));
    let public = set(owner.clone(), "public").await.unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    let public: Value = public.json().await.unwrap();
    assert_eq!(public["visibility"], "public");
    let tokenless: Value = get(format!("/api/pictures/{id}"), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tokenless["role"], "view");
    let gallery: Value = get("/api/pictures".into(), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gallery["pictures"][0]["id"], id.as_str());
    // And back: gone again for visitors without a link.
    assert_eq!(
        set(owner, "unlisted").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        get(format!("/api/pictures/{id}"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn what_axum_refuses_before_a_handler_is_json_and_far_pages_are_empty() {
    let _one_at_a_time = SERIAL.lock().await;
    let server = Server::start(&[]).await;
    for path in [
        "/api/pictures?per_page=abc",
        "/api/pictures/x?token=a&token=b",
        "/api/pictures/%FF",
    ] {
        let answer = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "bad_request", "{path}");
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{path}");
    }
    let wrong_method = server
        .client
        .put(server.url("/api/pictures"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.headers().contains_key("allow"));
    let body: Value = wrong_method.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    // (page - 1) × per_page overflowed a u32 and panicked the handler.
    let far = server
        .client
        .get(server.url("/api/pictures?page=4294967295&per_page=100"))
        .send()
        .await
        .unwrap();
    assert_eq!(far.status(), StatusCode::OK);
    let far: Value = far.json().await.unwrap();
    assert_eq!(far["pictures"].as_array().unwrap().len(), 0);
}
