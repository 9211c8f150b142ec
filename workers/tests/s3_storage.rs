//! The S3 sink against a real S3-protocol server (`moto_server`, started here on a free
//! port): a pyramid lands object for object as it does in a folder, and a second run on
//! the same prefix finds every tile stored and uploads none again.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use hugepic_workers::storage::s3::{client, list_keys, S3Settings};
use hugepic_workers::{tile_file, Layout, Limits, MemorySink, S3Sink, TileOptions};

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts moto_server; fails the test (never skips) when it is missing.
fn moto() -> (Moto, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (pip install 'moto[server]') is needed for this test");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Moto(child), format!("http://127.0.0.1:{port}"))
}

#[test]
fn pyramid_to_s3_and_resume_without_uploading_again() {
    let (_moto, endpoint) = moto();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let settings = S3Settings {
        bucket: "tiles".into(),
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: "test".into(),
        secret_access_key: "test".into(),
        path_style: true,
    };
    let s3 = client(&settings);
    runtime
        .block_on(s3.create_bucket().bucket("tiles").send())
        .unwrap();

    let dir = scratch();
    let (w, h) = (700, 500);
    let path = write(
        dir.path(),
        "in.jpg",
        &jpeg(w, h, &photo(w, h, 3), JpegKind::default()),
    );
    let options = TileOptions {
        layout: Layout::ALL,
        skip_existing: true,
        ..TileOptions::default()
    };
    let sink = S3Sink::new(s3.clone(), "tiles", "pic1/", runtime.handle().clone(), 16).unwrap();
    assert_eq!(sink.existing_count(), 0);
    let summary = tile_file(&path, &sink, &options, &Limits::default(), &|_| {}).unwrap();
    assert_eq!(summary.tiles_skipped, 0);

    // The same objects as a run into memory, byte for byte.
    let memory = MemorySink::default();
    tile_file(
        &path,
        &memory,
        &TileOptions {
            skip_existing: false,
            ..options.clone()
        },
        &Limits::default(),
        &|_| {},
    )
    .unwrap();
    let mut stored = runtime.block_on(list_keys(&s3, "tiles", "pic1/")).unwrap();
    stored.sort();
    let expected: Vec<String> = memory
        .objects()
        .keys()
        .map(|k| format!("pic1/{k}"))
        .collect();
    assert_eq!(stored, expected);
    let object = runtime
        .block_on(
            s3.get_object()
                .bucket("tiles")
                .key("pic1/image_files/10/1_1.jpg")
                .send(),
        )
        .unwrap();
    assert_eq!(
        object.cache_control(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(object.content_type(), Some("image/jpeg"));
    let bytes = runtime
        .block_on(object.body.collect())
        .unwrap()
        .into_bytes();
    assert_eq!(&bytes[..], &memory.objects()["image_files/10/1_1.jpg"][..]);

    // A resumed job finds every tile and uploads none of them again.
    let again = S3Sink::new(s3.clone(), "tiles", "pic1/", runtime.handle().clone(), 16).unwrap();
    assert_eq!(again.existing_count(), expected.len());
    let resumed = tile_file(&path, &again, &options, &Limits::default(), &|_| {}).unwrap();
    assert_eq!(resumed.tiles_skipped, resumed.tiles, "every tile was kept");
}
