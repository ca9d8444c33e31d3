//! Process pools: CPU work in worker processes, with crash isolation and tasks that can really be
//! killed.
//!
//! This module holds the worker side of [`ProcessPool`]: [`init`], the first line of `main` in every
//! program that uses a pool, and [`is_worker`]. Its documentation is also the pool's: the model,
//! how it is implemented, and what may surprise.
//!
//! ```
//! fn fib(n: u64) -> u64 {
//!     if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
//! }
//!
//! fn main() {
//!     tulip::process::init(); // a worker process enters here and never comes back
//!
//!     let pool = tulip::ProcessPool::builder().max_workers(2).build().unwrap();
//!     let futs: Vec<_> = (20..24).map(|n| pool.submit(fib, n).unwrap()).collect();
//!     let out: Vec<u64> = futs.into_iter().map(|f| f.wait().unwrap()).collect();
//!     assert_eq!(out, [6765, 10946, 17711, 28657]);
//! }
//! ```
//!
//! # The model
//!
//! A task is a plain function `fn(A) -> R` (a named `fn`, or a closure that captures nothing) and
//! an argument `A`; `A` and `R` travel with serde, encoded with postcard. [`ProcessPool::submit`]
//! returns the same [`ConcurrentFuture`] the thread pools return: `.await` it on any runtime,
//! `wait()` for it in blocking code, `cancel()` it. [`ProcessPool::map`] runs a function over an
//! iterator in chunks, lazily, with a bounded number of chunks in flight. The pool speaks the
//! thread pool's dialect: `submit`, `try_submit`, `submit_async`, `submit_with_limit`,
//! `submit_with_state`, `map`, `shutdown`, `shutdown_timeout`, `stats`, and a cheap `Clone` whose
//! last drop shuts the pool down gracefully.
//!
//! Per-worker setup comes in two forms: an [`initializer`] runs in each worker process before its
//! first task (if it fails, the pool is broken: see below), and a [`worker_state`] of any type is
//! made in each worker the first time a [`submit_with_state`] task needs it, then kept there (a
//! database connection, a loaded model).
//!
//! Workers are this very program started again, never a `fork()` of a process that has threads.
//! When such a copy reaches [`init`], it becomes a worker: it takes the pool's socket and pipe, passes the
//! handshake, runs tasks until the pool lets it go, and exits without ever returning to `main`. A
//! function reference crosses the process boundary as its distance from a fixed symbol of the
//! program, which is the same in every copy whatever address randomization does. A secret token and
//! a comparison of the executable (file identity, size, modification time, code layout) guard the
//! handshake, and a worker runs nothing it received before the handshake passed.
//!
//! Every failure stays with the task concerned, except a failed initializer, which breaks the pool:
//!
//! | what happens | the task's future | the worker |
//! |---|---|---|
//! | the function panics (or its result's `Drop` does) | `Err(JobError::Panicked(message))` | lives on |
//! | the result cannot be encoded or decoded | `Err(JobError::Codec(..))` | lives on |
//! | the worker dies (`abort`, segfault, `exit`, `SIGKILL` from outside) | `Err(JobError::WorkerDied("killed by signal 6 (SIGABRT)"))`, `WorkerDied("exited with status 3")` | replaced |
//! | the task runs past its limit (`submit_with_limit`, else `task_timeout`) | `Err(JobError::TimedOut(limit))` | killed, replaced |
//! | the `worker_state` factory fails | `Err(JobError::Initializer(..))`; the next task tries again | lives on |
//! | the `initializer` fails | `Err(JobError::Initializer(..))`, and so do the queued tasks; later submits fail with `SubmitError::Broken` | lives on |
//! | `cancel()` while it runs | `Err(JobError::Cancelled)` | killed, replaced |
//! | `cancel()` before it started | `Err(JobError::Cancelled)`; it never runs | untouched |
//! | its future is dropped before it started | (nobody sees it); it never runs | untouched |
//! | its future is dropped while it runs | (nobody sees it); it runs to its end | untouched |
//! | the worker writes a malformed or over-size frame | `Err(JobError::WorkerDied(..))` | killed, replaced |
//! | its `shutdown_timeout` deadline passes | `Err(JobError::ShutDown)` | killed |
//!
//! Tasks a dead worker had received but not started go to another worker. Arguments that cannot be
//! encoded, a closed or broken pool, a full bounded queue (`try_submit`), a state type without a
//! factory, and a function not shown to be part of the program's own code are errors of `submit`
//! itself ([`SubmitError`]). Dropping the last handle of a pool is a graceful
//! [`shutdown`](crate::ProcessPool::shutdown): tasks already submitted still run, then the workers exit
//! and the driver thread reaps them; nothing blocks.
//!
//! Workers never outlive the program: on Linux each has `PR_SET_PDEATHSIG` armed (and checks
//! `getppid()` right after), and every worker exits when its input socket closes. A worker inherits
//! stdin as `/dev/null`, stdout and stderr as they are (a `println!` in a task shows up where the
//! program's does), its task socket and result pipe, and no other file descriptor; it starts with no signal blocked
//! or ignored, in a process group of its own. Every worker is reaped: no zombie
//! is left behind, whether it exits, crashes or is killed.
//!
//! # Workers on other machines
//!
//! [`ProcessPoolBuilder::launcher`](crate::ProcessPoolBuilder::launcher) with a [`Launcher`] other
//! than [`Launcher::local`] starts the workers over ssh, as Slurm steps or through any command that
//! connects a remote process's stdin and stdout; those carry the frames. The remote side runs this
//! same program (proven by its SHA-256) as a nanny that owns the worker; the worker reads the link
//! itself and ends when it ends. Failures are the local ones, with the host named in `WorkerDied`.
//! See the README section "When one machine is not enough".
//!
//! # Tracing
//!
//! With the `tracing` feature, a task runs in the worker inside a `process_task` span that names the
//! span current at submit, and the events it emits there are sent back and re-emitted to the
//! submitter's subscriber, inside the submitter's span, with target `tulip::worker` (the original
//! target, the worker's pid, the other fields and the worker-side spans as fields). Only levels the
//! parent's subscribers want are sent; a task submitted where no subscriber is set runs as without
//! the feature. A filter by target sees `tulip::worker` (an event's target is static in `tracing`):
//! allow that target to see the workers' events, `worker.target` says where each came from.
//!
//! # `init`, tests and doctests
//!
//! Everything `main` does before [`init`] is done again in every worker, so make it the first
//! statement. A pool refuses to start in a program where `init` was never called
//! ([`ProcessPoolBuilder::build`] fails with [`BuildError::Handshake`]) rather than starting copies
//! of the program that would run its `main` a second time. If a worker still does not reach `init`
//! (it is called conditionally, or after something that exits), the worker exits or stays silent
//! and `build` fails with a `Handshake` error that says so, after at most ten seconds; a worker
//! that reaches a pool's `build` before `init` gets the same error, so pools never start pools
//! recursively.
//!
//! Cargo's default test harness has its own `main`, which never calls `init`. Put tests that use a
//! process pool in a test target with `harness = false`, whose `main` calls
//! `tulip::process::init()` first and then runs the checks (see this crate's
//! `tests/process_pool_*.rs` and `tests/support/process_harness.rs` for a small runner):
//!
//! ```toml
//! [[test]]
//! name = "my_pool_tests"
//! harness = false
//! ```
//!
//! Doctests work the same way: make `tulip::process::init();` the example's first statement, or the
//! first of its explicit `fn main`.
//!
//! # Implementation
//!
//! **Parent side.** One driver thread per pool does all the I/O, on one poller (`crate::poller`), over a
//! non-blocking Unix socket (tasks; written with `MSG_NOSIGNAL`, so a write to a worker that just
//! died is an error, never `SIGPIPE`) and a pipe (results) per worker: no thread and no file descriptor per task, so 10,000 tasks
//! submitted at once are 10,000 entries in a queue. `submit` encodes the task frame (a length
//! prefix, the task id, the two function offsets, the postcard arguments) on the caller's thread.
//! If nothing is queued and a worker is idle, it writes the frame to that worker itself, without
//! involving the driver; otherwise it queues the frame and wakes the driver with a coalesced
//! notification. The driver sends each worker several tasks ahead, written in one batch: about two
//! milliseconds of work at the recently measured execution time (between 2 and 512 tasks; one at a
//! time for tasks of a millisecond or more), and nothing more to a worker whose task has run past
//! those two milliseconds: short tasks are not sent to wait behind a long one while another worker
//! can take them (those sent before it was seen to be long still wait for it). Results are read in batches; they are decoded and their futures
//! completed once the driver has released its lock, so that code woken by a result can submit
//! straight away, and a result of 256 KiB or more is decoded on a thread of its own, so that its
//! decode never holds up the other workers' results.
//!
//! **Worker side.** A worker runs its tasks one after the other, in arrival order, and writes each
//! result before it starts the next. On Linux it also records in a page of memory shared with the
//! pool which task it has started. So when a worker dies, the pool knows exactly which task was
//! running (it fails) and which tasks never started (they go to another worker). Before killing a
//! worker for a timeout or a cancel, the driver freezes it (`SIGSTOP`), reads what it already wrote,
//! and kills only if the task still runs; otherwise the worker goes on (`SIGCONT`). A task
//! cancelled before it started is skipped through a `Cancel` frame, which the worker sees even when
//! it sits behind hundreds of queued tasks.
//!
//! **Starting workers.** One process-wide thread starts every worker, so that the wait for a
//! child's `exec` never stalls a driver, and lives as long as the process (on Linux the
//! parent-death signal fires when the *thread* that spawned the child exits); a pool built on the
//! main thread spawns its first worker right there, which saves a hand-off. On Linux it uses
//! `posix_spawn`, whose cost does not grow with the parent's memory the way `fork` does, and places
//! the socket and the pipe on fds 3 and 4 (and the status page on 5, which the worker maps and closes) with file
//! actions that also close every other descriptor, resets every signal to its default, and makes
//! the worker a process-group leader; elsewhere it uses `fork` and `exec` with the
//! same steps in between. The first worker starts in `build`, which waits for its handshake and
//! reports a failure as an error; more start when tasks wait, up to `max_workers`. Above
//! `min_workers`, a worker exits after `idle_timeout` without work, and after
//! `max_tasks_per_child` tasks it is replaced by a fresh one.
//!
//! # Caveats
//!
//! - **Functions must live in the same loaded object as tulip**: the executable, or the shared
//!   library tulip is linked into. `submit` refuses a function it cannot show to be there (its
//!   executable segments where the loader lists them, else `dladdr`) with [`SubmitError::Encode`],
//!   rather than let a worker jump to an address that means something else in its process. A worker starts with a fresh copy of the program's statics:
//!   whatever `main` set up in the parent is not there.
//! - Workers start with the program's `argv[0]` only, and the environment and working directory
//!   the parent had when each worker started.
//! - A pool built on the main thread has its first worker spawned by that thread: if the main
//!   thread ends with `pthread_exit` while the process goes on, that worker is killed (its running
//!   task fails with `WorkerDied`) and replaced.
//! - **Each worker leads a process group of its own.** A kill (run-time limit, cancel, shutdown
//!   deadline) reaches the whole group: processes a task started die with its worker,
//!   unless they left the group (`setsid`, `setpgid`, a shell's job control). A worker that retires
//!   normally (idle, recycled, graceful shutdown) leaves what its tasks started running. Ctrl-C in a
//!   terminal reaches the program, not its workers, which go when the program goes (see below);
//!   with `stty tostop`, a worker that writes to the terminal is stopped like any background job.
//! - Workers are signalled through a pidfd on Linux 5.3 and later; elsewhere only after `waitid`
//!   showed the pid is still this program's unreaped child, so a recycled pid is never signalled. A
//!   program that ignores `SIGCHLD` or reaps children itself (`waitpid(-1)`) takes their exit
//!   statuses: a worker the pool was retiring then counts as retired, one that dies unexpectedly
//!   fails its task with `WorkerDied("vanished ...")`.
//! - Run-time limits count from the moment the task starts in its worker, not from `submit`, and
//!   are enforced within a few milliseconds. A [`timeout`](crate::timeout) around a task's future
//!   counts its time in the queue too, and does not kill it: use `submit_with_limit` for that.
//! - Dropping the last handle does not wait for the work; call
//!   [`ProcessPool::shutdown_timeout`] to wait (and to bound the wait). Done-callbacks ([`ConcurrentFuture::add_done_callback`]) run on the thread that completes the
//!   task: the driver thread, a large result's decode thread, or a thread blocked in `wait` on a task
//!   sent straight to a remote worker (it reads that worker's link itself, one wakeup less per
//!   round trip). Keep them short. A blocking `wait` on the driver thread for a task of the same
//!   pool could never end (the driver is what would finish it): it fails at once with
//!   [`JobError::WouldDeadlock`](crate::JobError).
//! - A worker's death is normally seen at once (its pipe closes); if a task forked a child that
//!   still holds the pipe, the pool notices within a second (it checks busy workers with
//!   `waitpid`).
//! - The parent holds a result's encoded bytes until its frame is complete: `max_frame_size`
//!   (default 64 MiB) bounds the memory one task can make the parent allocate.
//! - Outside Linux there is no parent-death signal (a worker whose parent died exits when it next
//!   waits for input, so a running task finishes first) and no shared status page (cancelling a
//!   task that was sent but not started may kill its worker instead of skipping the task, and a
//!   worker that dies between two tasks fails the next one instead of re-sending it).
//!
//! # Windows
//!
//! The same API, the same errors; what differs underneath (tested under Wine 8, not yet on a
//! Windows machine):
//!
//! - **Links.** A worker is this program ([`std::env::current_exe`]) started with
//!   `CreateProcessW`; it is handed no handle, and connects back to the pool over two loopback TCP
//!   connections (`127.0.0.1`, a fresh port per worker), presenting a random 16-byte token the
//!   pool gave it in its environment. A connection without the token is dropped, so another local
//!   program cannot pose as the worker. If something (a local firewall) blocks loopback
//!   connections, `build` fails with [`BuildError::Spawn`](crate::BuildError) ("the worker did not
//!   connect back").
//! - **Job objects instead of process groups.** Each worker runs in a Job object of its own with
//!   `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`: workers die with the program however it ends (no
//!   orphans to wait for), and a kill (run-time limit, cancel, shutdown deadline) ends the worker
//!   and every process its tasks started. Unlike Unix, those processes also end when their worker
//!   retires (idle, recycled, graceful shutdown): the job goes with it.
//! - **Exit statuses** are exit codes: a worker that crashed shows the exception code in its
//!   task's `WorkerDied` ("crashed with exception 0xc0000005"), one the pool killed "was killed
//!   (its Job object terminated)".
//! - **No status page, no freezing.** As outside Linux: cancelling a task that was sent but not
//!   started may kill its worker instead of skipping the task, a worker that dies between two tasks
//!   fails the next one, and tasks sent ahead of a long one wait for it (no take-back). Before a
//!   kill for a run-time limit or a cancel the worker is not frozen: the pool decides on the
//!   results read so far, so a task that ends in that very moment may have its worker killed.
//! - **Remote launchers** need a Unix host: on Windows `build` refuses any launcher but the local
//!   one with [`BuildError::InvalidConfig`](crate::BuildError).
//! - Stdin is `NUL`; stdout and stderr are inherited, as on Unix.
//!
//! [`ProcessPool`]: crate::ProcessPool
//! [`ProcessPool::submit`]: crate::ProcessPool::submit
//! [`ProcessPool::map`]: crate::ProcessPool::map
//! [`ProcessPool::shutdown`]: crate::ProcessPool::shutdown
//! [`ProcessPoolBuilder::build`]: crate::ProcessPoolBuilder::build
//! [`ConcurrentFuture`]: crate::ConcurrentFuture
//! [`ConcurrentFuture::add_done_callback`]: crate::ConcurrentFuture::add_done_callback
//! [`ProcessPool::shutdown_timeout`]: crate::ProcessPool::shutdown_timeout
//! [`initializer`]: crate::ProcessPoolBuilder::initializer
//! [`worker_state`]: crate::ProcessPoolBuilder::worker_state
//! [`submit_with_state`]: crate::ProcessPool::submit_with_state
//! [`SubmitError`]: crate::SubmitError
//! [`SubmitError::Encode`]: crate::SubmitError::Encode
//! [`BuildError::Handshake`]: crate::BuildError::Handshake

