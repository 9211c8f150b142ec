//! A `hugepic serve` process killed with SIGKILL in the middle of tiling: started again
//! on the same data folder, it picks the job up again, the picture reaches `ready`, and
//! the tiles stored before the kill are kept, not made again.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::jpeg;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the server when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server; its log lines are collected by a thread (an unread pipe would fill
/// up and stall the server).
fn start(data: &std::path::Path, port: u16) -> (Running, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hugepic"))
        .args([
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--bind",
            &format!("127.0.0.1:{port}"),
            // Read without a token below.
            "--default-visibility",
            "public",
        ])
        .env("HUGEPIC_LOG", "hugepic=info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (Running(child), rx)
}

fn wait_up(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::blocking_get(&format!("{base}/healthz")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server at {base} did not come up");
}

mod reqwest {
    /// A minimal blocking GET over std, to keep this test free of an async runtime.
    pub fn blocking_get(url: &str) -> bool {
        get(url).is_some()
    }

    pub fn get(url: &str) -> Option<String> {
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://")?;
        let (host, path) = rest
            .split_once('/')
            .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
        let mut stream = std::net::TcpStream::connect(host).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.starts_with("HTTP/1.1 200").then(|| {
            response
                .split("\r\n\r\n")
                .nth(1)
                .unwrap_or_default()
                .to_string()
        })
    }

    pub fn post_file(url: &str, name: &str, bytes: &[u8]) -> String {
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let boundary = "hugepic-test-boundary";
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n").into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(
            stream,
            "POST /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}

fn picture_field(base: &str, id: &str, field: &str) -> String {
    let body = reqwest::get(&format!("{base}/api/pictures/{id}")).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    value[field].to_string()
}

#[test]
fn killed_during_tiling_resumes_and_keeps_stored_tiles() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (mut first, _first_log) = start(data.path(), port);
    wait_up(&base);
    let response = reqwest::post_file(
        &format!("{base}/api/pictures"),
        "big.jpg",
        &jpeg(6000, 6000),
    );
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    let id = serde_json::from_str::<serde_json::Value>(body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Kill it once some tiles of the full-resolution level are on disk.
    let tiles = data
        .path()
        .join("objects")
        .join(&id)
        .join("image_files")
        .join("13");
    let deadline = Instant::now() + Duration::from_secs(60);
    let stored = loop {
        let count = std::fs::read_dir(&tiles).map(|d| d.count()).unwrap_or(0);
        if count >= 30 {
            break count;
        }
        assert!(Instant::now() < deadline, "tiling never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    first.0.kill().unwrap(); // SIGKILL
    first.0.wait().unwrap();
    assert_ne!(picture_status_on_disk(&data), "ready");

    let (second, second_log) = start(data.path(), port);
    wait_up(&base);
    let deadline = Instant::now() + Duration::from_secs(120);
    while picture_field(&base, &id, "status") != "\"ready\"" {
        assert!(
            Instant::now() < deadline,
            "the picture never became ready after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(second);
    let log: Vec<String> = second_log.try_iter().collect();
    let built = log
        .iter()
        .find(|l| l.contains("pyramid built"))
        .unwrap_or_else(|| panic!("no build line in {log:?}"));
    let kept: u64 = built
        .split("kept=")
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        kept as usize >= stored,
        "kept {kept} tiles; {stored} were stored before the kill"
    );
    assert!(std::fs::metadata(data.path().join("objects").join(&id).join("image.dzi")).is_ok());
}

fn picture_status_on_disk(data: &tempfile::TempDir) -> String {
    // The descriptor is written last; without it the pyramid is not complete.
    let has_descriptor = std::fs::read_dir(data.path().join("objects"))
        .map(|d| d.flatten().any(|e| e.path().join("image.dzi").exists()))
        .unwrap_or(false);
    if has_descriptor {
        "ready"
    } else {
        "unfinished"
    }
    .to_string()
}
