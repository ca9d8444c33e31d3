//! Run-time limits of thread-pool jobs (`ThreadPool::submit_with_limit`): one process-wide watchdog
//! thread that fails a job's future when the job has run for its limit.
//!
//! A thread cannot be killed, so the limit is reported, not enforced: at the limit the job's
//! [`CancelToken`](crate::CancelToken) is set and its future fails with `JobError::TimedOut` at once;
//! the job keeps its thread until it returns, and what it returns then is dropped.
//!
//! # Implementation
//!
//! Armed limits sit in one ordered map keyed by deadline; the watchdog sleeps on a condvar until the
//! earliest one, and fires it outside the lock (failing a future runs its done-callbacks, user code
//! that may arm another limit). Disarming removes the entry; an entry already gone has fired, or is
//! firing, so the job's outcome is the time-out either way: the job and the watchdog agree on it.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::JobError;
use crate::future::Promise;

/// What a job that ran past `limit` fails with.
pub(super) fn timed_out(limit: Duration) -> JobError {
    JobError::TimedOut(limit)
}

/// Fails a running job's future with the time-out (and sets its token).
type Expiry = Box<dyn FnOnce() + Send>;

/// The armed limits, keyed by (deadline, arming number): the number keeps equal deadlines apart.
type Armed = (BTreeMap<(Instant, u64), Expiry>, u64);

/// The watchdog's state: the armed limits, earliest first.
struct Watchdog {
    /// The armed limits and the last arming number.
    armed: Mutex<Armed>,
    /// Signalled when a limit earlier than every other is armed.
    changed: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The one watchdog of the process.
static WATCHDOG: Watchdog = Watchdog { armed: Mutex::new((BTreeMap::new(), 0)), changed: Condvar::new() };

/// Starts the watchdog's thread if it is not running yet; `Err` (the OS's error) if it could not
/// start.
pub(super) fn start_watchdog() -> Result<(), String> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    let started = STARTED.get_or_init(|| {
        std::thread::Builder::new()
            .name("tulip-limit-watchdog".into())
            .spawn(|| WATCHDOG.run())
            .map(drop)
            .map_err(|e| format!("could not start the run-time limit watchdog thread: {e}"))
    });
    started.clone()
}

impl Watchdog {
    /// Sleeps until the earliest deadline, fires what is due, forever.
    fn run(&self) {
        let mut armed = lock(&self.armed);
        loop {
            let now = Instant::now();
            let next = armed.0.keys().next().copied();
            armed = match next {
                None => self.changed.wait(armed).unwrap_or_else(|e| e.into_inner()),
                Some(key) if key.0 <= now => {
                    let expiry = armed.0.remove(&key);
                    drop(armed);
                    if let Some(expire) = expiry {
                        // Failing the future runs its done-callbacks, which catch their own panics;
                        // the watchdog must outlive anything else, or no limit would fire again.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(expire));
                    }
                    lock(&self.armed)
                }
                Some((deadline, _)) => {
                    self.changed.wait_timeout(armed, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }
}

/// An armed limit of one running job.
pub(super) struct Watch {
    key: (Instant, u64),
    limit: Duration,
}

/// Arms `limit` for the job of `promise`, which has just started. `None`: a limit too far away to
/// represent (it never fires), or a job already done. `submit_with_limit` started the watchdog.
pub(super) fn arm<T: Send + 'static>(limit: Duration, promise: &Promise<T>) -> Option<Watch> {
    let deadline = Instant::now().checked_add(limit)?;
    let dog = &WATCHDOG;
    let fail = promise.failer()?;
    let expire: Expiry = Box::new(move || {
        fail(timed_out(limit));
    });
    let mut armed = lock(&dog.armed);
    armed.1 += 1;
    let key = (deadline, armed.1);
    let earliest = armed.0.keys().next().is_none_or(|first| key < *first);
    armed.0.insert(key, expire);
    drop(armed);
    if earliest {
        dog.changed.notify_one();
    }
    Some(Watch { key, limit })
}

impl Watch {
    /// The job returned: takes the limit back. `Some(error)` if it had fired already (or is firing
    /// now): then the job's outcome is that time-out.
    pub(super) fn disarm(self) -> Option<JobError> {
        match lock(&WATCHDOG.armed).0.remove(&self.key) {
            Some(_) => None,
            None => Some(timed_out(self.limit)),
        }
    }
}
