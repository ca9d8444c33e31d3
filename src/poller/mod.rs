//! The OS poller behind every wait in tulip: the loop's passes, the process pool's driver and the
//! background reaper of dropped children.
//!
//! On Linux and Android it is epoll, called directly (`epoll`); elsewhere it is the `polling`
//! crate (kqueue, event ports, IOCP through `polling`'s AFD layer). Both offer the same small
//! surface, in `polling`'s shapes ([`Poller`], [`Event`], [`Events`], [`PollMode`]), so the code
//! that waits is written once.
//!
//! # Implementation
//!
//! Why not `polling` everywhere: its epoll backend makes every wait precise to the nanosecond with
//! a `timerfd` and wakes through an `eventfd` registered oneshot, so each wait costs four more
//! system calls than the wait itself (arm the timer, re-arm it in epoll, read the eventfd, re-arm
//! the eventfd), also when the wait does not block at all. A loop that serves sockets or pipes
//! polls on every pass, and those calls were a third of its syscalls (`strace -c` of a pipe
//! through `cat`: 2,021 waits brought 4,055 `epoll_ctl`, 2,021 `timerfd_settime` and 2,021 failed
//! `read`s). The epoll backend here makes one system call per wait:
//!
//! - A timeout is passed to `epoll_pwait2` (Linux 5.11+), which takes nanoseconds. Where that call
//!   is missing (older kernels, or a seccomp filter that refuses it) it is `epoll_wait`, whose
//!   timeout is rounded *up* to the millisecond so that a wait never ends before its deadline.
//! - The notifier is an `eventfd` registered edge-triggered and never read: each write is a new
//!   edge, so each notify wakes the wait it targets, and nothing has to be re-armed. A flag
//!   (`notified`, as in `polling`) makes the notifies between two waits write once.
//!
//! # Caveats
//!
//! - On a Linux kernel without `epoll_pwait2` (before 5.11), a timed wait may last up to 1 ms
//!   longer than asked: timers fire late by as much, never early.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod epoll;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use epoll::{Event, Events, PollMode, Poller};
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) use polling::{Event, Events, PollMode, Poller};

/// Whether `ev` reports a hang-up: the peer shut its side down, the fd hung up, or an error. Only
/// the epoll backend tells; elsewhere it is `false`, which is safe for its one user, the
/// short-operation hint of `Async`, which is off there.
pub(crate) fn hung_up(ev: &Event) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return ev.hung_up;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = ev;
        false
    }
}
