//! The spawn lane: where [`Command::status`](super::Command::status) and
//! [`Command::output`](super::Command::output) make their `posix_spawn` call, off the loop thread.
//!
//! `posix_spawn` returns only once the child has called `exec`, and a child waits for a CPU behind
//! the ones started before it: amid a fan-out a spawn blocks its thread for most of a millisecond.
//! On the loop thread that wait holds up everything else the loop does (the exits of earlier
//! children among it), and only one child is ever between its clone and its `exec`. On a lane of
//! several threads, the loop goes on while children start, several at once. `spawn` itself stays on
//! the loop thread: it returns the [`Child`](super::Child) at once, as `tokio::process` does.
//!
//! # Implementation
//!
//! A [`ThreadPool`] of its own, created on first use, of [`lane_size`] threads that retire after
//! [`IDLE_TIMEOUT`] idle and never spin for work (a spawn takes far longer than a spin). A lane
//! job owns what it starts until the loop takes it: if the waiting future was dropped meanwhile,
//! the child goes to the background reaper (killed first under `kill_on_drop`), as an unwaited
//! [`Child`](super::Child) would. Where the lane cannot start (no thread to be had), or did not run
//! the spawn, it is made on the loop thread.
//!
//! # Caveats
//!
//! The lane's threads never set a parent-death signal: commands that ask for one
//! ([`die_with_parent`](super::Command::die_with_parent)) are spawned on the loop thread, whose
//! life the signal follows.

use std::ffi::{CString, OsString};
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::reaper;
use super::spawn::{self, Started, Stream};
use crate::process_pool::child::Child as Proc;
use crate::sync::lock;
use crate::ThreadPool;

/// How long an idle lane thread waits for another spawn before it exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many spawns run at once: four per CPU, between 4 and 16. A spawning thread mostly waits
/// for its child to get a CPU and call `exec`; with a few such children per CPU a CPU is never
/// idle between two (W9 on 2 CPUs: 0.94× the best peer's time with 2 threads, 0.91× with 4, 0.84×
/// with 8, 0.88× with 16, medians of 5 runs).
fn lane_size() -> usize {
    (4 * crate::process_pool::cpus()).clamp(4, 16)
}

/// The lane, built on first use; `None` if it could not be.
fn lane() -> Option<&'static ThreadPool> {
    static LANE: OnceLock<Option<ThreadPool>> = OnceLock::new();
    LANE.get_or_init(|| {
        ThreadPool::builder()
            .max_workers(lane_size())
            .thread_name_prefix("tulip-spawn")
            .idle_timeout(IDLE_TIMEOUT)
            .idle_spin(Duration::ZERO)
            .build()
            .ok()
    })
    .as_ref()
}

/// What [`spawn::posix_spawn`] needs, owned, so that it can move to a lane thread.
pub(super) struct SpawnArgs {
    pub argv: Vec<OsString>,
    pub env: Option<Vec<CString>>,
    pub pgroup: Option<i32>,
    pub streams: [Stream; 3],
    /// Whether a child nobody took is killed before it goes to the reaper.
    pub kill_on_drop: bool,
}

impl SpawnArgs {
    /// Starts the child on this thread.
    pub(super) fn here(self) -> io::Result<Started> {
        take(self.spawn())
    }

    fn spawn(self) -> io::Result<Unclaimed> {
        let argv: Vec<&std::ffi::OsStr> = self.argv.iter().map(OsString::as_os_str).collect();
        let (pid, ends) = spawn::posix_spawn(&argv, self.env.as_deref(), self.pgroup, self.streams)?;
        Ok(Unclaimed { started: Some((pid, ends)), kill_on_drop: self.kill_on_drop })
    }
}

/// A started child that nobody has taken yet; dropped untaken, it goes to the reaper.
struct Unclaimed {
    /// `None` once taken.
    started: Option<Started>,
    kill_on_drop: bool,
}

impl Drop for Unclaimed {
    fn drop(&mut self) {
        if let Some((pid, _ends)) = self.started.take() {
            reaper::orphan(Proc::new(pid), self.kill_on_drop);
        }
    }
}

/// Starts the child on the lane and waits for it there without blocking the loop; on the loop
/// thread itself if the lane cannot take it.
pub(super) async fn posix_spawn(args: SpawnArgs) -> io::Result<Started> {
    let Some(pool) = lane() else { return args.here() };
    // Shared with the job so that a spawn the lane never ran can still be made here.
    let slot = Arc::new(Mutex::new(Some(args)));
    let theirs = slot.clone();
    let job = move || lock(&*theirs).take().map(SpawnArgs::spawn);
    if let Ok(started) = pool.submit(job) {
        if let Ok(Some(r)) = started.await {
            return take(r);
        }
    }
    let args = lock(&*slot).take();
    args.ok_or_else(|| io::Error::other("the spawn lane lost a child it started"))?.here()
}

fn take(r: io::Result<Unclaimed>) -> io::Result<Started> {
    let mut u = r?;
    u.started.take().ok_or_else(|| io::Error::other("a started child was taken twice"))
}
