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
use hugepic::store::DocStore;
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

/// Migration 4 moves the update log into a compact table: rows written before it read
/// back the same after it (times to the microsecond, authors, roles, restores), new rows
/// number on from the old ones, and a time finds its seq.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_written_before_migration_4_reads_back_the_same_after_it() {
    use hugepic::store::{Author, HistoryStore, MetaStore, NewUpdate, PostgresStore};
    let db = TestDatabase::create().await;
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        .await
        .unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for (version, file) in files.iter().take(3).enumerate() {
        client
            .batch_execute(&std::fs::read_to_string(file).unwrap())
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&(version as i64 + 1)],
            )
            .await
            .unwrap();
    }
    client
        .batch_execute(
            "INSERT INTO pictures (id, status, created_at) VALUES ('p', 'ready', now()), ('q', 'ready', now());
             INSERT INTO document_updates (picture_id, seq, at, author, author_id, author_color, role, node, restored_to, \"update\") VALUES
               ('p', 11, '2026-11-29T20:03:55.123456Z', 'Ana', 'a1', '#ff0000', 'edit', 'n1', NULL, '\\x0102'),
               ('q', 12, '2026-11-29T20:03:55.200000Z', 'Ana', 'a1', '#ff0000', 'edit', 'n1', NULL, '\\x05'),
               ('p', 13, '2026-11-29T20:03:56.000001Z', 'Bo', 'b1', '#00ff00', 'owner', 'n2', 11, '\\x0304');",
        )
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    hugepic::serve::migrate(&config(&db.url, data.path()))
        .await
        .unwrap();
    let store = PostgresStore::connect(&db.url).unwrap();
    let rows = store.log_rows("p", 0, None, 10).await.unwrap();
    let seen: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.seq,
                hugepic::store::times::micros_to_text(r.at),
                r.author.id.clone(),
                r.author.name.clone(),
                r.role.clone(),
                r.restored_to,
                r.update.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                11,
                "2026-11-29T20:03:55.123456Z".into(),
                "a1".into(),
                "Ana".into(),
                "edit".into(),
                None,
                vec![1, 2]
            ),
            (
                13,
                "2026-11-29T20:03:56.000001Z".into(),
                "b1".into(),
                "Bo".into(),
                "owner".into(),
                Some(11),
                vec![3, 4]
            ),
        ]
    );
    let author = Author {
        id: "a1".into(),
        name: "Ana".into(),
        color: "#ff0000".into(),
    };
    let seqs = store
        .append_updates(&[NewUpdate {
            picture_id: "q",
            update: &[9],
            author: &author,
            role: "edit",
            node: "n1",
            restored_to: None,
        }])
        .await
        .unwrap();
    assert!(seqs[0] > 13, "new seqs follow the old ones: {seqs:?}");
    let at = hugepic::store::times::parse_time("2026-11-29T20:03:55.5Z").unwrap();
    assert_eq!(store.seq_at("p", at).await.unwrap(), 11);
    assert_eq!(store.seq_at("p", at + 10_000_000).await.unwrap(), 13);
    let writers: i64 = client
        .query_one("SELECT COUNT(*) FROM document_writers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(writers, 2, "Ana's rows share one writer");
    store.delete_picture("q").await.unwrap();
    assert!(store.log_rows("q", 0, None, 10).await.unwrap().is_empty());
    assert_eq!(store.log_rows("p", 0, None, 10).await.unwrap().len(), 2);
}
