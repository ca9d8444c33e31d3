//! The worker-process entry point: [`init`], the first line of `main` in every program that uses a
//! [`ProcessPool`](crate::ProcessPool).
//!
//! A process-pool worker is not a `fork()` of the running program (forking a process that has
//! threads leaves locks held by threads that no longer exist). It is the program's own executable,
//! started again with a marker in its environment. When that copy reaches `init()`, `init` turns it
//! into a worker: it takes the pool's pipes, completes the handshake, runs tasks until the pool lets
//! it go, and exits. It never returns there, so the rest of `main` never runs in a worker. In the
//! program itself (no marker), `init()` only records that it was called and returns at once.
//!
//! ```no_run
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! fn main() {
//!     tulip::process::init(); // a worker stops here for good
//!
//!     let pool = tulip::ProcessPool::builder().max_workers(2).build().unwrap();
//!     assert_eq!(pool.submit(square, 12).unwrap().wait(), Ok(144));
//! }
//! ```
//!
//! # Caveats
//!
//! - **Call it first.** Everything `main` does before `init()` is done again in every worker (parsing
//!   arguments, opening files, printing a banner). Workers are started with the program's `argv[0]`
//!   and no other argument.
//! - **A pool refuses to start without it.** [`ProcessPoolBuilder::build`] fails with
//!   [`PoolError::Handshake`] when `init()` was never called in the process, instead of starting
//!   copies of the program that would run its `main` a second time. If a worker still does not reach
//!   `init()` (it is called conditionally, or after something that exits), the worker exits or stays
//!   silent, and `build` fails with a `Handshake` error that says so, after at most ten seconds.
//!   A worker that reaches a pool's `build` before `init()` (a program that skips `init` in some
//!   runs) gets the same error, so pools never start pools recursively.
//! - **Tests.** Cargo's default test harness has its own `main`, which never calls `init()`. Put
//!   tests that use a process pool in a test target with `harness = false` whose `main` calls
//!   `tulip::process::init()` first and then runs the checks:
//!
//!   ```toml
//!   [[test]]
//!   name = "my_pool_tests"
//!   harness = false
//!   ```
//!
//!   Doctests work the same way: make `tulip::process::init();` the example's first statement (or
//!   the first of its explicit `fn main`).
//!
//! [`ProcessPoolBuilder::build`]: crate::ProcessPoolBuilder::build
//! [`PoolError::Handshake`]: crate::PoolError::Handshake

use std::sync::atomic::Ordering;

use super::worker;

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
