//! hyper 1.x on the loop: its runtime traits for [`TcpStream`], the loop's timers and
//! [`EventLoop::spawn`].
//!
//! # Implementation
//!
//! `rt::Read` and `rt::Write` forward to the stream's `futures-io` impls. hyper's `rt::Sleep` must be
//! `Send + Sync` while the loop's [`Sleep`](crate::Sleep) is bound to its thread, so [`LoopSleep`]
//! wraps one and checks the thread instead: see its doc.

use std::fmt;
use std::future::Future;
use std::io;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use futures_io::AsyncWrite;
use hyper::rt::{self, ReadBufCursor};

use crate::net::TcpStream;
use crate::reactor::{sleep, EventLoop, Sleep};

impl rt::Read for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // Unix: `recv` writes hyper's uninitialized buffer itself, which is not zeroed first.
        // SAFETY: only `recv` writes the slice; `advance` below counts just what it wrote.
        #[cfg(unix)]
        let polled = self.poll_read_uninit(cx, unsafe { buf.as_mut() });
        #[cfg(not(unix))]
        let polled = futures_io::AsyncRead::poll_read(self, cx, buf.initialize_unfilled());
        let n = match polled {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // SAFETY: the read initialized the first `n` bytes of the unfilled part (`n` is at most
        // its length).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl rt::Write for TcpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_close(self, cx)
    }
}

/// hyper's executor (needed for HTTP/2 and by `hyper-util`'s pools) spawns on the loop: the futures
/// need not be `Send`.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor;
///
/// tulip::run(async {
///     let lp = tulip::get_running_loop();
///     let (tx, rx) = std::sync::mpsc::channel();
///     lp.execute(async move { tx.send(5).unwrap() });
///     tulip::sleep(std::time::Duration::from_millis(1)).await;
///     assert_eq!(rx.try_recv(), Ok(5));
/// });
/// ```
impl<F: Future + 'static> rt::Executor<F> for EventLoop {
    fn execute(&self, fut: F) {
        // Detached: a dropped `Task` runs on; its output (hyper's is `()`) is not wanted.
        drop(self.spawn(fut));
    }
}

/// hyper's timer on the loop: `Sleep`s that fire on the loop that polls them. Give it to hyper's
/// builders (`.timer(LoopTimer)`) for `header_read_timeout` and keep-alive timers.
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
/// use std::time::Duration;
///
/// tulip::run(async {
///     let t = std::time::Instant::now();
///     tulip::compat::LoopTimer.sleep(Duration::from_millis(2)).await;
///     assert!(t.elapsed() >= Duration::from_millis(2));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopTimer;

impl rt::Timer for LoopTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(LoopSleep::until(Instant::now().checked_add(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(LoopSleep::until(Some(deadline)))
    }
}

/// The `rt::Sleep` of [`LoopTimer`]: a loop [`Sleep`] that is `Send + Sync`, as hyper requires.
///
/// The loop's timer is armed at the first poll, on the thread that polls. Polled later on another
/// thread (hyper's connection futures moved between threads by a multi-threaded runtime), it leaves
/// that timer alone and arms a new one with the same deadline there; dropped on another thread, it
/// leaks the old one (a few bytes, until that loop closes) rather than touch it. Like
/// [`tulip::sleep`](crate::sleep), it panics when polled outside a running loop before its deadline.
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
///
/// fn is_send_sync<T: Send + Sync>(_: &T) {}
/// is_send_sync(&tulip::compat::LoopTimer.sleep(std::time::Duration::ZERO));
/// ```
pub struct LoopSleep {
    /// `None`: never (the deadline overflowed `Instant`).
    deadline: Option<Instant>,
    /// The armed loop sleep and the thread it was first polled on, the only one that may touch it:
    /// it holds `Rc`s shared with that thread's loop.
    armed: Option<(ManuallyDrop<Sleep>, ThreadId)>,
}

// SAFETY: the only `!Send` / `!Sync` part is `armed`'s `Sleep`, and it is polled and dropped only on
// the thread that created it (`poll` and `drop` check); `&LoopSleep` gives no access to it.
unsafe impl Send for LoopSleep {}
// SAFETY: as above.
unsafe impl Sync for LoopSleep {}

impl rt::Sleep for LoopSleep {}

impl LoopSleep {
    fn until(deadline: Option<Instant>) -> LoopSleep {
        LoopSleep { deadline, armed: None }
    }

    /// Drops the armed sleep if this thread owns it, and leaks it otherwise.
    fn disarm(&mut self) {
        if let Some((mut s, owner)) = self.armed.take() {
            if owner == thread::current().id() {
                // SAFETY: taken out of `armed`, so dropped once, on its own thread.
                unsafe { ManuallyDrop::drop(&mut s) };
            }
        }
    }
}

impl Future for LoopSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else { return Poll::Pending };
        let me = thread::current().id();
        if self.armed.as_ref().is_none_or(|(_, owner)| *owner != me) {
            self.disarm();
            let left = deadline.saturating_duration_since(Instant::now());
            self.armed = Some((ManuallyDrop::new(sleep(left)), me));
        }
        match &mut self.armed {
            Some((s, _)) => Pin::new(&mut **s).poll(cx),
            None => Poll::Pending,
        }
    }
}

impl Drop for LoopSleep {
    fn drop(&mut self) {
        self.disarm();
    }
}

impl fmt::Debug for LoopSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopSleep").field("deadline", &self.deadline).finish()
    }
}
