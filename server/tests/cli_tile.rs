//! `hugepic tile` as a user runs it: output tree, summary line, clear errors, and the
//! engine's central promise: memory grows with the picture's width, not its area.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::Path;
use std::process::Command;

/// A photo-like JPEG written in bands, so the test itself stays small in memory.
fn write_jpeg(path: &Path, width: u32, height: u32) {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_fastest_defaults();
    c.set_size(width as usize, height as usize);
    c.set_quality(85.0);
    let mut started = c.start_compress(Vec::new()).expect("start");
    let mut band = Vec::with_capacity(width as usize * 3 * 64);
    for y0 in (0..height).step_by(64) {
        band.clear();
        for y in y0..(y0 + 64).min(height) {
            for x in 0..width {
                let h = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 27;
                band.extend_from_slice(&[
                    ((x / 7 + y / 5) % 256) as u8,
                    ((x / 13) % 200) as u8 + h as u8,
                    ((y / 11 + x / 17) % 230) as u8,
                ]);
            }
        }
        started.write_scanlines(&band).expect("rows");
    }
    std::fs::write(path, started.finish().expect("finish")).expect("write jpeg");
}

fn hugepic(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hugepic"))
        .args(args)
        .output()
        .expect("run hugepic")
}

/// Peak memory from the summary line ("peak memory N MiB").
fn peak_mib(stdout: &str) -> u64 {
    let tail = stdout
        .split("peak memory ")
        .nth(1)
        .unwrap_or_else(|| panic!("no peak in {stdout}"));
    tail.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("peak number")
}

#[test]
fn memory_follows_width_not_area() {
    let dir = tempfile::tempdir().unwrap();
    let width = 16384;
    let (short, tall) = (dir.path().join("short.jpg"), dir.path().join("tall.jpg"));
    write_jpeg(&short, width, 1024);
    write_jpeg(&tall, width, 8 * 1024);
    let mut peaks = Vec::new();
    for (input, name) in [(&short, "short"), (&tall, "tall")] {
        let out = dir.path().join(name);
        let run = hugepic(&[
            "tile",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--no-optimize",
        ]);
        let stdout = String::from_utf8_lossy(&run.stdout).to_string();
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        peaks.push(peak_mib(&stdout));
    }
    let (a, b) = (peaks[0] as f64, peaks[1] as f64);
    println!("peak memory: {width}×1024 {a} MiB, {width}×8192 {b} MiB");
    assert!(
        (b - a).abs() <= 0.10 * a,
        "8× the height changed peak memory from {a} to {b} MiB"
    );
}

#[test]
fn writes_both_layouts_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jpg");
    write_jpeg(&input, 1000, 600);
    let out = dir.path().join("out");
    let run = hugepic(&[
        "tile",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--layout",
        "all",
        "--tile-size",
        "254",
        "--overlap",
        "1",
        "--quality",
        "80",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("1000×600 px, 11 levels"), "{stdout}");
    let dzi = std::fs::read_to_string(out.join("image.dzi")).unwrap();
    assert!(
        dzi.contains("TileSize=\"254\"") && dzi.contains("Overlap=\"1\""),
        "{dzi}"
    );
    assert!(out.join("image_files/10/3_2.jpg").is_file());
    assert!(!out.join("image_files/10/4_0.jpg").exists());
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("iiif/info.json")).unwrap()).unwrap();
    assert_eq!(info["tiles"][0]["width"], 254);
    assert!(out.join("iiif/full/max/0/default.jpg").is_file());
    assert!(out
        .join("iiif/762,508,238,92/238,92/0/default.jpg")
        .is_file());
    assert!(out.join("thumbnail-256.jpg").is_file());
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("notes.jpg");
    std::fs::write(&input, "just some text, named like a picture").unwrap();
    let run = hugepic(&[
        "tile",
        input.to_str().unwrap(),
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("unsupported picture format"), "{stderr}");
    assert!(
        stderr.contains("HUGEpic reads JPEG, PNG, TIFF/BigTIFF and WebP"),
        "{stderr}"
    );
    let run = hugepic(&["tile", input.to_str().unwrap(), "out", "--tile-size", "0"]);
    assert!(!run.status.success());
}
