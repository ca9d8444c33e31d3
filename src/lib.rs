//! tulip: blocking code and async code in one program, the asyncio way.
//!
//! tulip is Python's asyncio done in Rust: one single-threaded reactor that runs callbacks, timers,
//! tasks and I/O readiness, pools of threads and of processes that it hands blocking or CPU-heavy work
//! to, and thread-safe ways back in. On the loop its names are asyncio's, so a user who knows
//! `asyncio.run`, `loop.call_soon_threadsafe` or `run_in_executor` finds them here; pools, futures and
//! errors follow the Rust API Guidelines (MIGRATION.md's "Naming: one rule per layer").
//!
//! ```
//! use std::time::Duration;
//!
//! let answer = tulip::run(async {
//!     let lp = tulip::get_running_loop();
//!     lp.call_soon(|| println!("soon"));
//!     let task = lp.spawn(async { 7 });
//!     tulip::sleep(Duration::from_millis(1)).await;
//!     task.await.unwrap()
//! });
//! assert_eq!(answer, 7);
//! ```
//!
//! # The model
//!
//! - An [`EventLoop`] belongs to one thread (`!Send`). Everything scheduled on it runs there, one
//!   callback or task step at a time; a step that blocks stalls the whole loop, which is why blocking
//!   work goes to a pool.
//! - Other threads reach a loop through its [`LoopHandle`] (`Send + Sync`):
//!   [`call_soon_threadsafe`](LoopHandle::call_soon_threadsafe),
//!   [`spawn_threadsafe`](LoopHandle::spawn_threadsafe), [`stop`](LoopHandle::stop).
//! - Every job that runs elsewhere completes one [`ConcurrentFuture`]: the loop awaits it, any other
//!   runtime awaits it, blocking code `wait()`s on it.
//! - Blocking code that needs async code uses a [`BlockingPortal`]: a loop on its own thread that it
//!   can call into.
//! - Many at once: blocking code waits with [`wait`] and [`as_completed`]; on the loop, [`gather`],
//!   [`TaskGroup`] and the rest of [`tasks`]; asyncio's primitives are in [`locks`] and [`Queue`].
//! - Failures are typed values, one type per stage: [`BuildError`] (building a pool), [`SubmitError`]
//!   (a job refused at submit), [`JobError`] (a job or [`Task`] that produced no value), plus
//!   [`LoopClosed`], [`RunError`], [`Elapsed`] and [`DnsError`]. All are `Clone + PartialEq + Error`.
//!
//! # Implementation
//!
//! Each pass of the loop follows asyncio's `_run_once`: poll the OS (epoll, called directly, on
//! Linux; the `polling` crate's kqueue, IOCP, ... elsewhere) with a zero timeout when work is ready
//! and until the next timer otherwise, queue I/O callbacks, cross-thread posts and due timers, then
//! run exactly the callbacks that were ready when the pass began. Cross-thread posts go through one
//! inbox whose wakeups are coalesced: the producer calls `notify()` only when the loop may be
//! sleeping, once per sleep. Tasks are allocated by `async-task`. See the module docs of each part
//! for its own implementation notes.
//!
//! Small round trips between threads are dominated by thread wakeups (a few µs to a few tens, on
//! some virtual machines more than the job itself). So whoever is about to block for the other side
//! spins for a moment first: the loop (when it watches no fd), a blocking `wait()`, the thread
//! pool's most recent worker, a process-pool worker. The spin is adaptive: it stops when recent
//! waits were longer than it, and on a machine with more than twice as many runnable threads as cores.
//! A blocking `wait()` for a task sent straight to a remote worker does not spin (its result is a
//! network round trip away): it reads that worker's link itself, so the result wakes it directly
//! rather than the pool's driver, which would then have to wake it.
//!
//! # Caveats
//!
//! - Failures are never silent, but they are not always where you look: a panic in a callback, or the
//!   error of a job whose future was dropped, goes to the loop's exception handler
//!   ([`EventLoop::set_exception_handler`]), which by default logs it with the `log` crate. Install a
//!   logger to see it.
//! - Cancellation is honest: a queued job is removed, a running thread job cannot be killed (its slot
//!   stays counted until it ends), a task is cancelled by dropping its future at its next turn.
//! - A blocking wait on a loop's own thread for work that needs that loop fails at once with
//!   [`JobError::WouldDeadlock`] instead of hanging.
//! - The spin before blocking costs CPU time for latency: up to 40 µs per wait on an otherwise idle
//!   core, while waits are that short. [`set_spin_limit`] (or the environment variable
//!   `TULIP_SPIN=0`, which process-pool workers inherit) caps or switches off every spin of the
//!   process; [`EventLoop::set_idle_spin`] and [`ThreadPoolBuilder::idle_spin`] set one loop's or
//!   one pool's. Under a cgroup CPU quota smaller than the cores, nothing spins by default.

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

#[cfg(any(feature = "tokio", feature = "hyper"))]
pub mod compat;
mod completion;
pub mod dns;
mod error;
mod executor;
mod future;
mod handle;
#[cfg(not(loom))]
pub mod locks;
pub mod net;
mod poller;
mod pool;
mod portal;
mod process_pool;
#[cfg(not(loom))]
mod queue;
mod reactor;
#[cfg(unix)]
pub mod signal;
mod spin;
#[cfg(unix)]
pub mod subprocess;
mod sync;
pub mod tasks;
mod thread_pool;

pub use completion::{as_completed, wait, AsCompleted, Completed, ReturnWhen};
pub use dns::{AddrInfo, DnsError};
pub use error::{BuildError, Elapsed, JobError, LoopClosed, RunError, SubmitError};
pub use executor::{to_thread, Executor, ExecutorJob, RUN_EXECUTOR_SHUTDOWN_TIMEOUT};
pub use future::{CancelToken, ConcurrentFuture};
pub use handle::LoopHandle;
#[cfg(not(loom))]
pub use locks::{Condition, Event, Lock, Mutex, Semaphore};
pub use pool::{PoolStats, ShutdownReport};
pub use portal::BlockingPortal;
pub use process_pool::process;
pub use process_pool::{ProcessMap, ProcessPool, ProcessPoolBuilder, ProcessSubmitFuture};
#[cfg(not(loom))]
pub use queue::{Queue, QueueEmpty, QueueFull, TaskDoneTooOften};
pub use reactor::io::{LoopNotRunning, Readiness};
pub use reactor::{
    get_running_loop, run, sleep, timeout, try_get_running_loop, Async, EventLoop, ExceptionContext, Handle,
    Sleep, Task, Timeout, TimerHandle,
};
pub use spin::{set_spin_limit, spin_limit};
pub use tasks::{gather, GroupError, TaskGroup};
pub use thread_pool::{PoolMap, SubmitFuture, ThreadPool, ThreadPoolBuilder};

/// Internals exposed only to the `loom` models: the producer side of `ConcurrentFuture`
/// (`tests/loom_future.rs`) and the loop's inbox and wakeup protocol (`tests/loom_inbox.rs`).
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::future::{pair, Options, Promise};
    pub use crate::handle::{Inbox, Sleep, Wakeup};
}

/// Entry points for the fuzz targets under `fuzz/` (`--cfg fuzzing`); not part of the API.
#[cfg(all(unix, any(fuzzing, test)))]
#[doc(hidden)]
pub mod __fuzz;

/// The README's code, compiled and run as doctests so that its recipes stay true (on Unix: most
/// recipes use the process pool, subprocesses or signals).
#[cfg(all(doctest, unix))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
