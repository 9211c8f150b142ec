//! The distributed mode against a real PostgreSQL: migrations, the schema check, and an
//! API process without workers plus a separate `hugepic worker` process sharing the
//! database (jobs) and the object folder.
//!
//! PostgreSQL comes from `HUGEPIC_TEST_DATABASE_URL` (default: the local server,
//! `postgres://postgres@127.0.0.1:5432/test`); each test makes and drops its own database.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::jpeg;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use clap::Parser;
use hugepic::config::{Config, ServeArgs};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ServeArgs,
}

fn admin_url() -> String {
    std::env::var("HUGEPIC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database of its own for one test, dropped at the end.
struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> TestDatabase {
        let admin = admin_url();
        let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for this test: {e}"));
        tokio::spawn(connection);
        let name = format!(
            "hugepic_test_{}",
            hugepic::auth::new_id()
                .to_lowercase()
                .replace(['-', '_'], "")
        );
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        TestDatabase {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = admin_url();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

fn config(database: &str, data: &std::path::Path) -> Config {
    Config::from_args(
        Cli::parse_from([
            "hugepic",
            "--database-url",
            database,
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .args,
    )
    .unwrap()
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
