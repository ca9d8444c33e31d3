//! [`BlockingPortal`]: blocking code calls into async code (anyio's portal, done for Rust).
//!
//! The pools carry work from async code to blocking code. A portal carries it the other way: it runs an
//! [`EventLoop`] on a thread of its own, and any thread may hand it a future and block until the result
//! comes back. This is the piece that lets a sync codebase adopt async code one call site at a time.
//!
//! # Implementation
//!
//! `start()` spawns the loop thread and waits for its [`LoopHandle`]. Every call is a
//! [`LoopHandle::spawn_threadsafe_with`]: the closure builds the future on the loop thread (so the
//! future need not be `Send`), and the caller blocks on the returned [`ConcurrentFuture`]. Stopping the
//! portal stops and closes the loop on its own thread; closing fails every pending call with
//! [`JobError::LoopClosed`], so no caller is left waiting.
//!
//! # Caveats
//!
//! A call made on a thread that runs an event loop (inside a future the portal runs, or inside any
//! other loop) would block that loop, and wait forever if the future needs it; it fails at once with
//! [`JobError::WouldDeadlock`]. Inside a loop, await [`BlockingPortal::spawn_with`]'s future instead.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::mpsc;
use std::thread::{self, JoinHandle, ThreadId};

use crate::error::JobError;
use crate::future::ConcurrentFuture;
use crate::handle::LoopHandle;
use crate::reactor::EventLoop;
use crate::sync::{lock, Mutex};

/// An event loop on its own thread that blocking code can call into.
///
/// # Examples
///
/// ```
/// let portal = tulip::BlockingPortal::start().unwrap();
/// // Blocking code, any thread: run async code and get its result.
/// let v = portal.call(|| async {
///     tulip::sleep(std::time::Duration::from_millis(1)).await;
///     5
/// });
/// assert_eq!(v, Ok(5));
/// portal.stop();
/// ```
pub struct BlockingPortal {
    handle: LoopHandle,
    loop_thread: ThreadId,
    /// Taken by the first `stop`; joining it is how `stop` knows the loop is closed.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl BlockingPortal {
    /// Starts a loop on a new thread named `tulip-portal`.
    ///
    /// Fails if the thread or the loop's poller cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// let portal = tulip::BlockingPortal::start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start() -> io::Result<BlockingPortal> {
        let (tx, rx) = mpsc::sync_channel(1);
        let thread = thread::Builder::new().name("tulip-portal".into()).spawn(move || {
            let lp = match EventLoop::new() {
                Ok(lp) => lp,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            if tx.send(Ok(lp.handle())).is_err() {
                return;
            }
            // `run_forever` only fails on a closed or nested loop, neither possible here.
            let _ = lp.run_forever();
            lp.finish_run();
        })?;
        let loop_thread = thread.thread().id();
        let handle = match rx.recv() {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(io::Error::other("the portal thread ended before its loop started")),
        };
        Ok(BlockingPortal { handle, loop_thread, thread: Mutex::new(Some(thread)) })
    }

    /// Runs the future built by `make` on the portal's loop and blocks until it is done.
    ///
    /// `make` runs on the loop thread, so the future may hold `!Send` values. Errors:
    /// [`JobError::Panicked`] if the future panicked, [`JobError::LoopClosed`] if the portal was
    /// stopped before the future finished, [`JobError::WouldDeadlock`] if called on a thread that
    /// runs an event loop (the portal's own loop thread among them: blocking there would stall that
    /// loop, and hang if the future waits on it; await [`spawn_with`](Self::spawn_with)'s future instead).
    ///
    /// # Examples
    ///
    /// ```
    /// let portal = tulip::BlockingPortal::start().unwrap();
    /// // Many threads may call at once.
    /// let results: Vec<_> = std::thread::scope(|s| {
    ///     let calls: Vec<_> = (0..4u32)
    ///         .map(|i| {
    ///             let p = &portal;
    ///             s.spawn(move || p.call(move || async move { i * 2 }))
    ///         })
    ///         .collect();
    ///     calls.into_iter().map(|c| c.join().unwrap()).collect()
    /// });
    /// assert_eq!(results, vec![Ok(0), Ok(2), Ok(4), Ok(6)]);
    /// ```
    pub fn call<M, F>(&self, make: M) -> Result<F::Output, JobError>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        // Blocking a loop's thread stalls it (the portal's own among them), or hangs if `make` needs it.
        if thread::current().id() == self.loop_thread || crate::reactor::try_get_running_loop().is_some() {
            return Err(JobError::WouldDeadlock);
        }
        self.handle.spawn_threadsafe_with(make).wait()
    }

    /// Starts the future built by `make` on the portal's loop without blocking; the returned
    /// [`ConcurrentFuture`] can be waited on, awaited on any runtime, or cancelled.
    ///
    /// Named like [`LoopHandle::spawn_threadsafe_with`]: `_with` takes a closure that builds the
    /// future (on the loop thread, so it need not be `Send`), where [`EventLoop::spawn`] takes a future.
    ///
    /// # Examples
    ///
    /// ```
    /// let portal = tulip::BlockingPortal::start().unwrap();
    /// let f = portal.spawn_with(|| async { "done" });
    /// assert_eq!(f.wait(), Ok("done"));
    /// ```
    pub fn spawn_with<M, F>(&self, make: M) -> ConcurrentFuture<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn_threadsafe_with(make)
    }

    /// The thread-safe handle of the portal's loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let portal = tulip::BlockingPortal::start().unwrap();
    /// portal.handle().call_soon_threadsafe(|| println!("on the portal's loop")).unwrap();
    /// ```
    pub fn handle(&self) -> LoopHandle {
        self.handle.clone()
    }

    /// Stops the loop, closes it (pending calls fail with [`JobError::LoopClosed`]) and joins its
    /// thread. Idempotent; called by `Drop`.
    ///
    /// Called from the portal's own loop thread it only requests the stop (joining there would wait
    /// for itself).
    ///
    /// # Examples
    ///
    /// ```
    /// let portal = tulip::BlockingPortal::start().unwrap();
    /// portal.stop();
    /// assert_eq!(portal.call(|| async { 1 }), Err(tulip::JobError::LoopClosed));
    /// ```
    pub fn stop(&self) {
        self.handle.stop();
        if thread::current().id() == self.loop_thread {
            return;
        }
        let thread = lock(&self.thread).take();
        if let Some(t) = thread {
            if t.join().is_err() {
                log::error!("tulip: the portal's loop thread panicked while stopping");
            }
        }
    }
}

impl Drop for BlockingPortal {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for BlockingPortal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPortal").field("handle", &self.handle).finish()
    }
}
