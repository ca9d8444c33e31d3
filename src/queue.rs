//! [`Queue`]: asyncio's `Queue` (FIFO, optionally bounded, with `task_done`/`join`) over `async-channel`.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_channel::{Receiver, Sender, TryRecvError, TrySendError};
use event_listener::Event as Listeners;

/// A first-in first-out queue for tasks and threads (asyncio's `Queue`); clones share one queue.
///
/// `put` waits while the queue is full, `get` while it is empty. Every item put counts as
/// unfinished until a consumer calls [`task_done`](Self::task_done) for it; [`join`](Self::join)
/// waits until none is. The `_blocking` forms serve threads.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let q = tulip::Queue::new(2);
///     let producer = q.clone();
///     let t = std::thread::spawn(move || (0..5).for_each(|i| producer.put_blocking(i)));
///     let mut got = Vec::new();
///     for _ in 0..5 {
///         got.push(q.get().await);
///         q.task_done().unwrap();
///     }
///     q.join().await;
///     t.join().unwrap();
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// });
/// ```
pub struct Queue<T> {
    tx: Sender<T>,
    /// Held alongside `tx`, so the channel is never closed while a `Queue` exists.
    rx: Receiver<T>,
    unfinished: Arc<Unfinished>,
    maxsize: Option<usize>,
}

/// The items put and not yet marked done, and who waits for them to be.
#[derive(Default)]
struct Unfinished {
    /// Incremented before an item enters the channel, decremented by `task_done`.
    count: AtomicUsize,
    /// `join`s waiting for `count` to reach zero.
    zero: Listeners,
}

impl Unfinished {
    /// Takes back the count of an item that never entered the queue.
    fn uncount(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.zero.notify(usize::MAX);
        }
    }
}

/// Uncounts an item whose `put` was dropped before the item entered the queue.
struct Unsent<'a>(&'a Unfinished);

