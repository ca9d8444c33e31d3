//! Time on the loop: [`sleep`] and [`timeout`].

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::{far_future, running_loop_for, running_loop_id, EventLoop, TimerHandle};
use crate::error::Elapsed;

/// Completes after `duration` (asyncio's `asyncio.sleep`).
///
/// The timer is armed on the running loop at the first poll; dropping the future cancels it. Polled
/// under another loop later (its first loop stopped or closed), it moves its timer there: the deadline
/// stays the same.
///
/// # Panics
///
/// When polled outside a running tulip loop (as tokio's timers do outside a tokio runtime), unless
/// its deadline has passed; the message names `tulip::sleep` and the line that created it.
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
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new("tulip::sleep", duration)
}

/// The future of [`sleep`].
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Instant,
    /// The timer, once armed: on the loop that last polled the sleep.
    timer: Option<Armed>,
    /// What the user called and where, for the panic of a poll outside a loop.
    made_by: &'static str,
    created_at: &'static Location<'static>,
}

/// A timer armed for a [`Sleep`].
struct Armed {
    handle: TimerHandle,
    state: Rc<SleepState>,
    /// The loop the timer is on; a poll under another loop moves the timer there.
    loop_id: u64,
}

#[derive(Default)]
struct SleepState {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Sleep {
    #[track_caller]
    fn new(made_by: &'static str, duration: Duration) -> Sleep {
        let deadline = Instant::now().checked_add(duration).unwrap_or_else(far_future);
        Sleep { deadline, timer: None, made_by, created_at: Location::caller() }
    }

    /// Arms the timer on `lp`, to wake `waker`.
    fn arm(&mut self, lp: &EventLoop, waker: &Waker) {
        let state = Rc::new(SleepState::default());
        *state.waker.borrow_mut() = Some(waker.clone());
        let s = state.clone();
        let handle = lp.call_at(self.deadline, move || {
            s.fired.set(true);
            // Taken first: the borrow must end before `wake`, which may poll the sleep again.
            let waker = s.waker.borrow_mut().take();
            if let Some(w) = waker {
                w.wake();
            }
        });
        self.timer = Some(Armed { handle, state, loop_id: lp.inner.shared.id });
    }

    /// Cancels the timer, if armed and not yet fired.
    fn disarm(&mut self) {
        if let Some(armed) = self.timer.take() {
            if !armed.state.fired.get() {
                armed.handle.cancel();
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(armed) = &self.timer {
            if armed.state.fired.get() {
                return Poll::Ready(());
            }
            if running_loop_id() == Some(armed.loop_id) {
                let mut w = armed.state.waker.borrow_mut();
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
        }
        // Not armed, or armed on a loop that stopped or closed: move to the loop that polls.
        if self.deadline <= Instant::now() {
            return Poll::Ready(());
        }
        let lp = running_loop_for(format_args!("{} (created at {})", self.made_by, self.created_at));
        self.disarm();
        self.arm(&lp, cx.waker());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).finish()
    }
}

/// Runs `fut` for at most `duration`; `Err(Elapsed)` if it did not finish in time (asyncio's
/// `asyncio.timeout` and `asyncio.wait_for`). The future is dropped when time runs out.
///
/// # A pool job's time in the queue counts
///
/// The clock starts when `timeout` is called, not when a pool job starts: around
/// `lp.run_in_executor(..)` or a pool's `submit`, it also counts the time the job waits for a worker.
/// Ten 300 ms jobs on two threads under a 1 s timeout each: the last ones end in `Elapsed` without
/// having run long. To bound how long a job *runs*, give the limit to the pool at submission:
/// `submit_with_limit(job, limit)` on `ThreadPool` and `ProcessPool` starts the clock when the job
/// starts and fails it with [`JobError::TimedOut(limit)`](crate::JobError::TimedOut). The two combine:
/// a `timeout` bounds the caller's whole wait, a limit the job's run.
///
/// # Panics
///
/// When polled outside a running tulip loop (unless `fut` is ready at once); the message names
/// `tulip::timeout` and the line that called it.
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
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, fut: F) -> Timeout<F> {
    Timeout { fut: Box::pin(fut), sleep: Sleep::new("tulip::timeout", duration) }
}

/// The future of [`timeout`].
#[must_use = "futures do nothing unless polled"]
pub struct Timeout<F> {
    fut: Pin<Box<F>>,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    #[track_caller]
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
