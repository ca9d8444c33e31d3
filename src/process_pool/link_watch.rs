//! A remote worker's link watcher: reads the link while a long task runs, for `Kill` and the
//! link's end.
//!
//! A remote worker reads the pool's frames from its link itself (see `nanny`): no process relays
//! them, which on a round trip over ssh would cost one more process wakeup. Between tasks the
//! runner reads the link as a local worker reads its socket. While a task runs nobody would, and a
//! `Kill` (the task's timeout, a cancel) or the link's end (the pool is gone) must still stop the
//! worker, so a second thread watches:
//!
//! - The runner marks each task it starts in `running` (a number that changes with every task, 0
//!   between tasks): one store per task, no system call, no wakeup.
//! - The watcher looks every [`WATCH_EVERY`]. Once the same task has run for a whole period, it
//!   polls the link and reads what comes into the stash, walking its frames from where the runner
//!   left the stream (the walker the runner publishes after each of its reads). A `Kill` ends the
//!   process at once (`_exit(EXIT_KILLED)`: no destructor runs while the task's thread holds
//!   whatever it holds), and so does the link's end (`EXIT_ORPHAN`); the nanny then kills what the
//!   tasks started (the worker's process group).
//! - When the task ends, the runner takes the stash before it reads the link again, so the pool's
//!   bytes keep their order.
//!
//! # Caveats
//!
//! A `Kill` sent in a task's first [`WATCH_EVERY`] is read one to two periods after the task
//! started. A worker blocked writing a result onto a link nobody drains reads nothing; the pool
//! ends such a link when its `Kill` goes unanswered.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::lock;
use super::wire::{FrameWalker, KIND_KILL};
use super::worker::{EXIT_KILLED, EXIT_ORPHAN};

/// How often the watcher looks at the runner, and how long a task runs before the link is watched.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// What the runner and the watcher share.
///
/// Invariant: one thread at a time reads the link. The watcher reads only under the stash's lock,
/// after setting `watching` and then seeing the task it watches still in `running`; the runner
/// clears `running` and then looks at `watching`, all four sequentially consistent. Either the
/// runner sees `watching` and takes the lock (waiting out a read), or the watcher sees the task
/// ended and does not read.
pub(crate) struct LinkWatch {
    /// The runner's task count while a task runs, 0 between tasks.
    running: AtomicU64,
    /// Set by the watcher before each read of a task's; cleared by whoever sees the task ended.
    watching: AtomicBool,
    stash: Mutex<Stash>,
}

/// What the watcher read and the runner has not taken yet.
struct Stash {
    bytes: Vec<u8>,
    /// Where the stream stands after `bytes`.
    walker: FrameWalker,
}

impl LinkWatch {
    /// Starts the watcher thread on `input` (the runner's link).
    pub(crate) fn start(input: &File) -> io::Result<Arc<LinkWatch>> {
        let watch = Arc::new(LinkWatch {
            running: AtomicU64::new(0),
            watching: AtomicBool::new(false),
            stash: Mutex::new(Stash { bytes: Vec::new(), walker: FrameWalker::default() }),
        });
        let (ours, input) = (watch.clone(), input.try_clone()?);
        std::thread::Builder::new().name("tulip-link-watch".into()).spawn(move || ours.run(input))?;
        Ok(watch)
    }

    /// The runner read the link up to where `walker` stands.
    pub(crate) fn read_up_to(&self, walker: FrameWalker) {
        lock(&self.stash).walker = walker;
    }

    /// The runner starts its `n`-th task (`n > 0`).
    pub(crate) fn task_started(&self, n: u64) {
        self.running.store(n, SeqCst);
    }

    /// The runner's task ended: what the watcher read meanwhile, to be taken before the link.
    pub(crate) fn task_ended(&self) -> Option<Vec<u8>> {
        self.running.store(0, SeqCst);
        if !self.watching.load(SeqCst) {
            return None;
        }
        let mut stash = lock(&self.stash);
        self.watching.store(false, SeqCst);
        Some(std::mem::take(&mut stash.bytes))
    }

    /// The watcher thread: watches each task that runs for a whole period, until the process ends.
    fn run(&self, mut input: File) {
        let mut seen = 0;
        loop {
            std::thread::sleep(WATCH_EVERY);
            let n = self.running.load(SeqCst);
            if n != 0 && n == seen {
                self.watch(n, &mut input);
            }
            seen = n;
        }
    }

    /// Reads the link while task `n` runs.
    fn watch(&self, n: u64, input: &mut File) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            {
                let mut stash = lock(&self.stash);
                self.watching.store(true, SeqCst);
                if self.running.load(SeqCst) != n {
                    self.watching.store(false, SeqCst);
                    return;
                }
                match input.read(&mut buf) {
                    Ok(0) => exit(EXIT_ORPHAN),
                    Ok(k) => {
                        stash.walker.advance(&buf[..k], |kind| {
                            if kind == KIND_KILL {
                                exit(EXIT_KILLED)
                            }
                        });
                        stash.bytes.extend_from_slice(&buf[..k]);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => exit(EXIT_ORPHAN),
                }
            }
            let mut pfd = libc::pollfd { fd: input.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd; an error or a timeout only leads to the next look.
            unsafe { libc::poll(&mut pfd, 1, WATCH_EVERY.as_millis() as libc::c_int) };
        }
    }
}

/// Ends the process now, whatever the runner is doing.
fn exit(code: i32) -> ! {
    // SAFETY: `_exit` ends the process without running anything of ours.
    unsafe { libc::_exit(code) }
}
