//! Counters for `/metrics`, in the Prometheus text format.

use std::fmt::{Display, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// The jobs a worker runs (the queues' names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    BuildPyramid,
    DeletePicture,
}

impl JobKind {
    const ALL: [JobKind; 2] = [JobKind::BuildPyramid, JobKind::DeletePicture];

    /// The queue's name, as the `kind` label.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::BuildPyramid => "build-pyramid",
            JobKind::DeletePicture => "delete-picture",
        }
    }
}

/// What became of a job, or of one try of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Finished.
    Done,
    /// The picture was refused (corrupt, unsupported, too big): the job ended at once.
    Refused,
    /// Failed for good after its tries.
    Failed,
    /// A try failed and the job tries again.
    Retried,
    /// Taken up again after the worker that had it stopped sending heartbeats.
    Reclaimed,
}

impl JobOutcome {
    const ALL: [JobOutcome; 5] = [
        JobOutcome::Done,
        JobOutcome::Refused,
        JobOutcome::Failed,
        JobOutcome::Retried,
        JobOutcome::Reclaimed,
    ];

    fn name(self) -> &'static str {
        match self {
            JobOutcome::Done => "done",
            JobOutcome::Refused => "refused",
            JobOutcome::Failed => "failed",
            JobOutcome::Retried => "retried",
            JobOutcome::Reclaimed => "reclaimed",
        }
    }
}

/// Failures that are logged and then lived with (retried later, or given up on a
/// message), counted by what failed: `hugepic_failures_total{what}`. Drops and retries
/// with counters of their own (relay, log writer, S3, jobs, snapshots) are not repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A job's progress could not be stored.
    ProgressRecord,
    /// Progress could not be published to Redis.
    ProgressPublish,
    /// The Redis progress subscription failed or was lost.
    ProgressSubscription,
    /// The hub's Redis subscription failed or was lost.
    RelaySubscription,
    /// A message on a hub channel was refused (malformed, or from an unknown sender).
    RelayMessage,
    /// A room's inbox from other nodes was full: a message dropped (repair catches up).
    RelayInbox,
    /// An update from another node did not decode.
    NodeUpdate,
    /// The history index could not be brought up to date (tried again later).
    HistoryIndex,
    /// A logged update did not apply cleanly while replaying the history.
    HistoryReplay,
    /// Streaming history frames to a client failed.
    HistoryStream,
    /// A document could not be loaded for a connection.
    DocumentLoad,
    /// Expired uploads could not be removed (tried again in a minute).
    UploadExpiry,
    /// A stored update of a document did not decode when the document was loaded
    /// (skipped).
    StoredUpdate,
    /// The job queues' depth could not be read for `/metrics`.
    QueueDepth,
    /// A job worker stopped with an error.
    Worker,
    /// A worker's metrics listener stopped with an error.
    Listener,
}

impl Failure {
    const ALL: [Failure; 16] = [
        Failure::ProgressRecord,
        Failure::ProgressPublish,
        Failure::ProgressSubscription,
        Failure::RelaySubscription,
        Failure::RelayMessage,
        Failure::RelayInbox,
        Failure::NodeUpdate,
        Failure::HistoryIndex,
        Failure::HistoryReplay,
        Failure::HistoryStream,
        Failure::DocumentLoad,
        Failure::UploadExpiry,
        Failure::StoredUpdate,
        Failure::QueueDepth,
        Failure::Worker,
        Failure::Listener,
    ];

    fn name(self) -> &'static str {
        match self {
            Failure::ProgressRecord => "progress_record",
            Failure::ProgressPublish => "progress_publish",
            Failure::ProgressSubscription => "progress_subscription",
            Failure::RelaySubscription => "relay_subscription",
            Failure::RelayMessage => "relay_message",
            Failure::RelayInbox => "relay_inbox",
            Failure::NodeUpdate => "node_update",
            Failure::HistoryIndex => "history_index",
            Failure::HistoryReplay => "history_replay",
            Failure::HistoryStream => "history_stream",
            Failure::DocumentLoad => "document_load",
            Failure::UploadExpiry => "upload_expiry",
            Failure::StoredUpdate => "stored_update",
            Failure::QueueDepth => "queue_depth",
            Failure::Worker => "worker",
            Failure::Listener => "metrics_listener",
        }
    }
}

/// This process's counts of `Failure`s (process-wide: the places that fail hold no
/// shared state in common).
static FAILURES: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];

/// One sample per job kind, `value` of its queue (the default for a queue not listed).
fn by_kind<V: Default>(
    queues: &[crate::jobs::QueueDepth],
    value: impl Fn(&crate::jobs::QueueDepth) -> V,
) -> [(String, V); 2] {
    JobKind::ALL.map(|kind| {
        let queue = queues.iter().find(|q| q.queue == kind.name());
        (
            format!("kind=\"{}\"", kind.name()),
            queue.map_or_else(V::default, &value),
        )
    })
}

