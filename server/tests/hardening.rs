//! Attacks on the HTTP API, each performed for real against a server on port 0, with
//! what must hold instead: the server stays up and answers what a person understands,
//! and honest requests are unaffected.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::jpeg;
use common::stack::Server;

use reqwest::StatusCode;
use serde_json::Value;

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

#[tokio::test]
async fn titles_are_cut_on_characters_and_a_huge_title_field_is_refused_as_it_arrives() {
    let server = Server::start(&[]).await;
    // "a" then 200 "é": byte 300 falls inside a character (this panicked the handler).
    let title = format!("a{}", "é".repeat(200));
    let form = reqwest::multipart::Form::new()
        .text("title", title.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(jpeg(64, 64)).file_name("x.jpg"),
        );
    let created = server
        .client
        .post(server.url("/api/pictures"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    let picture: Value = created.json().await.unwrap();
    assert_eq!(picture["title"], title.as_str());
    // 500 characters of two bytes each: 300 characters are kept.
    let long = "é".repeat(500);
    let form = reqwest::multipart::Form::new().text("title", long).part(
        "file",
        reqwest::multipart::Part::bytes(jpeg(64, 64)).file_name("x.jpg"),
    );
    let created = server
        .client
        .post(server.url("/api/pictures"))
        .multipart(form)
        .send()
        .await
        .unwrap();
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
