//! Scheduled callbacks: [`Handle`], [`TimerHandle`] and the entries of the timer heap.

use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::time::Instant;

use super::LoopInner;

/// Where a scheduled callback is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    /// Waiting in the timer heap.
    InHeap,
    /// Waiting in the ready queue.
    Ready,
    Cancelled,
    Done,
}

/// A callback the loop will run once, type-erased so the ready queue holds one kind of item.
pub(crate) trait Callback {
    /// Runs the closure if it was not cancelled; at most once.
    fn run(&self);
    /// Marks the callback cancelled and drops its closure; returns whether it was still pending and
    /// whether it sat in the timer heap.
    fn cancel(&self) -> (bool, bool);
    fn cancelled(&self) -> bool;
    /// Called when a timer moves from the heap to the ready queue.
    fn leave_heap(&self);
    fn location(&self) -> &'static Location<'static>;
}

/// The closure and its stage, in one allocation.
pub(crate) struct CallbackCell<F> {
    stage: Cell<Stage>,
    /// `None` once run or cancelled, so captured values are freed as early as possible.
    f: Cell<Option<F>>,
    location: &'static Location<'static>,
}

impl<F: FnOnce()> CallbackCell<F> {
    pub(crate) fn new(f: F, location: &'static Location<'static>) -> Self {
        CallbackCell { stage: Cell::new(Stage::Ready), f: Cell::new(Some(f)), location }
    }

    pub(crate) fn new_timer(f: F, location: &'static Location<'static>) -> Self {
        CallbackCell { stage: Cell::new(Stage::InHeap), f: Cell::new(Some(f)), location }
    }
}

impl<F: FnOnce()> Callback for CallbackCell<F> {
    fn run(&self) {
        if matches!(self.stage.get(), Stage::Cancelled | Stage::Done) {
            return;
        }
        self.stage.set(Stage::Done);
        if let Some(f) = self.f.take() {
            f();
        }
    }

    fn cancel(&self) -> (bool, bool) {
        let stage = self.stage.get();
        match stage {
            Stage::InHeap | Stage::Ready => {
                self.stage.set(Stage::Cancelled);
                // Dropping the closure may run arbitrary Drop code; the stage is already final.
                drop(self.f.take());
                (true, stage == Stage::InHeap)
            }
            Stage::Cancelled | Stage::Done => (false, false),
        }
    }

    fn cancelled(&self) -> bool {
        self.stage.get() == Stage::Cancelled
    }

    fn leave_heap(&self) {
        if self.stage.get() == Stage::InHeap {
            self.stage.set(Stage::Ready);
        }
    }

    fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

/// A callback scheduled with [`EventLoop::call_soon`](crate::EventLoop::call_soon).
///
/// Dropping the handle does not cancel the callback.
///
/// # Examples
///
/// ```
/// let lp = tulip::EventLoop::new().unwrap();
/// let h = lp.call_soon(|| unreachable!());
/// h.cancel();
/// assert!(h.cancelled());
/// lp.run_until_complete(async {}).unwrap();
/// ```
pub struct Handle {
    pub(crate) cb: Rc<dyn Callback>,
}

impl Handle {
    /// Cancels the callback if it has not run yet; its closure is dropped at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.call_soon(|| panic!("never")).cancel();
    /// lp.run_until_complete(async {}).unwrap();
    /// ```
    pub fn cancel(&self) {
        self.cb.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called before the callback ran.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let h = lp.call_soon(|| ());
    /// assert!(!h.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.cb.cancelled()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("scheduled_at", &self.cb.location())
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

/// A callback scheduled with [`call_later`](crate::EventLoop::call_later) or
/// [`call_at`](crate::EventLoop::call_at).
///
/// Dropping the handle does not cancel the timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let lp = tulip::EventLoop::new().unwrap();
/// let t = lp.call_later(Duration::from_secs(3600), || unreachable!());
/// t.cancel();
/// assert!(t.cancelled());
/// ```
pub struct TimerHandle {
    cb: Rc<dyn Callback>,
    when: Instant,
    lp: Weak<LoopInner>,
}

impl TimerHandle {
    pub(crate) fn new(cb: Rc<dyn Callback>, when: Instant, lp: Weak<LoopInner>) -> Self {
        TimerHandle { cb, when, lp }
    }

    /// Cancels the timer if it has not fired yet; its closure is dropped at once and its heap entry
    /// is purged lazily.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// lp.call_later(std::time::Duration::ZERO, || panic!("never")).cancel();
    /// lp.run_until_complete(async {}).unwrap();
    /// ```
    pub fn cancel(&self) {
        let (_, was_in_heap) = self.cb.cancel();
        if was_in_heap {
            if let Some(lp) = self.lp.upgrade() {
                lp.timer_cancelled();
            }
        }
    }

    /// Whether [`cancel`](Self::cancel) was called before the timer fired.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let t = lp.call_later(std::time::Duration::from_secs(1), || ());
    /// assert!(!t.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.cb.cancelled()
    }

    /// When the timer is due (on the loop's clock).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let at = lp.time() + std::time::Duration::from_secs(1);
    /// assert_eq!(lp.call_at(at, || ()).when(), at);
    /// ```
    pub fn when(&self) -> Instant {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when)
            .field("scheduled_at", &self.cb.location())
            .field("cancelled", &self.cancelled())
            .finish()
    }
}