impl Drop for Unsent<'_> {
    fn drop(&mut self) {
        self.0.uncount();
    }
}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items; `0` means no bound, as in asyncio.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::<u8>::new(0);
    /// assert_eq!(q.maxsize(), None);
    /// assert_eq!(tulip::Queue::<u8>::new(3).maxsize(), Some(3));
    /// ```
    pub fn new(maxsize: usize) -> Self {
        let (tx, rx) = match maxsize {
            0 => async_channel::unbounded(),
            n => async_channel::bounded(n),
        };
        Queue { tx, rx, unfinished: Arc::default(), maxsize: (maxsize > 0).then_some(maxsize) }
    }

    /// Puts `item` at the back, waiting while the queue is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::new(1);
    /// futures_lite::future::block_on(q.put('a'));
    /// assert_eq!(q.len(), 1);
    /// ```
    pub async fn put(&self, item: T) {
        self.unfinished.count.fetch_add(1, Ordering::SeqCst);
        // Counted before it enters (a consumer may mark it done at once), uncounted if this future
        // is dropped while waiting for room.
        let unsent = Unsent(&self.unfinished);
        // Cannot fail: `self.rx` keeps the channel open.
        let _ = self.tx.send(item).await;
        std::mem::forget(unsent);
    }

    /// `put` for a thread: blocks while the queue is full. Not for a loop's thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::new(1);
    /// q.put_blocking(1);
    /// assert_eq!(q.get_blocking(), 1);
    /// ```
    pub fn put_blocking(&self, item: T) {
        self.unfinished.count.fetch_add(1, Ordering::SeqCst);
        // Cannot fail: `self.rx` keeps the channel open.
        let _ = self.tx.send_blocking(item);
    }

    /// Puts `item` at the back if there is room; otherwise gives it back in [`QueueFull`].
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::new(1);
    /// assert!(q.try_put(1).is_ok());
    /// assert_eq!(q.try_put(2), Err(tulip::QueueFull(2)));
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), QueueFull<T>> {
        self.unfinished.count.fetch_add(1, Ordering::SeqCst);
        match self.tx.try_send(item) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(item) | TrySendError::Closed(item)) => {
                self.unfinished.uncount();
                Err(QueueFull(item))
            }
        }
    }

    /// Takes the item at the front, waiting while the queue is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::new(0);
    /// q.try_put(7).unwrap();
    /// assert_eq!(futures_lite::future::block_on(q.get()), 7);
    /// ```
    pub async fn get(&self) -> T {
        match self.rx.recv().await {
            Ok(item) => item,
            // Unreachable: `self.tx` keeps the channel open; waiting on is what an open channel does.
            Err(_) => std::future::pending().await,
        }
    }

    /// `get` for a thread: blocks while the queue is empty. Not for a loop's thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::new(0);
    /// q.put_blocking("x");
    /// assert_eq!(q.get_blocking(), "x");
    /// ```
    pub fn get_blocking(&self) -> T {
        futures_lite::future::block_on(self.get())
    }

    /// Takes the item at the front if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::<u8>::new(0);
    /// assert_eq!(q.try_get(), Err(tulip::QueueEmpty));
    /// ```
    pub fn try_get(&self) -> Result<T, QueueEmpty> {
        match self.rx.try_recv() {
            Ok(item) => Ok(item),
            Err(TryRecvError::Empty | TryRecvError::Closed) => Err(QueueEmpty),
        }
    }

    /// Marks one item taken earlier as processed; [`join`](Self::join) returns once every item put
    /// was marked.
    ///
    /// # Errors
    ///
    /// [`TaskDoneTooOften`] when called more times than items were put.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::new(0);
    /// q.put_blocking(());
    /// q.get_blocking();
    /// assert_eq!(q.task_done(), Ok(()));
    /// assert_eq!(q.task_done(), Err(tulip::TaskDoneTooOften));
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneTooOften> {
        let u = &self.unfinished;
        let before = u.count.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match before {
            Ok(1) => {
                u.zero.notify(usize::MAX);
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(_) => Err(TaskDoneTooOften),
        }
    }

    /// Waits until every item put was marked with [`task_done`](Self::task_done).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::<u8>::new(0);
    /// futures_lite::future::block_on(q.join()); // nothing unfinished
    /// ```
    pub async fn join(&self) {
        let u = &self.unfinished;
        loop {
            if u.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            let listener = u.zero.listen();
            // Checked again once registered: the last `task_done` may have come in between.
            if u.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            listener.await;
        }
    }

    /// How many items are in the queue (asyncio's `qsize`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulip::Queue::<u8>::new(0).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether the queue holds no item.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip::Queue::<u8>::new(0).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// Whether a `put` would wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip::Queue::new(1);
    /// q.put_blocking(1);
    /// assert!(q.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.tx.is_full()
    }

    /// The bound given to [`new`](Self::new); `None` when unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulip::Queue::<u8>::new(4).maxsize(), Some(4));
    /// ```
    pub fn maxsize(&self) -> Option<usize> {
        self.maxsize
    }
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            tx: self.tx.clone(),
            rx: self.rx.clone(),
            unfinished: self.unfinished.clone(),
            maxsize: self.maxsize,
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.len())
            .field("maxsize", &self.maxsize)
            .field("unfinished", &self.unfinished.count.load(Ordering::SeqCst))
            .finish()
    }
}

/// [`Queue::try_put`] found the queue full; the item is given back.
///
/// # Examples
///
/// ```
/// let q = tulip::Queue::new(1);
/// q.put_blocking(1);
/// let tulip::QueueFull(back) = q.try_put(2).unwrap_err();
/// assert_eq!(back, 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

impl<T> fmt::Debug for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueFull(..)")
    }
}

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is full")
    }
}

impl<T> std::error::Error for QueueFull<T> {}

/// [`Queue::try_get`] found the queue empty.
///
/// # Examples
///
/// ```
/// assert_eq!(tulip::QueueEmpty.to_string(), "the queue is empty");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueEmpty;

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is empty")
    }
}

impl std::error::Error for QueueEmpty {}

/// [`Queue::task_done`] was called more times than items were put (asyncio's `ValueError`).
///
/// # Examples
///
/// ```
/// assert_eq!(tulip::Queue::<u8>::new(0).task_done(), Err(tulip::TaskDoneTooOften));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneTooOften;

impl fmt::Display for TaskDoneTooOften {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done called more times than items were put in the queue")
    }
}

impl std::error::Error for TaskDoneTooOften {}
