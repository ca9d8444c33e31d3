//! A thread that checks every `stats()` snapshot of a pool against the submits made so far: a task
//! is queued, running or ended, never two of them at once, so a snapshot never holds more tasks than
//! were submitted; and, for a pool that promises it, never fewer than the submits that returned.
#![allow(dead_code)] // each pool's test uses one of the two checks

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub struct SnapshotWatch {
    /// Counted before each submit, so that a task in the pool is always counted here first.
    submitted: Arc<AtomicU64>,
    /// Counted after each submit returned, so that a task counted here is surely in the pool.
    returned: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    watcher: JoinHandle<()>,
}

impl SnapshotWatch {
    /// Checks that no snapshot `stats` takes counts a task twice, until [`finish`](Self::finish).
    pub fn never_twice(stats: impl Fn() -> tulip::PoolStats + Send + 'static) -> SnapshotWatch {
        Self::start(stats, false)
    }

    /// Checks that every snapshot counts each task submitted so far exactly once.
    pub fn exactly_once(stats: impl Fn() -> tulip::PoolStats + Send + 'static) -> SnapshotWatch {
        Self::start(stats, true)
    }

    fn start(stats: impl Fn() -> tulip::PoolStats + Send + 'static, exact: bool) -> SnapshotWatch {
        let [submitted, returned] = [(); 2].map(|()| Arc::new(AtomicU64::new(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (submitted, returned, stop) = (submitted.clone(), returned.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let at_least = if exact { returned.load(Ordering::Acquire) } else { 0 };
                    let s = stats();
                    let seen = s.completed + s.failed + s.cancelled + (s.running + s.queued) as u64;
                    let at_most = submitted.load(Ordering::Acquire);
                    assert!(seen <= at_most, "{seen} tasks in a snapshot after {at_most} submits: {s:?}");
                    assert!(
                        seen >= at_least,
                        "{seen} tasks in a snapshot after {at_least} returned submits: {s:?}"
                    );
                }
            })
        };
        SnapshotWatch { submitted, returned, stop, watcher }
    }

    /// Call right before each submit.
    pub fn submitting(&self) {
        self.submitted.fetch_add(1, Ordering::AcqRel);
    }

    /// Call right after each submit returned.
    pub fn submitted(&self) {
        self.returned.fetch_add(1, Ordering::AcqRel);
    }

    /// Stops the watcher; panics if it saw a snapshot that miscounted.
    pub fn finish(self) {
        self.stop.store(true, Ordering::Release);
        self.watcher.join().expect("every snapshot counted each task as promised");
    }
}