/// Counts one failure of `what` (the caller logs it).
pub fn failed(what: Failure) {
    let i = Failure::ALL.iter().position(|f| *f == what).unwrap_or(0);
    FAILURES[i].fetch_add(1, Ordering::Relaxed);
}

/// Writes one metric family: help, type, and each sample (`labels` as `k="v",…`, or
/// empty for none).
pub fn family<V: Display>(
    out: &mut String,
    name: &str,
    help: &str,
    kind: &str,
    samples: impl IntoIterator<Item = (String, V)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// One sample without labels.
pub fn single<V: Display>(value: V) -> [(String, V); 1] {
    [(String::new(), value)]
}

/// Reads a counter.
pub fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

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
    /// By `JobKind` then `JobOutcome`.
    jobs: [[AtomicU64; 5]; 2],
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

    /// Counts a job's outcome (or a try's).
    pub fn job(&self, kind: JobKind, outcome: JobOutcome) {
        let k = JobKind::ALL.iter().position(|x| *x == kind).unwrap_or(0);
        let o = JobOutcome::ALL
            .iter()
            .position(|x| *x == outcome)
            .unwrap_or(0);
        self.jobs[k][o].fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition of these counters, with `pictures` (status, count) from the
    /// store and the job queues' depth when known.
    pub fn render(
        &self,
        pictures: &[(&str, u64)],
        queues: Option<&[crate::jobs::QueueDepth]>,
    ) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "hugepic_http_requests_total",
            "HTTP requests answered, by status class.",
            "counter",
            [
                ("2xx", &self.requests_2xx),
                ("3xx", &self.requests_3xx),
                ("4xx", &self.requests_4xx),
                ("5xx", &self.requests_5xx),
            ]
            .map(|(class, c)| (format!("class=\"{class}\""), read(c))),
        );
        for (name, help, counter) in [
            (
                "hugepic_tiles_served_total",
                "Pyramid objects served.",
                &self.tiles_served,
            ),
            (
                "hugepic_tiles_written_total",
                "Pyramid objects stored by this process's workers, counted as they are stored (for S3, as they are handed to the uploads).",
                &self.tiles_written,
            ),
            (
                "hugepic_upload_bytes_total",
                "Bytes received in uploads.",
                &self.upload_bytes,
            ),
        ] {
            family(&mut out, name, help, "counter", single(read(counter)));
        }
        family(
            &mut out,
            "hugepic_jobs_total",
            "Jobs run by this process's workers, by kind and outcome: done, refused (the \
             picture is corrupt, unsupported or too big), failed (for good), retried (a try \
             failed; counted per try), reclaimed (taken up after another worker's heartbeats \
             stopped).",
            "counter",
            JobKind::ALL.iter().enumerate().flat_map(|(k, kind)| {
                JobOutcome::ALL.iter().enumerate().map(move |(o, outcome)| {
                    (
                        format!("kind=\"{}\",outcome=\"{}\"", kind.name(), outcome.name()),
                        read(&self.jobs[k][o]),
                    )
                })
            }),
        );
        let s3 = &hugepic_workers::storage::s3::REQUESTS;
        family(
            &mut out,
            "hugepic_s3_requests_total",
            "S3 requests by outcome: answered, retried (an attempt failed and was tried again), \
             failed (for good).",
            "counter",
            [
                ("answered", &s3.answered),
                ("retried", &s3.retried),
                ("failed", &s3.failed),
            ]
            .map(|(outcome, c)| (format!("outcome=\"{outcome}\""), read(c))),
        );
        family(
            &mut out,
            "hugepic_failures_total",
            "Failures logged and lived with (retried later, or one message given up), by what \
             failed. Drops and retries with counters of their own are not repeated here.",
            "counter",
            Failure::ALL
                .iter()
                .zip(&FAILURES)
                .map(|(what, n)| (format!("what=\"{}\"", what.name()), read(n))),
        );
        family(
            &mut out,
            "hugepic_pictures",
            "Pictures by status (jobs queued, running, done, failed).",
            "gauge",
            pictures
                .iter()
                .map(|(status, count)| (format!("status=\"{status}\""), *count)),
        );
        if let Some(queues) = queues {
            family(
                &mut out,
                "hugepic_jobs_queued",
                "Jobs waiting for a worker, by queue.",
                "gauge",
                by_kind(queues, |q| q.waiting),
            );
            family(
                &mut out,
                "hugepic_jobs_oldest_queued_seconds",
                "How long the oldest job due has waited for a worker, by queue (0: none).",
                "gauge",
                by_kind(queues, |q| q.oldest_seconds),
            );
        }
        out
    }
}
