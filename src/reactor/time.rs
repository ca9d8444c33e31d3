//! Time on the loop: [`sleep`] and [`timeout`].

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::{far_future, get_running_loop, TimerHandle};
use crate::error::Elapsed;

/// Completes after `duration` (asyncio's `asyncio.sleep`).
///
/// The timer is armed on the running loop at the first poll; dropping the future cancels it.
///
/// # Panics
///
/// When polled outside a running tulip loop (as tokio's timers do outside a tokio runtime).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// tulip::run(async {
///     let t = Instant::now();
///     tulip::sleep(Duration::from_millis(5)).await;
///     assert!(t.elapsed() >= Duration::from_millis(5));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep { deadline: Instant::now().checked_add(duration).unwrap_or_else(far_future), timer: None }
}

/// The future of [`sleep`].
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Instant,
    timer: Option<(TimerHandle, Rc<SleepState>)>,
}

#[derive(Default)]
struct SleepState {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some((_, state)) = &self.timer {
            if state.fired.get() {
                return Poll::Ready(());
            }
            let mut w = state.waker.borrow_mut();
            if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *w = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        if self.deadline <= Instant::now() {
            return Poll::Ready(());
        }
        let state = Rc::new(SleepState::default());
        *state.waker.borrow_mut() = Some(cx.waker().clone());
        let s = state.clone();
        let handle = get_running_loop().call_at(self.deadline, move || {
            s.fired.set(true);
            if let Some(w) = s.waker.borrow_mut().take() {
                w.wake();
            }
        });
        self.timer = Some((handle, state));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((handle, state)) = &self.timer {
            if !state.fired.get() {
                handle.cancel();
            }
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).finish()
    }
}

/// Runs `fut` for at most `duration`; `Err(Elapsed)` if it did not finish in time (asyncio's
/// `asyncio.timeout`). The future is dropped when time runs out.
///
/// # Panics
///
/// When polled outside a running tulip loop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// tulip::run(async {
///     assert_eq!(tulip::timeout(Duration::from_secs(1), async { 5 }).await, Ok(5));
///     let slow = tulip::sleep(Duration::from_secs(60));
///     assert_eq!(tulip::timeout(Duration::from_millis(1), slow).await, Err(tulip::Elapsed));
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, fut: F) -> Timeout<F> {
    Timeout { fut: Box::pin(fut), sleep: sleep(duration) }
}

/// The future of [`timeout`].
#[must_use = "futures do nothing unless polled"]
pub struct Timeout<F> {
    fut: Pin<Box<F>>,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = self.fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout").field("sleep", &self.sleep).finish()
    }
}
