//! The distributed pipeline against a misbehaving S3: every request goes through a small
//! proxy in this test that fails one request in five (503 SlowDown, 500 InternalError),
//! delays the rest, and can hold requests for a key. The worker process is killed with
//! SIGKILL once during tiling and once during publishing; after each restart it resumes,
//! the picture reaches `ready`, and no object that was stored is uploaded a second time.
//! Each restarted worker's own `/metrics` (`--metrics-bind`) counts the job it took up as
//! reclaimed once; the second's shows its tiles and its S3 requests, retried ones too.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use common::jpeg;
use common::stack::{config, free_port, redis_url, spawn_worker, TestBucket, TestDatabase};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// What the proxy does and saw.
#[derive(Default)]
struct Proxy {
    upstream: String,
    requests: AtomicU64,
    injected: AtomicU64,
    /// Successful single-request PUTs per key.
    stored: Mutex<HashMap<String, u32>>,
    /// Requests whose path contains this wait while `holding` is set.
    hold: Mutex<Option<String>>,
    holding: AtomicBool,
    held: AtomicU64,
    delay_ms: AtomicU64,
}

fn s3_error(status: StatusCode, code: &str) -> Response {
    (
        status,
        [("content-type", "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message></Error>"),
    )
        .into_response()
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let n = proxy.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 256 << 20).await.unwrap();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    match n % 10 {
        3 => {
            proxy.injected.fetch_add(1, Ordering::Relaxed);
            return s3_error(StatusCode::SERVICE_UNAVAILABLE, "SlowDown");
        }
        8 => {
            proxy.injected.fetch_add(1, Ordering::Relaxed);
            return s3_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError");
        }
        _ => {}
    }
    let pattern = proxy.hold.lock().unwrap().clone();
    if pattern.is_some_and(|p| path.contains(&p)) {
        proxy.held.fetch_add(1, Ordering::Relaxed);
        while proxy.holding.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        return s3_error(StatusCode::SERVICE_UNAVAILABLE, "SlowDown");
    }
    tokio::time::sleep(Duration::from_millis(
        proxy.delay_ms.load(Ordering::Relaxed),
    ))
    .await;
    let url = format!(
        "{}{}{}",
        proxy.upstream,
        path,
        query
            .as_deref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default()
    );
    // The exchange with the upstream runs as a task of its own: a worker killed while
    // its request is in flight drops this handler, but the request may still reach the
    // upstream and store the object, and it must still be counted.
    let exchange = tokio::spawn({
        let proxy = Arc::clone(&proxy);
        async move {
            let mut upstream = reqwest::Client::new().request(parts.method.clone(), url);
            for (name, value) in &parts.headers {
                if !["host", "content-length", "transfer-encoding", "connection"]
                    .contains(&name.as_str())
                {
                    upstream = upstream.header(name, value);
                }
            }
            let answer = upstream.body(body).send().await.ok()?;
            let status = answer.status();
            let is_put = parts.method == axum::http::Method::PUT;
            let single = query.as_deref().is_none_or(|q| !q.contains("uploadId"));
            if is_put && single && status.is_success() {
                *proxy.stored.lock().unwrap().entry(path).or_default() += 1;
            }
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap_or_default();
            Some((status, headers, bytes))
        }
    });
    let Some((status, headers, bytes)) = exchange.await.unwrap() else {
        return s3_error(StatusCode::BAD_GATEWAY, "InternalError");
    };
    let mut response = Response::builder().status(status.as_u16());
    for (name, value) in &headers {
        if name != "transfer-encoding" && name != "connection" {
            response = response.header(
                HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                value.as_bytes(),
            );
        }
    }
    response.body(Body::from(bytes)).unwrap()
}