use std::sync::atomic::Ordering;

use super::worker;

pub use super::launcher::Launcher;

/// Turns this process into a process-pool worker if a pool started it as one; otherwise records that
/// it was called and returns at once.
///
/// Call it as the first statement of `main` (see the [module docs](self) for why, and for tests).
/// In a worker it never returns: the process exits when the pool closes it, when the pool's process
/// dies, or after a failed handshake (with a message on stderr saying why).
///
/// # Examples
///
/// ```
/// tulip::process::init();
/// // In the program itself `init` returns at once and the program goes on.
/// assert!(!tulip::process::is_worker());
/// ```
pub fn init() {
    worker::enter();
}

/// Whether the current process is a process-pool worker that has passed its handshake.
///
/// Useful inside a task, for code that must behave differently there (and in tests).
///
/// # Examples
///
/// ```
/// fn where_am_i(_: ()) -> bool {
///     tulip::process::is_worker()
/// }
///
/// fn main() {
///     tulip::process::init();
///     let pool = tulip::ProcessPool::builder().max_workers(1).build().unwrap();
///     assert!(pool.submit(where_am_i, ()).unwrap().wait().unwrap());
///     assert!(!where_am_i(()));
/// }
/// ```
pub fn is_worker() -> bool {
    worker::IS_WORKER.load(Ordering::Acquire)
}

/// Whether [`init`] has been called in this process.
pub(crate) fn init_called() -> bool {
    worker::INIT_CALLED.load(Ordering::Acquire)
}
