//! Waiters that read their own result: a thread blocked in `wait` on a task sent straight to a
//! remote worker watches that worker's link itself, and when the result comes runs the driver's
//! round for it, instead of sleeping until the driver has been woken by the link and has woken it.
//!
//! Over ssh every hop of a round trip is a wakeup, and a wakeup of an idle core costs tens of
//! microseconds on a virtual machine: the driver between the link and the waiter is one hop the
//! waiter can do without (see the `Help` trait of `crate::future`, which calls in here).
//!
//! # Implementation
//!
//! Each remote worker has a [`LinkWatch`]: a duplicate of its result pipe's read end, which a
//! waiter polls (never reads: reading stays the driver's code, under its lock), so the descriptor
//! it polls stays open even after the driver has dropped the worker. A waiter first borrows the
//! link ([`Driver::lend`]): the driver stops polling it while any waiter holds it, so a result wakes
//! the waiter alone. When the link is readable the waiter locks the driver, checks that the slot
//! still holds the same worker, and runs one round with that link as the only ready source, the
//! round the driver thread would have run; then it completes the round's settled tasks outside the
//! lock, as the driver thread does. It gives the link back before completing them (a done-callback
//! may wait for the next task on that link, which the driver must then read), and when its wait
//! ends; the driver polls the link again after the last loan.
//!
//! A task can also be completed elsewhere while its waiter polls: by the driver's own reads (a
//! timeout looks at what the worker wrote), a kill, a shutdown. The completion then writes to the
//! waiter's *poke*, a pipe of the waiting thread's own that it polls beside the link: registered
//! under the future's lock after checking that the task is pending, so no completion slips between
//! the check and the poll. One poke per thread, not per worker: two threads helping on one link
//! must not drain each other's wake-ups.
//!
//! A round run by a waiter may move the driver's next wake-up earlier (a task dispatched from the
//! queue with a timeout): the driver, asleep until its old one, is then notified. A waiter starts
//! helping only while the pool is not closing.
//!
//! # Caveats
//!
//! Done-callbacks of the tasks settled in a waiter's round run on that waiter's thread, not on the
//! driver's. While a waiter holds the link, its worker's heartbeats are read by that waiter: one
//! that gets no CPU for three heartbeat intervals makes the link look silent, as a starved driver
//! thread would.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::ThreadId;
use std::time::Instant;

use super::super::channel::{self, WorkerOutput};
use super::super::{lock, spawn, Job};
use super::link::Worker;
use super::{deliver, Driver};
use crate::future::Help;
use crate::poller::{Event, PollMode};

/// What a waiter watches of one remote worker: its slot, and a duplicate of its result pipe's
/// read end, polled only (see the module docs). Shared by the worker and its direct tasks' futures;
/// the slot is taken to hold that worker only while its `watch` is this very `Arc`.
pub(crate) struct LinkWatch {
    slot: usize,
    readable: OwnedFd,
}

impl LinkWatch {
    pub(super) fn new(slot: usize, link: &WorkerOutput) -> io::Result<Arc<LinkWatch>> {
        Ok(Arc::new(LinkWatch { slot, readable: link.as_fd().try_clone_to_owned()? }))
    }
}

/// The helper a direct task's future gets: its pool's driver, and the link its result comes on.
pub(crate) struct DirectWait {
    core: Weak<Mutex<Driver>>,
    link: Arc<LinkWatch>,
    /// The driver has stopped polling the link for this waiter (see [`Driver::lend`]).
    lent: AtomicBool,
}

impl DirectWait {
    pub(crate) fn new(core: Weak<Mutex<Driver>>, link: Arc<LinkWatch>) -> DirectWait {
        DirectWait { core, link, lent: AtomicBool::new(false) }
    }
}

impl Help for DirectWait {
    fn wake_for_this_thread(&self) -> Option<Arc<dyn Fn() + Send + Sync>> {
        let poke = this_thread_poke()?;
        Some(Arc::new(move || poke.poke()))
    }

    fn help(&self, deadline: Option<Instant>) -> bool {
        let Some(poke) = this_thread_poke() else { return false };
        if !self.lent.load(Ordering::Relaxed) {
            let Some(core) = self.core.upgrade() else { return false };
            if !lock(&core).lend(&self.link) {
                return false;
            }
            self.lent.store(true, Ordering::Relaxed);
        }
        match wait_readable(self.link.readable.as_fd(), poke.read.as_fd(), deadline) {
            Ok(true) => {}
            // Poked, or the deadline: the waiter looks at its future again.
            Ok(false) => {
                poke.drain();
                return true;
            }
            Err(_) => return false,
        }
        let Some(core) = self.core.upgrade() else { return false };
        let (done, decoders) = {
            let mut d = lock(&core);
            let Some(round) = d.help_round(&self.link) else { return false };
            // Done-callbacks may wait for this link's other tasks: the driver reads it meanwhile.
            if !round.0.is_empty() && self.lent.swap(false, Ordering::Relaxed) {
                d.give_back(&self.link);
            }
            round
        };
        #[cfg(feature = "tracing")]
        super::super::trace::flush();
        for job in done {
            deliver(job, &decoders);
        }
        true
    }

