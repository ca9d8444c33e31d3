//! A thread that checks every `stats()` snapshot of a pool against the submits made so far: a task
//! is queued, running or ended, never two of them at once, so a snapshot never holds more tasks than
//! were submitted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub struct SnapshotWatch {
    /// Counted before each submit, so that a task in the pool is always counted here first.
    submitted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    watcher: JoinHandle<()>,
}

impl SnapshotWatch {
    /// Starts checking the snapshots `stats` takes until [`finish`](Self::finish).
    pub fn start(stats: impl Fn() -> tulip::PoolStats + Send + 'static) -> SnapshotWatch {
        let (submitted, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let watcher = {
            let (submitted, stop) = (submitted.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let s = stats();
                    let seen = s.completed + s.failed + s.cancelled + (s.running + s.queued) as u64;
                    let at_most = submitted.load(Ordering::Acquire);
                    assert!(seen <= at_most, "{seen} tasks in a snapshot after {at_most} submits: {s:?}");
                }
            })
        };
        SnapshotWatch { submitted, stop, watcher }
    }

    /// Call right before each submit.
    pub fn submitting(&self) {
        self.submitted.fetch_add(1, Ordering::AcqRel);
    }

    /// Stops the watcher; panics if it saw a snapshot that counted a task twice.
    pub fn finish(self) {
        self.stop.store(true, Ordering::Release);
        self.watcher.join().expect("no snapshot counted a task twice");
    }
}
