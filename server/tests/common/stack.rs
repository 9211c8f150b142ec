//! A running HUGEpic for integration tests, in either mode: embedded (SQLite, object
//! folder, workers in-process) or distributed (a PostgreSQL database of its own, Redis,
//! an S3-protocol server, the API without workers, and a separate `hugepic worker`
//! process with a data folder of its own, so nothing passes through a shared disk).
//!
//! PostgreSQL comes from `HUGEPIC_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), Redis from `HUGEPIC_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`), and `moto_server` is started on a free port.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt;
use hugepic::config::{Config, ServeArgs};
use hugepic_workers::storage::s3::{self, aws_sdk_s3, S3Settings};
use reqwest::{header, Client, StatusCode};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ServeArgs,
}

/// Parses `hugepic serve` arguments into a checked config. New pictures are public
/// unless `argv` says otherwise: most tests read them without a token; those of
/// unlisted pictures pass `--default-visibility unlisted`.
pub fn config(argv: &[&str]) -> Config {
    let mut all = vec!["hugepic"];
    all.extend_from_slice(argv);
    if !argv.contains(&"--default-visibility") {
        all.extend(["--default-visibility", "public"]);
    }
    Config::from_args(Cli::parse_from(all).args).unwrap()
}

/// Which deployment a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `hugepic serve` alone.
    Embedded,
    /// PostgreSQL, Redis, S3, API and worker processes apart.
    Distributed,
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when the test ends, passing or not.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn admin_url() -> String {
    std::env::var("HUGEPIC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The Redis tests use.
pub fn redis_url() -> String {
    std::env::var("HUGEPIC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A database of its own for one test, dropped at the end.
pub struct TestDatabase {
    name: String,
    /// Its URL.
    pub url: String,
}

impl TestDatabase {
    /// Creates an empty database.
    pub async fn create() -> TestDatabase {
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

/// An S3-protocol server (`moto_server`) with one bucket, for one test.
pub struct TestBucket {
    _server: Running,
    /// Its endpoint, `http://127.0.0.1:port`.
    pub endpoint: String,
    /// The bucket.
    pub name: String,
    /// A client straight to it (no fault proxy).
    pub client: aws_sdk_s3::Client,
}

impl TestBucket {
    /// Starts the server and makes the bucket; fails (never skips) without moto_server.
    pub async fn start() -> TestBucket {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server (pip install 'moto[server]') is needed for this test");
        let server = Running(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "moto_server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let name = "hugepic-test".to_string();
        let client = s3::client(&Self::settings_for(&endpoint, &name));
        client.create_bucket().bucket(&name).send().await.unwrap();
        TestBucket {
            _server: server,
            endpoint,
            name,
            client,
        }
    }

    fn settings_for(endpoint: &str, bucket: &str) -> S3Settings {
        S3Settings {
            bucket: bucket.into(),
            endpoint: Some(endpoint.into()),
            region: "us-east-1".into(),
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            path_style: true,
        }
    }

    /// Every key under `prefix`.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        s3::list_keys(&self.client, &self.name, prefix)
            .await
            .unwrap()
    }

    /// `hugepic` arguments for this bucket reached at `endpoint` (this server, or a
    /// proxy in front of it).
    pub fn args(&self, endpoint: &str) -> Vec<String> {
        [
            "--s3-bucket",
            &self.name,
            "--s3-endpoint",
            endpoint,
            "--s3-access-key-id",
            "test",
            "--s3-secret-access-key",
            "test",
        ]
        .map(String::from)
        .to_vec()
    }
}

/// Starts `hugepic worker` with `args`; its log goes to the test's output.
pub fn spawn_worker(args: &[String]) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_hugepic"))
            .arg("worker")
            .args(args)
            .env("HUGEPIC_LOG", "hugepic=warn")
            .spawn()
            .unwrap(),
    )
}

/// The distributed parts behind a `Server`.
pub struct Distributed {
    /// The worker process (first, so it stops before what it uses goes away).
    pub worker: Running,
    /// The database.
    pub db: TestDatabase,
    /// The bucket.
    pub bucket: TestBucket,
    /// The worker's own data folder.
    pub worker_data: tempfile::TempDir,
    /// Arguments both processes were started with.
    pub args: Vec<String>,
}

/// A server on a free port, and an HTTP client for it.
pub struct Server {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// A client without pooled connections: a server that refuses a body it did not
    /// read (413) closes that connection, and a pooled one could be picked up dead.
    pub client: Client,
    shutdown: CancellationToken,
    /// The API's data folder.
    pub data: tempfile::TempDir,
    /// The distributed parts, in that mode.
    pub distributed: Option<Distributed>,
    /// The server's state (shared with the running server).
    pub state: hugepic::state::AppState,
}

impl Server {
    /// An embedded server with `extra` arguments.
    pub async fn start(extra: &[&str]) -> Server {
        Self::start_in(Mode::Embedded, extra).await
    }

    /// A server in `mode` with `extra` arguments (given to the worker too); pictures are
    /// public unless `extra` says otherwise (see `config`).
    pub async fn start_in(mode: Mode, extra: &[&str]) -> Server {
        let data = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut distributed = None;
        if mode == Mode::Distributed {
            let db = TestDatabase::create().await;
            let bucket = TestBucket::start().await;
            args.extend(["--database-url".into(), db.url.clone()]);
            args.extend(["--redis-url".into(), redis_url()]);
            args.extend(bucket.args(&bucket.endpoint.clone()));
            let worker_data = tempfile::tempdir().unwrap();
            let mut worker_args = args.clone();
            worker_args.extend([
                "--data-dir".into(),
                worker_data.path().display().to_string(),
            ]);
            let argv: Vec<&str> = worker_args.iter().map(String::as_str).collect();
            hugepic::serve::migrate(&config(&argv)).await.unwrap();
            let worker = spawn_worker(&worker_args);
            distributed = Some(Distributed {
                db,
                bucket,
                worker,
                worker_data,
                args: args.clone(),
            });
        }
        args.extend(["--data-dir".into(), data.path().display().to_string()]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let state = hugepic::serve::state(config(&argv)).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        tokio::spawn(hugepic::serve::run_with(
            state.clone(),
            listener,
            shutdown.clone(),
            mode == Mode::Embedded,
        ));
        Server {
            base,
            client: Client::builder().pool_max_idle_per_host(0).build().unwrap(),
            shutdown,
            data,
            distributed,
            state,
        }
    }

    /// An absolute URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every stored object of a picture (original and pyramid), as keys.
    pub async fn stored_objects(&self, id: &str) -> Vec<String> {
        match &self.distributed {
            Some(d) => {
                let mut keys = d.bucket.keys(&format!("tiles/{id}/")).await;
                keys.extend(
                    d.bucket
                        .keys(&format!("originals/{id}"))
                        .await
                        .into_iter()
                        .filter(|k| *k == format!("originals/{id}")),
                );
                keys
            }
            None => {
                let root = self.data.path().join("objects").join(id);
                let mut keys = Vec::new();
                let mut stack = vec![root.clone()];
                while let Some(dir) = stack.pop() {
                    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                        let path = entry.path();
                        if path.is_dir() {
                            stack.push(path);
                        } else if let Ok(rest) = path.strip_prefix(&root) {
                            keys.push(rest.display().to_string());
                        }
                    }
                }
                keys
            }
        }
    }

    /// Uploads `bytes` as a multipart form with a title.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> reqwest::Response {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
            )
            .text("title", format!("test {name}"));
        self.client
            .post(self.url("/api/pictures"))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Follows the SSE stream until the picture is ready or failed; returns the last event.
    pub async fn wait_final(&self, id: &str) -> Value {
        self.watch(id).await.pop().unwrap_or(Value::Null)
    }

    /// Every SSE event of a picture until it is ready or failed.
    pub async fn watch(&self, id: &str) -> Vec<Value> {
        self.watch_with(id, None).await
    }

    /// `watch`, with a token (an unlisted picture's events need one).
    pub async fn watch_with(&self, id: &str, token: Option<&str>) -> Vec<Value> {
        let mut request = self
            .client
            .get(self.url(&format!("/api/pictures/{id}/events")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let mut stream = response.bytes_stream();
        let mut buffer = String::new();
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, stream.next()).await {
            buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) {
                    let event: Value = serde_json::from_str(data.trim()).unwrap();
                    let last = event["status"] == "ready" || event["status"] == "failed";
                    events.push(event);
                    if last {
                        return events;
                    }
                }
            }
        }
        panic!("no final event for {id}; got {events:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
