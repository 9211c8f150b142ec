//! The distributed mode against a real PostgreSQL: migrations, the schema check, and an
//! API process without workers plus a separate `hugepic worker` process sharing the
//! database (jobs) and the object folder.
//!
//! PostgreSQL comes from `HUGEPIC_TEST_DATABASE_URL` (default: the local server,
//! `postgres://postgres@127.0.0.1:5432/test`); each test makes and drops its own database.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::jpeg;

use std::process::Command;
use std::time::{Duration, Instant};

use common::stack::{config as parse, Running, TestDatabase};
use hugepic::config::Config;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

fn config(database: &str, data: &std::path::Path) -> Config {
    parse(&[
        "--database-url",
        database,
        "--data-dir",
        data.to_str().unwrap(),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_an_unmigrated_database_then_migrate_fixes_it() {
    let db = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    let error = match hugepic::serve::state(config(&db.url, data.path())).await {
        Ok(_) => panic!("an unmigrated database must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("hugepic migrate"), "{error}");
    let done = hugepic::serve::migrate(&config(&db.url, data.path()))
        .await
        .unwrap();
    assert!(done.contains("applied"), "{done}");
    let again = hugepic::serve::migrate(&config(&db.url, data.path()))
        .await
        .unwrap();
    assert!(again.contains("up to date"), "{again}");
    assert!(hugepic::serve::state(config(&db.url, data.path()))
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_a_separate_worker_process_share_postgres() {
    let db = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    hugepic::serve::migrate(&config(&db.url, data.path()))
        .await
        .unwrap();

    // The API, without workers.
    let state = hugepic::serve::state(config(&db.url, data.path()))
        .await
        .unwrap();
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

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(jpeg(700, 500)).file_name("pg.jpg"),
    );
    let picture: Value = client
        .post(format!("{base}/api/pictures"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = picture["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let waiting: Value = client
        .get(format!("{base}/api/pictures/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        waiting["status"], "queued",
        "no worker yet, nothing happens"
    );

    // A worker process picks the job up from PostgreSQL.
    let _worker = Running(
        Command::new(env!("CARGO_BIN_EXE_hugepic"))
            .args([
                "worker",
                "--database-url",
                &db.url,
                "--data-dir",
                data.path().to_str().unwrap(),
            ])
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now: Value = client
            .get(format!("{base}/api/pictures/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if now["status"] == "ready" {
            assert_eq!(
                (now["width"].as_u64(), now["height"].as_u64()),
                (Some(700), Some(500))
            );
            break;
        }
        assert_ne!(now["status"], "failed", "{now}");
        assert!(
            Instant::now() < deadline,
            "the worker never finished: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let tile = client
        .get(format!("{base}/tiles/{id}/image_files/10/0_0.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(tile.status(), reqwest::StatusCode::OK);
    let gallery: Value = client
        .get(format!("{base}/api/pictures"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gallery["total"], 1);
    shutdown.cancel();
}
