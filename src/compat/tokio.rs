//! tokio-based futures inside tulip tasks: [`tokio()`](fn@tokio).
//!
//! # Implementation
//!
//! [`Tokio`] polls the future while a handle to the background runtime is entered, as smol users'
//! `async-compat` does. That crate is not used: its runtime is a `static` that is never shut down
//! (its thread outlives every loop, which the shutdown below rules out), and what remains of it for
//! futures is the `enter` around `poll`. (Its `Compat` also adapts tokio's I/O traits to
//! `futures-io`; a user who needs that can depend on it, and wrap the work in [`tokio()`](fn@tokio)
//! so that its runtime never starts.)
//!
//! The runtime is a multi-threaded tokio runtime with one worker thread (`tulip-tokio`), which drives
//! tokio's I/O and timers and runs what crates `tokio::spawn`. It starts when the first [`Tokio`]
//! future is polled and is shared by every loop and thread of the process.
//!
//! # Shutdown
//!
//! Each loop that polled a [`Tokio`] future keeps a claim on the runtime until it closes (which
//! [`run`](crate::run) does before it returns), and each [`Tokio`] future keeps one while it lives.
//! When the last claim goes, the runtime shuts down: tasks that crates `tokio::spawn`ed are dropped,
//! and its threads are joined, waiting at most [`RUNTIME_SHUTDOWN_TIMEOUT`] for tokio's blocking
//! threads. A later [`Tokio`] future starts a new runtime.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

use crate::reactor::{try_get_running_loop, EventLoop};

/// How long the background runtime's shutdown waits for tokio's blocking threads (a
/// `spawn_blocking` job cannot be interrupted); past it they are left to finish on their own.
///
/// # Examples
///
/// ```
/// assert!(tulip::compat::RUNTIME_SHUTDOWN_TIMEOUT.as_secs() >= 1);
/// ```
pub const RUNTIME_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The running background runtime, if any claim on it is alive.
static SHARED: Mutex<Weak<Background>> = Mutex::new(Weak::new());

/// The background tokio runtime; shut down when the last claim (`Arc`) is dropped.
struct Background {
    /// Always `Some` until `drop` takes it.
    runtime: Option<Runtime>,
    handle: Handle,
}

impl Drop for Background {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else { return };
        // Inside a runtime (a `Tokio` future driven by tokio itself) blocking is forbidden.
        if Handle::try_current().is_ok() {
            runtime.shutdown_background();
        } else {
            runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
        }
    }
}

/// A loop's claim on the runtime, kept in its extensions until it closes.
struct LoopClaim(Arc<Background>);

/// Returns a claim on the background runtime, starting it if none runs, and gives the running loop
/// (if any) a claim of its own.
fn claim() -> io::Result<Arc<Background>> {
    let bg = {
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        match shared.upgrade() {
            Some(bg) => bg,
            None => {
                let runtime = Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("tulip-tokio")
                    .enable_all()
                    .build()?;
                let bg = Arc::new(Background { handle: runtime.handle().clone(), runtime: Some(runtime) });
                *shared = Arc::downgrade(&bg);
                bg
            }
        }
    };
    if let Some(lp) = try_get_running_loop() {
        keep_on_loop(&lp, &bg);
    }
    Ok(bg)
}

/// Gives `lp` a claim on `bg` unless it holds one already.
fn keep_on_loop(lp: &EventLoop, bg: &Arc<Background>) {
    if lp.is_closed() {
        return;
    }
    let mut exts = lp.inner.extensions.borrow_mut();
    let held = exts.iter().any(|e| e.downcast_ref::<LoopClaim>().is_some_and(|c| Arc::ptr_eq(&c.0, bg)));
    if !held {
        exts.retain(|e| !e.is::<LoopClaim>());
        exts.push(Box::new(LoopClaim(bg.clone())));
    }
}

/// A handle to the background tokio runtime, started if none runs, for code that wants to `spawn`
/// on it or enter it itself. The running loop holds the runtime up until it closes.
///
/// # Errors
///
/// Outside a running tulip loop ([`ErrorKind::Unsupported`](io::ErrorKind::Unsupported): nothing
/// would hold the runtime up), or the OS error when the runtime's thread or its I/O driver cannot be
/// created.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let handle = tulip::compat::tokio_handle().unwrap();
///     let answer = handle.spawn(async { 6 * 7 });
///     assert_eq!(tulip::compat::tokio(answer).await.unwrap(), 42);
/// });
/// assert!(tulip::compat::tokio_handle().is_err());
/// ```
pub fn tokio_handle() -> io::Result<Handle> {
    if try_get_running_loop().is_none() {
        let msg = "tulip::compat::tokio_handle needs a running tulip loop, which holds the tokio runtime up";
        return Err(io::Error::new(io::ErrorKind::Unsupported, msg));
    }
    Ok(claim()?.handle.clone())
}

/// Runs a tokio-based future (reqwest, sqlx, `tokio::time`, `tokio::spawn`, ...) inside tulip code.
///
/// The future is polled where the returned [`Tokio`] is awaited (in a tulip task, on the loop's
/// thread) while a handle to the background tokio runtime is entered; that runtime, on its own
/// thread, drives the future's tokio I/O and timers and runs what it `tokio::spawn`s. See the
/// [module docs](crate::compat) for the cost and when native I/O is the better choice.
///
/// Build tokio futures inside the future passed here (an `async` block): some, as
/// `tokio::time::sleep`, need the runtime already when they are created, and panic with "there is no
/// reactor running" when created outside it.
///
/// # Panics
///
/// When polled, if the background runtime cannot be started (the OS refused a thread or an epoll
/// instance); [`tokio_handle`] returns that error instead.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// tulip::run(async {
///     let v = tulip::compat::tokio(async {
///         tokio::time::sleep(Duration::from_millis(1)).await;
///         tokio::spawn(async { 7 }).await.unwrap()
///     })
///     .await;
///     assert_eq!(v, 7);
/// });
/// ```
pub fn tokio<F: Future>(fut: F) -> Tokio<F> {
    Tokio { inner: Some(fut), claim: None }
}

/// The future of [`tokio()`](fn@tokio).
///
/// # Examples
///
/// ```
/// let fut: tulip::compat::Tokio<_> = tulip::compat::tokio(async { tokio::task::yield_now().await });
/// tulip::run(fut);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Tokio<F> {
    /// `None` only once dropped: `drop` takes it to drop it with the runtime entered.
    inner: Option<F>,
    /// Holds the runtime up from the first poll until this future is dropped.
    claim: Option<Arc<Background>>,
}

impl<F: Future> Future for Tokio<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved, only dropped in place (`drop`).
        let this = unsafe { self.get_unchecked_mut() };
        if this.claim.is_none() {
            match claim() {
                Ok(bg) => this.claim = Some(bg),
                Err(e) => panic!("tulip::compat::tokio could not start its tokio runtime: {e}"),
            }
        }
        let _entered = this.claim.as_ref().map(|bg| bg.handle.enter());
        match this.inner.as_mut() {
            // SAFETY: as above, `inner` is never moved while `self` is pinned.
            Some(inner) => unsafe { Pin::new_unchecked(inner) }.poll(cx),
            None => Poll::Pending,
        }
    }
}

impl<F> Drop for Tokio<F> {
    fn drop(&mut self) {
        // tokio resources (timers, sockets) may need their runtime's context to deregister.
        let _entered = self.claim.as_ref().map(|bg| bg.handle.enter());
        // Dropped in place, as pinning requires.
        self.inner = None;
    }
}

impl<F> fmt::Debug for Tokio<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokio").field("started", &self.claim.is_some()).finish()
    }
}
