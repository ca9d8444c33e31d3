//! The background reaper: collects children whose [`Child`](super::Child) was dropped unwaited.
//!
//! # Implementation
//!
//! One thread for the whole process, started with the first orphan, sleeps in a poller (`crate::poller`)
//! on the orphans' pidfds (readable once a process ends) and reaps each one that ended with
//! `waitid(P_PIDFD)`, or `waitpid(pid)` on kernels without pidfds: only its own orphans, never
//! `waitpid(-1)`, so children of the process pool or of the user's own code are never taken.
//! Orphans without a pidfd are looked at again on each `SIGCHLD` (a [`ChildWake`] pipe in the same
//! poller), or every [`RETRY`] if no wake slot could be had.

use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::poller::{Event, Events, Poller};
use crate::process_pool::child::{Child, Waited};
use crate::signal::os::{drain, ChildWake};

/// How often orphans without a pidfd are looked at when no `SIGCHLD` wake could be had.
const RETRY: Duration = Duration::from_millis(50);
/// The poller key of the `SIGCHLD` pipe (orphans' keys are their pids; the poller keeps
/// `usize::MAX` for its own notifications).
const SIGCHLD_KEY: usize = usize::MAX - 1;

/// What the caller and the reaper thread share.
struct Shared {
    poller: Poller,
    /// Orphans handed over and not yet looked at by the thread.
    incoming: Mutex<Vec<Child>>,
}

/// Hands `child` to the reaper thread, which reaps it once it ends.
fn adopt(mut child: Child) {
    if matches!(child.try_wait(false), Waited::Gone(_) | Waited::Unknown) {
        return;
    }
    let Some(shared) = reaper() else {
        // No thread could be started: the zombie stays, which is better than blocking the loop.
        log::warn!("tulip: no reaper thread; child {} is left unreaped", child.pid());
        return;
    };
    shared.incoming.lock().unwrap_or_else(|e| e.into_inner()).push(child);
    let _ = shared.poller.notify();
}

/// Sends a child nobody waits for to the reaper thread, killed first if `kill` (its command's
/// `kill_on_drop`).
pub(super) fn orphan(mut child: Child, kill: bool) {
    if kill {
        child.signal(libc::SIGKILL);
    }
    adopt(child);
}

fn reaper() -> Option<&'static Arc<Shared>> {
    static REAPER: OnceLock<Option<Arc<Shared>>> = OnceLock::new();
    REAPER
        .get_or_init(|| {
            let shared = Arc::new(Shared { poller: Poller::new().ok()?, incoming: Mutex::new(Vec::new()) });
            let s = shared.clone();
            std::thread::Builder::new().name("tulip-reaper".into()).spawn(move || run(&s)).ok()?;
            Some(shared)
        })
        .as_ref()
}

/// The thread: take in new orphans, reap those that ended, sleep until one may have.
fn run(shared: &Shared) {
    let mut orphans: Vec<Child> = Vec::new();
    let mut events = Events::new();
    let mut sigchld: Option<ChildWake> = None;
    loop {
        let new = std::mem::take(&mut *shared.incoming.lock().unwrap_or_else(|e| e.into_inner()));
        for child in new {
            watch(&shared.poller, &child);
            orphans.push(child);
        }
        let blind = orphans.iter().any(|c| c.pidfd().is_none());
        if blind && sigchld.is_none() {
            sigchld = ChildWake::new();
        }
        // Re-armed before the looks below: a child that ends after them still wakes the poller.
        if let Some(wake) = &sigchld {
            rearm(&shared.poller, wake);
        }
        orphans.retain_mut(|child| {
            let running = matches!(child.try_wait(false), Waited::Running | Waited::Stopped);
            if !running {
                forget(&shared.poller, child);
            }
            running
        });
        if !orphans.iter().any(|c| c.pidfd().is_none()) {
            // Nothing left to wake for: tulip's `SIGCHLD` handler need not stay in for this thread.
            if let Some(wake) = sigchld.take() {
                // SAFETY: the slot's pipe is never closed.
                let _ = shared.poller.delete(unsafe { BorrowedFd::borrow_raw(wake.fd()) });
            }
        }
        events.clear();
        let _ = shared.poller.wait(&mut events, (blind && sigchld.is_none()).then_some(RETRY));
    }
}

/// Empties the `SIGCHLD` pipe and (re-)registers it with the oneshot poller.
fn rearm(poller: &Poller, wake: &ChildWake) {
    drain(wake.fd());
    // SAFETY: the slot's pipe is never closed.
    let fd = unsafe { BorrowedFd::borrow_raw(wake.fd()) };
    if poller.modify(fd, Event::readable(SIGCHLD_KEY)).is_err() {
        // SAFETY: as above; first registration.
        let _ = unsafe { poller.add(&fd, Event::readable(SIGCHLD_KEY)) };
    }
}

/// Registers the orphan's pidfd. The poller is oneshot, which is enough: a pidfd turns readable
/// once, when its process ends, and the process is then reaped and its pidfd forgotten.
fn watch(poller: &Poller, child: &Child) {
    if let Some(fd) = child.pidfd() {
        // SAFETY: the pidfd stays open until `forget` deletes it from the poller (the Child owns it).
        let _ = unsafe { poller.add(&fd, Event::readable(child.pid() as usize)) };
    }
}

fn forget(poller: &Poller, child: &Child) {
    if let Some(fd) = child.pidfd() {
        let _ = poller.delete(fd);
    }
}
