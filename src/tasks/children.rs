//! `Children`: the tasks spawned for one owner, each reporting on a shared board when it ends.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::error::JobError;
use crate::reactor::{running_loop_for, EventLoop, Task};

/// What a child reports when its future is gone.
#[derive(Clone, Copy)]
pub(super) struct Done {
    pub(super) index: usize,
    /// It returned `Err` or panicked (what [`ReturnWhen::FirstError`] looks for); a cancelled child has
    /// not failed.
    pub(super) failed: bool,
}

/// Completions not yet seen by the owner, and the owner's waker.
#[derive(Default)]
struct Board {
    /// Oldest first; each child's index appears once.
    done: VecDeque<Done>,
    waker: Option<Waker>,
}

/// Held by a child's task for as long as the child's future exists.
struct Notify {
    board: Rc<RefCell<Board>>,
    index: usize,
    /// The output was `Err`; a panic is detected while unwinding.
    failed: bool,
}

impl Drop for Notify {
    fn drop(&mut self) {
        let failed = self.failed || std::thread::panicking();
        let mut board = self.board.borrow_mut();
        board.done.push_back(Done { index: self.index, failed });
        let waker = board.waker.take();
        drop(board);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A child's task: its output is its future's.
pub(super) type Child<T, E> = Task<Result<T, E>>;

/// Tasks spawned for one owner, each reporting on a shared board when it ends. Dropping it cancels
/// the children still running.
pub(super) struct Children<T, E> {
    /// The children's tasks not yet handed back, at their spawn index.
    pub(super) tasks: Vec<Option<Task<Result<T, E>>>>,
    board: Rc<RefCell<Board>>,
    /// How many tasks are not yet handed back (the `Some`s in `tasks`).
    pub(super) left: usize,
}

impl<T: 'static, E: 'static> Children<T, E> {
    pub(super) fn new() -> Self {
        Children { tasks: Vec::new(), board: Rc::default(), left: 0 }
    }

    /// Spawns every future of `futs` on the running loop; `what` and `at` name the call for the
    /// panic when no loop runs here.
    pub(super) fn of<I, F>(futs: I, what: &str, at: &'static Location<'static>) -> Self
    where
        I: IntoIterator<Item = F>,
        F: Future<Output = Result<T, E>> + 'static,
    {
        let lp = running_loop_for(format_args!("{what} at {at}"));
        let mut children = Children::new();
        for fut in futs {
            children.spawn(&lp, fut);
        }
        children
    }

    pub(super) fn spawn<F>(&mut self, lp: &EventLoop, fut: F)
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        let notify = Notify { board: self.board.clone(), index: self.tasks.len(), failed: false };
        let task = lp.spawn(async move {
            // Moved in whole (not just the field written below), so it lives as long as `fut`.
            let mut notify = notify;
            let out = fut.await;
            notify.failed = out.is_err();
            out
        });
        self.tasks.push(Some(task));
        self.left += 1;
    }

    /// The next child to end, with its index; `None` when all were handed back.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Done, Child<T, E>)>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let mut board = self.board.borrow_mut();
        while let Some(done) = board.done.pop_front() {
            if let Some(task) = self.tasks[done.index].take() {
                self.left -= 1;
                return Poll::Ready(Some((done, task)));
            }
        }
        board.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The children not yet handed back, in spawn order.
    pub(super) fn take_pending(&mut self) -> Vec<Task<Result<T, E>>> {
        self.left = 0;
        self.tasks.iter_mut().filter_map(Option::take).collect()
    }
}

impl<T, E> Children<T, E> {
    /// Cancels every child not yet handed back.
    pub(super) fn cancel_all(&self) {
        for task in self.tasks.iter().flatten() {
            task.cancel();
        }
    }
}

impl<T, E> Drop for Children<T, E> {
    fn drop(&mut self) {
        self.cancel_all();
    }
}

/// The output of a child that has ended (its task's output is stored before its `Notify` is seen).
pub(super) async fn outcome<T, E: From<JobError>>(task: Task<Result<T, E>>) -> Result<T, E> {
    task.await.unwrap_or_else(|e| Err(E::from(e)))
}
