//! Where the history's CPU work runs: never on the async runtime's threads, which carry
//! every connection of the hub (with one core, the runtime has one thread: a replay of a
//! large document there stalls every room's fan-out until it ends).
//!
//! - `request`: work someone is waiting on (a moment for `history/state`, a restore), on
//!   tokio's blocking pool.
//! - `background`: the index, which nobody waits on but reads of the history, on one
//!   thread of its own at a lower priority (nice +10), so that on a busy machine the
//!   hub's work goes first.

use std::sync::mpsc as std_mpsc;
use std::sync::{Mutex, OnceLock};

use tokio::sync::oneshot;

use super::HistoryError;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// How much lower the background thread's priority is (a nice value).
const BACKGROUND_NICE: i32 = 10;

/// Runs `work` on tokio's blocking pool.
pub async fn request<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HistoryError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| HistoryError::Stopped)
}

/// Runs `work` on the history's background thread (started on first use).
pub async fn background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HistoryError> {
    let (done, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    let sent = background_queue()
        .lock()
        .map_err(|_| HistoryError::Stopped)?
        .send(job);
    if sent.is_err() {
        return Err(HistoryError::Stopped);
    }
    result.await.map_err(|_| HistoryError::Stopped)
}

fn background_queue() -> &'static Mutex<std_mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Mutex<std_mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, jobs) = std_mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("hugepic-history".into())
            .spawn(move || {
                lower_priority();
                for job in jobs {
                    // A job that panics loses its answer (its caller hears `Stopped`),
                    // not the thread.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "could not start the history's background thread");
        }
        Mutex::new(queue)
    })
}

/// Lowers the calling thread's priority (Linux keeps a nice value per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take no pointers; they only read and set the
        // calling thread's scheduling priority.
        let set = unsafe {
            let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, thread, BACKGROUND_NICE)
        };
        if set != 0 {
            tracing::debug!("could not lower the history thread's priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn both_run_the_work_and_a_panicking_job_does_not_stop_the_thread() {
        assert_eq!(request(|| 2 + 2).await.unwrap(), 4);
        assert_eq!(background(|| "indexed").await.unwrap(), "indexed");
        let thread = background(|| std::thread::current().name().map(String::from))
            .await
            .unwrap();
        assert_eq!(thread.as_deref(), Some("hugepic-history"));
        let failed = background(|| -> u8 { panic!("a bad job") }).await;
        assert!(matches!(failed, Err(HistoryError::Stopped)));
        assert_eq!(background(|| 7).await.unwrap(), 7, "the thread goes on");
        #[cfg(target_os = "linux")]
        {
            // SAFETY: as in lower_priority.
            let nice = background(|| unsafe {
                libc::getpriority(
                    libc::PRIO_PROCESS,
                    libc::syscall(libc::SYS_gettid) as libc::id_t,
                )
            })
            .await
            .unwrap();
            assert_eq!(nice, BACKGROUND_NICE);
        }
    }
}
