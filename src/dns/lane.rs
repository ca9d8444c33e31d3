//! The DNS lane: a small [`ThreadPool`] of its own, created on first use, shared by the process.
//!
//! It is separate from the default executor so that user jobs, however many and however long, never
//! delay a lookup (asyncio resolves in its default executor and is starved by it: CPython gh-112169).
//!
//! Its size is fixed when it starts ([`DEFAULT_LANE_SIZE`] unless [`set_lane_size`] was called
//! before); threads start on demand and retire after [`LANE_IDLE_TIMEOUT`] idle, so a program that
//! resolves once holds no thread afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use crate::error::{BuildError, JobError, SubmitError};
use crate::future::ConcurrentFuture;
use crate::sync::lock;
use crate::{PoolStats, ThreadPool};

/// How many resolver calls the lane runs at once unless [`set_lane_size`] says otherwise.
///
/// Four, as libuv's pool that Node resolves on: enough to overlap a few slow name servers, small
/// enough that a burst of distinct lookups does not hammer them.
///
/// # Examples
///
/// ```
/// assert!(tulip::dns::lane_size() >= 1);
/// assert_eq!(tulip::dns::DEFAULT_LANE_SIZE, 4);
/// ```
pub const DEFAULT_LANE_SIZE: usize = 4;

/// How long an idle lane thread waits for another lookup before it exits (the lane pool's
/// `idle_timeout`).
///
/// # Examples
///
/// ```
/// assert_eq!(tulip::dns::LANE_IDLE_TIMEOUT, std::time::Duration::from_secs(10));
/// ```
pub const LANE_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

struct Config {
    size: usize,
}

/// The lane's size until it starts; the lock also serialises the one-time start.
static CONFIG: Mutex<Config> = Mutex::new(Config { size: DEFAULT_LANE_SIZE });
static LANE: OnceLock<ThreadPool> = OnceLock::new();

/// Sets how many lookups the DNS lane runs at once; only before the first lookup that needs it.
///
/// Fails with [`BuildError::InvalidConfig`] for `0`, or once the lane has started (its threads are
/// already sized; a lookup of an IP literal does not start it).
///
/// # Examples
///
/// ```
/// // Early in main, before any lookup:
/// tulip::dns::set_lane_size(8).unwrap();
/// assert_eq!(tulip::dns::lane_size(), 8);
/// assert!(tulip::dns::set_lane_size(0).is_err());
/// ```
pub fn set_lane_size(n: usize) -> Result<(), BuildError> {
    if n == 0 {
        return Err(BuildError::InvalidConfig("the DNS lane needs at least one thread".into()));
    }
    let mut cfg = lock(&CONFIG);
    if LANE.get().is_some() {
        return Err(BuildError::InvalidConfig(format!(
            "the DNS lane is already running with {} threads; set its size before the first lookup",
            cfg.size
        )));
    }
    cfg.size = n;
    Ok(())
}

/// The size of the DNS lane: the configured size, or the size it runs with once started.
///
/// # Examples
///
/// ```
/// assert!(tulip::dns::lane_size() >= 1);
/// ```
pub fn lane_size() -> usize {
    lock(&CONFIG).size
}

/// The lane's pool statistics, or `None` before its first use.
pub(crate) fn pool_stats() -> Option<PoolStats> {
    LANE.get().map(ThreadPool::stats)
}

/// The lane, started on first use; a pool that cannot be built fails the lookup with
/// [`JobError::Spawn`] (the lane's settings are checked, so only the system can refuse it).
fn lane() -> Result<&'static ThreadPool, JobError> {
    if let Some(pool) = LANE.get() {
        return Ok(pool);
    }
    let cfg = lock(&CONFIG);
    if let Some(pool) = LANE.get() {
        return Ok(pool);
    }
    let pool = ThreadPool::builder()
        .max_workers(cfg.size)
        .thread_name_prefix("tulip-dns")
        .idle_timeout(LANE_IDLE_TIMEOUT)
        // Lookups take milliseconds: a worker spinning for the next one would only burn CPU.
        .idle_spin(Duration::ZERO)
        .build()
        .map_err(|e| JobError::Spawn(e.to_string()))?;
    // Under the config lock nobody else initialises it; `set` cannot fail, and if it did the pool we
    // built is simply dropped and the stored one used.
    let _ = LANE.set(pool);
    drop(cfg);
    LANE.get().ok_or_else(|| JobError::Spawn("the DNS lane could not be stored".into()))
}

/// Runs `job` on the lane; a refusal is the error the lookup's callers see.
pub(super) fn submit<F>(job: F) -> Result<ConcurrentFuture<()>, JobError>
where
    F: FnOnce() + Send + 'static,
{
    lane()?.submit(job).map_err(SubmitError::into_job_error)
}

/// Test hook: while a [`LaneHold`] lives, lane jobs wait before calling the resolver.
static HELD: AtomicBool = AtomicBool::new(false);
static HOLD: Mutex<usize> = Mutex::new(0);
static RELEASED: Condvar = Condvar::new();

/// Blocks while a [`LaneHold`] exists (one relaxed load otherwise).
pub(super) fn wait_while_held() {
    if !HELD.load(Ordering::Acquire) {
        return;
    }
    let mut holds = lock(&HOLD);
    while *holds > 0 {
        holds = RELEASED.wait(holds).unwrap_or_else(|e| e.into_inner());
    }
}

/// Makes lane jobs wait before their resolver call until dropped; see [`hold_lookups`].
#[doc(hidden)]
#[derive(Debug)]
#[must_use = "the hold ends when this is dropped"]
pub struct LaneHold {
    _private: (),
}

/// Test hook: holds every lane lookup before its resolver call until the returned guard is dropped,
/// so a test can make lookups overlap deterministically (single-flight). Not for production use.
#[doc(hidden)]
pub fn hold_lookups() -> LaneHold {
    *lock(&HOLD) += 1;
    HELD.store(true, Ordering::Release);
    LaneHold { _private: () }
}

impl Drop for LaneHold {
    fn drop(&mut self) {
        let mut holds = lock(&HOLD);
        *holds = holds.saturating_sub(1);
        if *holds == 0 {
            HELD.store(false, Ordering::Release);
            RELEASED.notify_all();
        }
    }
}