async fn status(client: &reqwest::Client, base: &str, id: &str) -> Value {
    client
        .get(format!("{base}/api/pictures/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls the picture until `done` holds for it and the proxy, or fails after `limit`.
async fn wait_for(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let now = status(client, base, id).await;
        if done(&now) {
            return now;
        }
        assert_ne!(now["status"], "failed", "{now}");
        assert!(
            Instant::now() < deadline,
            "waited in vain for {what}: {now}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A process's `/metrics` text.
async fn metrics(client: &reqwest::Client, base: &str) -> String {
    client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the sample named `series` (with its labels as written), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaky_s3_and_killed_workers_still_end_ready_without_uploading_twice() {
    let db = TestDatabase::create().await;
    let bucket = TestBucket::start().await;
    let proxy = Arc::new(Proxy {
        upstream: bucket.endpoint.clone(),
        delay_ms: AtomicU64::new(15),
        ..Proxy::default()
    });
    let proxy_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy_listener.local_addr().unwrap());
    let router = axum::Router::new()
        .fallback(forward)
        .with_state(Arc::clone(&proxy));
    tokio::spawn(async move { axum::serve(proxy_listener, router).await });

    let mut args = vec![
        "--database-url".to_string(),
        db.url.clone(),
        "--redis-url".into(),
        redis_url(),
        "--s3-concurrency".into(),
        "4".into(),
    ];
    args.extend(bucket.args(&proxy_url));
    let api_data = tempfile::tempdir().unwrap();
    let worker_data = tempfile::tempdir().unwrap();
    let with = |data: &tempfile::TempDir| {
        let mut all = args.clone();
        all.extend(["--data-dir".into(), data.path().display().to_string()]);
        all
    };
    let api_args = with(&api_data);
    let api_argv: Vec<&str> = api_args.iter().map(String::as_str).collect();
    hugepic::serve::migrate(&config(&api_argv)).await.unwrap();
    let state = hugepic::serve::state(config(&api_argv)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(hugepic::serve::run_with(
        state,
        listener,
        shutdown.clone(),
        false,
    ));
    let client = reqwest::Client::new();

    // The original goes to S3 through the faults (retried requests).
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(jpeg(3000, 2400)).file_name("flaky.jpg"),
    );
    let created = client
        .post(format!("{base}/api/pictures"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::ACCEPTED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(bucket.keys(&format!("originals/{id}")).await.len(), 1);
    // No worker yet: the API's /metrics shows the job waiting.
    let api_metrics = metrics(&client, &base).await;
    assert_eq!(
        sample(&api_metrics, "hugepic_jobs_queued{kind=\"build-pyramid\"}"),
        Some(1.0),
        "{api_metrics}"
    );
    assert!(
        sample(
            &api_metrics,
            "hugepic_jobs_oldest_queued_seconds{kind=\"build-pyramid\"}"
        )
        .is_some_and(|age| age >= 0.0),
        "{api_metrics}"
    );

    // First worker: killed while tiling, with some tiles stored.
    let worker_args = with(&worker_data);
    let with_metrics = |port: u16| {
        let mut all = worker_args.clone();
        all.extend(["--metrics-bind".into(), format!("127.0.0.1:{port}")]);
        all
    };
    let mut first = spawn_worker(&worker_args);
    let stored = |proxy: &Proxy| proxy.stored.lock().unwrap().len();
    wait_for(
        &client,
        &base,
        &id,
        Duration::from_secs(60),
        "tiles stored while tiling",
        |p| p["status"] == "tiling" && stored(&proxy) >= 40,
    )
    .await;
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let after_first = stored(&proxy);

    // Second worker: held at the IIIF info.json, which goes up once every tile is
    // cut, so the job sits in publishing; killed there.
    *proxy.hold.lock().unwrap() = Some("info.json".into());
    proxy.holding.store(true, Ordering::Relaxed);
    let second_port = free_port();
    let mut second = spawn_worker(&with_metrics(second_port));
    wait_for(
        &client,
        &base,
        &id,
        Duration::from_secs(90),
        "publishing",
        |p| p["status"] == "publishing" && proxy.held.load(Ordering::Relaxed) > 0,
    )
    .await;
    // Its own /metrics (`--metrics-bind`): the job it took up after the first worker
    // died, counted once as reclaimed; the tiles it wrote; its S3 requests, a fifth of
    // which failed and were tried again.
    let second_metrics = metrics(&client, &format!("http://127.0.0.1:{second_port}")).await;
    let value = |name: &str| sample(&second_metrics, name).unwrap_or(-1.0);
    assert_eq!(
        value("hugepic_jobs_total{kind=\"build-pyramid\",outcome=\"reclaimed\"}"),
        1.0,
        "{second_metrics}"
    );
    assert!(
        value("hugepic_tiles_written_total") >= 100.0,
        "{second_metrics}"
    );
    assert!(
        value("hugepic_s3_requests_total{outcome=\"answered\"}") >= 100.0,
        "{second_metrics}"
    );
    assert!(
        value("hugepic_s3_requests_total{outcome=\"retried\"}") >= 10.0,
        "{second_metrics}"
    );
    second.0.kill().unwrap();
    second.0.wait().unwrap();
    let after_second = stored(&proxy);
    proxy.holding.store(false, Ordering::Relaxed);
    *proxy.hold.lock().unwrap() = None;
    assert!(
        after_second > after_first,
        "the second worker stored more ({after_first} → {after_second})"
    );

    // Third worker: finishes.
    let metrics_port = free_port();
    let _third = spawn_worker(&with_metrics(metrics_port));
    let ready = wait_for(&client, &base, &id, Duration::from_secs(90), "ready", |p| {
        p["status"] == "ready"
    })
    .await;
    assert_eq!(
        (ready["width"].as_u64(), ready["height"].as_u64()),
        (Some(3000), Some(2400))
    );

    let twice: Vec<(String, u32)> = proxy
        .stored
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    assert!(twice.is_empty(), "uploaded more than once: {twice:?}");
    let keys = bucket.keys(&format!("tiles/{id}/")).await;
    assert!(
        keys.iter().any(|k| k.ends_with("/image.dzi")),
        "no descriptor"
    );
    assert!(keys.iter().any(|k| k.ends_with("/iiif/info.json")));
    assert_eq!(
        keys.len(),
        proxy
            .stored
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.contains("/tiles/"))
            .count(),
        "every stored tile went up exactly once"
    );
    let injected = proxy.injected.load(Ordering::Relaxed);
    let requests = proxy.requests.load(Ordering::Relaxed);
    assert!(
        injected * 10 >= requests,
        "{injected} of {requests} requests failed"
    );
    eprintln!(
        "{} objects, {requests} S3 requests, {injected} failed on purpose; stored before kill 1: {after_first}, before kill 2: {after_second}",
        keys.len()
    );

    // The third worker's: the job it took up after the second died, counted once as
    // reclaimed and once as done.
    let worker_base = format!("http://127.0.0.1:{metrics_port}");
    for path in ["/healthz", "/readyz"] {
        let answer = client
            .get(format!("{worker_base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::OK, "worker {path}");
    }
    let worker_metrics = metrics(&client, &worker_base).await;
    let value = |name: &str| sample(&worker_metrics, name).unwrap_or(-1.0);
    for (outcome, count) in [("reclaimed", 1.0), ("done", 1.0), ("failed", 0.0)] {
        assert_eq!(
            value(&format!(
                "hugepic_jobs_total{{kind=\"build-pyramid\",outcome=\"{outcome}\"}}"
            )),
            count,
            "{outcome}: {worker_metrics}"
        );
    }
    assert!(
        value("hugepic_s3_requests_total{outcome=\"answered\"}") > 0.0,
        "{worker_metrics}"
    );
    let api_metrics = metrics(&client, &base).await;
    assert_eq!(
        sample(&api_metrics, "hugepic_jobs_queued{kind=\"build-pyramid\"}"),
        Some(0.0),
        "{api_metrics}"
    );

    // Tiles are served from S3 through the API.
    let tile = client
        .get(format!("{base}/tiles/{id}/image_files/12/0_0.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(tile.status(), reqwest::StatusCode::OK);
    assert_eq!(&tile.bytes().await.unwrap()[..2], &[0xFF, 0xD8]);
    shutdown.cancel();
}
