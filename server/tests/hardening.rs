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
    let client = tempfile::tempdir().unwrap();
    std::fs::write(
        client.path().join("index.html"),
        "<!doctype html><title>t</title>",
    )
    .unwrap();
    let dir = client.path().display().to_string();
    let server = Server::start(&["--client-dir", &dir]).await;
    let page = server
        .client
        .get(server.url("/p/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
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
    assert_eq!(embed.status(), StatusCode::OK);
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
