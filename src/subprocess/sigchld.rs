//! Waking a loop when a child may have ended, without pidfds (Linux before 5.3, other systems):
//! `SIGCHLD` through a self-pipe, asyncio's `SafeChildWatcher` without its `waitpid(-1)`.
//!
//! # Implementation
//!
//! Each loop that waits for a child without a pidfd gets one [`ExitWatch`], kept until the loop
//! closes: a [`ChildWake`] pipe (a byte per `SIGCHLD`, written by tulip's signal handler) read by
//! a reader on the loop, which bumps a generation count and wakes the waiting tasks. A task reads
//! the count, then looks at its child (`waitpid(pid, WNOHANG)`), and sleeps until the count
//! moves: a child that ends after the look sends a `SIGCHLD` after it too, so no end is missed.
//! `SIGCHLD` says only that *some* child changed state; each waiter looks at its own pid.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

use crate::reactor::try_get_running_loop;
use crate::signal::os::{drain, ChildWake};

/// The `SIGCHLD` wakeups of one loop.
#[derive(Debug)]
pub(super) struct ExitWatch {
    /// How many batches of `SIGCHLD` the loop has seen; only grows.
    generation: Cell<u64>,
    /// Tasks waiting for `generation` to move.
    wakers: RefCell<Vec<Waker>>,
    /// The pipe, read by a reader on the loop (removed when the loop closes).
    wake: ChildWake,
}

impl ExitWatch {
    /// The watch of the running loop, set up on first use; `None` outside a loop, or when no
    /// wake slot could be had (see [`ChildWake::new`]): the caller then looks at intervals.
    pub(super) fn current() -> Option<Rc<ExitWatch>> {
        let lp = try_get_running_loop()?;
        let found =
            lp.inner.extensions.borrow().iter().find_map(|e| e.downcast_ref::<Rc<ExitWatch>>().cloned());
        if found.is_some() {
            return found;
        }
        let watch = Rc::new(ExitWatch {
            generation: Cell::new(0),
            wakers: RefCell::default(),
            wake: ChildWake::new()?,
        });
        let (me, fd) = (Rc::downgrade(&watch), watch.wake.fd());
        // SAFETY: the slot's pipe is never closed.
        unsafe { lp.add_reader(fd, move || ExitWatch::on_readable(&me, fd)) }.ok()?;
        lp.inner.extensions.borrow_mut().push(Box::new(watch.clone()));
        Some(watch)
    }

    fn on_readable(me: &Weak<ExitWatch>, fd: std::ffi::c_int) {
        drain(fd);
        if let Some(me) = me.upgrade() {
            me.generation.set(me.generation.get() + 1);
            me.wakers.borrow_mut().drain(..).for_each(Waker::wake);
        }
    }

    /// The count to hand to [`changed`](Self::changed), read before looking at the child.
    pub(super) fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// Waits until a `SIGCHLD` arrived after the count was `seen`.
    pub(super) async fn changed(&self, seen: u64) {
        poll_fn(|cx| {
            if self.generation.get() != seen {
                return Poll::Ready(());
            }
            let mut wakers = self.wakers.borrow_mut();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

/// Whether subprocesses may use pidfds: yes unless the environment variable `TULIP_PIDFD` is `0`
/// (read once), which makes them wait as on systems without (to exercise that path).
pub(super) fn pidfds_allowed() -> bool {
    static ALLOWED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOWED.get_or_init(|| std::env::var_os("TULIP_PIDFD").is_none_or(|v| v != "0"))
}
