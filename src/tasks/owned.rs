//! [`owned`]: a task or pool job that is cancelled, not detached, when its owner drops it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::reactor::Task;

/// A handle whose work can be cancelled: a [`Task`] or a [`ConcurrentFuture`](crate::ConcurrentFuture).
///
/// # Examples
///
/// ```
/// use tulip::tasks::Cancel;
/// let fut = tulip::ConcurrentFuture::ready(Ok(1));
/// assert!(!Cancel::cancel(&fut)); // done with a value: nothing to cancel
/// ```
pub trait Cancel {
    /// Requests cancellation, as the handle's own `cancel` does.
    fn cancel(&self) -> bool;
}

impl<T> Cancel for Task<T> {
    fn cancel(&self) -> bool {
        Task::cancel(self)
    }
}

impl<T: Send + 'static> Cancel for crate::ConcurrentFuture<T> {
    fn cancel(&self) -> bool {
        crate::ConcurrentFuture::cancel(self)
    }
}

/// Owns `handle`: dropping the returned future before it completes cancels the work instead of
/// detaching it. For a [`Task`] or a pool job handed to [`gather`](super::gather), [`TaskGroup`](super::TaskGroup) and the others.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// tulip::run(async {
///     let task = tulip::get_running_loop().spawn(std::future::pending::<()>());
///     // The timeout drops the `Owned` future, which cancels the task.
///     let r = tulip::timeout(Duration::from_millis(1), tulip::tasks::owned(task)).await;
///     assert!(r.is_err());
/// });
/// ```
pub fn owned<F: Future + Cancel + Unpin>(handle: F) -> Owned<F> {
    Owned { handle, finished: false }
}

/// The future of [`owned`].
///
/// # Examples
///
/// ```
/// let fut = tulip::tasks::owned(tulip::ConcurrentFuture::ready(Ok(2)));
/// assert_eq!(futures_lite::future::block_on(fut), Ok(2));
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Owned<F: Cancel> {
    handle: F,
    /// The handle gave its output: nothing left to cancel.
    finished: bool,
}

impl<F: Future + Cancel + Unpin> Future for Owned<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let out = std::task::ready!(Pin::new(&mut self.handle).poll(cx));
        self.finished = true;
        Poll::Ready(out)
    }
}

impl<F: Cancel> Drop for Owned<F> {
    fn drop(&mut self) {
        if !self.finished {
            self.handle.cancel();
        }
    }
}
