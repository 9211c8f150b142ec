//! Counters for `/metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Process-wide counters.
#[derive(Default)]
pub struct Metrics {
    requests_2xx: AtomicU64,
    requests_3xx: AtomicU64,
    requests_4xx: AtomicU64,
    requests_5xx: AtomicU64,
    tiles_served: AtomicU64,
    tiles_written: AtomicU64,
    upload_bytes: AtomicU64,
}

impl Metrics {
    /// Counts one answered request by status class.
    pub fn request(&self, status: u16) {
        let counter = match status {
            200..=299 => &self.requests_2xx,
            300..=399 => &self.requests_3xx,
            400..=499 => &self.requests_4xx,
            _ => &self.requests_5xx,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one tile (or other pyramid object) served.
    pub fn tile_served(&self) {
        self.tiles_served.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts pyramid objects stored by this process's workers.
    pub fn tiles_written(&self, n: u64) {
        self.tiles_written.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts received upload bytes.
    pub fn uploaded(&self, bytes: u64) {
        self.upload_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The text exposition, with `pictures` (status, count) from the store.
    pub fn render(&self, pictures: &[(&str, u64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP hugepic_http_requests_total HTTP requests answered, by status class."
        );
        let _ = writeln!(out, "# TYPE hugepic_http_requests_total counter");
        for (class, counter) in [
            ("2xx", &self.requests_2xx),
            ("3xx", &self.requests_3xx),
            ("4xx", &self.requests_4xx),
            ("5xx", &self.requests_5xx),
        ] {
            let _ = writeln!(
                out,
                "hugepic_http_requests_total{{class=\"{class}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP hugepic_tiles_served_total Pyramid objects served."
        );
        let _ = writeln!(out, "# TYPE hugepic_tiles_served_total counter");
        let _ = writeln!(
            out,
            "hugepic_tiles_served_total {}",
            self.tiles_served.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hugepic_tiles_written_total Pyramid objects stored by this process's workers."
        );
        let _ = writeln!(out, "# TYPE hugepic_tiles_written_total counter");
        let _ = writeln!(
            out,
            "hugepic_tiles_written_total {}",
            self.tiles_written.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hugepic_upload_bytes_total Bytes received in uploads."
        );
        let _ = writeln!(out, "# TYPE hugepic_upload_bytes_total counter");
        let _ = writeln!(
            out,
            "hugepic_upload_bytes_total {}",
            self.upload_bytes.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hugepic_pictures Pictures by status (jobs queued, running, done, failed)."
        );
        let _ = writeln!(out, "# TYPE hugepic_pictures gauge");
        for (status, count) in pictures {
            let _ = writeln!(out, "hugepic_pictures{{status=\"{status}\"}} {count}");
        }
        out
    }
}