    fn end(&self) {
        if let Some(poke) = this_thread_poke() {
            poke.drain_if_poked();
        }
        if self.lent.swap(false, Ordering::Relaxed) {
            if let Some(core) = self.core.upgrade() {
                lock(&core).give_back(&self.link);
            }
        }
    }
}

impl Driver {
    /// Lends `link` to a waiter: the driver stops polling it while any waiter helps, so the result
    /// wakes that waiter alone. `false` if its worker is gone, or the pool is closing.
    fn lend(&mut self, link: &Arc<LinkWatch>) -> bool {
        if self.closing().is_some() {
            return false;
        }
        let Some(w) = watched(&mut self.workers, link) else { return false };
        if w.lent == 0
            && self
                .shared
                .poller
                .modify_with_mode(&w.from_worker, Event::none(2 * link.slot), PollMode::Level)
                .is_err()
        {
            return false;
        }
        w.lent += 1;
        true
    }

    /// Ends a loan of [`lend`](Driver::lend); the driver polls the link again after the last.
    fn give_back(&mut self, link: &Arc<LinkWatch>) {
        let Some(w) = watched(&mut self.workers, link) else { return };
        w.lent -= 1;
        if w.lent == 0 {
            let readable = Event::readable(2 * link.slot);
            if let Err(e) = self.shared.poller.modify_with_mode(&w.from_worker, readable, PollMode::Level) {
                log::error!("tulip: the process pool could not poll a worker's link again: {e}");
            }
        }
    }

    /// One round for a waiter whose link is readable (see the module docs): the settled tasks to
    /// complete, or `None` if the link's worker is gone or the pool is closing.
    fn help_round(&mut self, link: &Arc<LinkWatch>) -> Option<(Vec<Job>, Arc<AtomicUsize>)> {
        watched(&mut self.workers, link)?;
        let finished = self.round(&[2 * link.slot]);
        let asleep_until = self.asleep_until;
        if finished || self.next_deadline().is_some_and(|t| asleep_until.is_none_or(|a| t < a)) {
            let _ = self.shared.poller.notify();
        }
        Some((std::mem::take(&mut self.done), self.decoders.clone()))
    }
}

/// The worker `link` watches, if its slot still holds it.
fn watched<'a>(workers: &'a mut [Option<Worker>], link: &Arc<LinkWatch>) -> Option<&'a mut Worker> {
    let w = workers.get_mut(link.slot)?.as_mut()?;
    w.watch.as_ref().is_some_and(|w| Arc::ptr_eq(w, link)).then_some(w)
}

/// Blocks until `link` is readable (`true`), or `poke` is, or `deadline` passes (`false`).
fn wait_readable(link: BorrowedFd<'_>, poke: BorrowedFd<'_>, deadline: Option<Instant>) -> io::Result<bool> {
    let mut fds =
        [link, poke].map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
    let timeout = match deadline {
        None => -1,
        // Rounded up: waking before the deadline would only poll again.
        Some(d) => {
            d.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000).min(i32::MAX as u128)
                as i32
        }
    };
    // SAFETY: two valid pollfds, whose descriptors the caller's borrows keep open.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
    match n {
        n if n > 0 => Ok(fds[1].revents == 0 && fds[0].revents != 0),
        0 => Ok(false),
        _ => match io::Error::last_os_error() {
            e if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            e => Err(e),
        },
    }
}

/// A thread's poke: a pipe, both ends non-blocking, written when a task it helps is completed by
/// another thread (see the module docs).
struct Poke {
    read: OwnedFd,
    write: OwnedFd,
    /// The thread whose poke this is: its own completions need no wake-up.
    owner: ThreadId,
    /// Set before each write: whether the pipe may hold a byte to drain.
    poked: AtomicBool,
}

thread_local! {
    /// This thread's poke, made on its first help; `None` if it could not be.
    static POKE: Option<Arc<Poke>> = Poke::new().ok();
}

fn this_thread_poke() -> Option<Arc<Poke>> {
    POKE.try_with(Option::clone).ok().flatten()
}

impl Poke {
    fn new() -> io::Result<Arc<Poke>> {
        let (read, write) = channel::pipe()?;
        spawn::set_nonblocking(&read)?;
        spawn::set_nonblocking(&write)?;
        let owner = std::thread::current().id();
        Ok(Arc::new(Poke { read, write, owner, poked: AtomicBool::new(false) }))
    }

    /// Wakes the owner's help, unless this is the owner (a full pipe has woken it already).
    fn poke(&self) {
        if std::thread::current().id() == self.owner {
            return;
        }
        self.poked.store(true, Ordering::Release);
        // SAFETY: writes one byte from a local to a descriptor this `Poke` owns.
        unsafe { libc::write(self.write.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
    }

    /// Empties the pipe: what it said is known now.
    fn drain(&self) {
        self.poked.store(false, Ordering::Release);
        let mut buf = [0u8; 64];
        // SAFETY: reads into a local buffer from a descriptor this `Poke` owns.
        while unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }

    /// [`drain`](Poke::drain), if a poke came since the last: a byte left behind would only cost
    /// the next help one more look (the poll finds it and drains it then).
    fn drain_if_poked(&self) {
        if self.poked.load(Ordering::Acquire) {
            self.drain();
        }
    }
}
