//! asyncio's synchronization primitives (`asyncio.locks`, `asyncio.queues`), for tasks on the loop and
//! for threads alike.
//!
//! [`Semaphore`], [`Mutex`] (asyncio's `Lock` guards no data; [`Lock`] is `Mutex<()>`) come from
//! `async-lock` unchanged; [`Event`] and [`Condition`] are small layers over `event-listener`, and
//! [`Queue`](crate::Queue) over `async-channel`. None depends on tulip's loop: each works under any runtime and from
//! blocking code (`futures_lite::future::block_on`), so a thread can feed a task through a [`Queue`](crate::Queue) or
//! wake it through an [`Event`].
//!
//! ```
//! use std::sync::Arc;
//! // At most two pool jobs in flight, whatever the number of tasks asking.
//! tulip::run(async {
//!     let pool = tulip::ThreadPool::builder().build().unwrap();
//!     let sem = Arc::new(tulip::Semaphore::new(2));
//!     let mut group = tulip::TaskGroup::new();
//!     for i in 0..10u32 {
//!         let (sem, pool) = (sem.clone(), pool.clone());
//!         group.spawn(async move {
//!             let _permit = sem.acquire().await;
//!             pool.submit(move || i).unwrap().await
//!         });
//!     }
//!     assert_eq!(group.join().await.unwrap().len(), 10);
//! });
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

pub use async_lock::{Mutex, MutexGuard, Semaphore, SemaphoreGuard, SemaphoreGuardArc};
use event_listener::Event as Listeners;

/// asyncio's `Lock`: a mutex that guards no data. Prefer a [`Mutex`] around the data itself.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let lock = tulip::Lock::new(());
///     let guard = lock.lock().await;
///     assert!(lock.try_lock().is_none());
///     drop(guard);
///     assert!(lock.try_lock().is_some());
/// });
/// ```
pub type Lock = Mutex<()>;

/// A flag tasks and threads can wait for (asyncio's `Event`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// tulip::run(async {
///     let ev = Arc::new(tulip::Event::new());
///     let e = ev.clone();
///     std::thread::spawn(move || e.set());
///     ev.wait().await;
///     assert!(ev.is_set());
/// });
/// ```
#[derive(Default)]
pub struct Event {
    /// Set by `set`, cleared by `clear`; `wait` returns while it is set.
    flag: AtomicBool,
    /// The waiters, all woken by `set`.
    listeners: Listeners,
}

impl Event {
    /// A new event, not set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!tulip::Event::new().is_set());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = tulip::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.listeners.notify(usize::MAX);
    }

    /// Clears the flag: later `wait`s block until the next `set`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = tulip::Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.flag.store(false, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!tulip::Event::new().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Waits until the flag is set; returns at once if it is.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = tulip::Event::new();
    /// ev.set();
    /// futures_lite::future::block_on(ev.wait());
    /// ```
    pub async fn wait(&self) {
        loop {
            if self.is_set() {
                return;
            }
            let listener = self.listeners.listen();
            // Checked again once registered: a `set` in between would otherwise be missed.
            if self.is_set() {
                return;
            }
            listener.await;
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).finish()
    }
}

/// Waiting for a change made under a [`Mutex`] (asyncio's `Condition`, used like `std`'s `Condvar`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// tulip::run(async {
///     let state = Arc::new((tulip::Mutex::new(0), tulip::Condition::new()));
///     let s = state.clone();
///     std::thread::spawn(move || {
///         *s.0.lock_blocking() = 5;
///         s.1.notify_all();
///     });
///     let (m, cond) = &*state;
///     let guard = cond.wait_for(m.lock().await, |v| *v == 5).await;
///     assert_eq!(*guard, 5);
/// });
/// ```
#[derive(Default)]
pub struct Condition {
    listeners: Listeners,
}

impl Condition {
    /// A new condition.
    ///
    /// # Examples
    ///
    /// ```
    /// let _cond = tulip::Condition::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Releases `guard`'s lock, waits for a notification, and locks again.
    ///
    /// Wakeups may be spurious, as with any condition variable: check the state again, or use
    /// [`wait_for`](Self::wait_for).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let (m, cond) = (tulip::Mutex::new(false), tulip::Condition::new());
    ///     let waiter = async {
    ///         let mut g = m.lock().await;
    ///         while !*g { g = cond.wait(g).await; }
    ///     };
    ///     let setter = async { *m.lock().await = true; cond.notify_all(); };
    ///     futures_lite::future::zip(waiter, setter).await;
    /// });
    /// ```
    pub async fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = MutexGuard::source(&guard);
        // Registered before the lock is released, so a notification made under the lock is not missed.
        let listener = self.listeners.listen();
        drop(guard);
        listener.await;
        mutex.lock().await
    }

    /// Waits until `ready` holds for the guarded value, releasing the lock while waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let (m, cond) = (tulip::Mutex::new(1), tulip::Condition::new());
    ///     let g = cond.wait_for(m.lock().await, |v| *v == 1).await;
    ///     assert_eq!(*g, 1);
    /// });
    /// ```
    pub async fn wait_for<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut ready: impl FnMut(&T) -> bool,
    ) -> MutexGuard<'a, T> {
        while !ready(&guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::Condition::new().notify(1);
    /// ```
    pub fn notify(&self, n: usize) {
        self.listeners.notify(n);
    }

    /// Wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::Condition::new().notify_all();
    /// ```
    pub fn notify_all(&self) {
        self.listeners.notify(usize::MAX);
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").finish_non_exhaustive()
    }
}
