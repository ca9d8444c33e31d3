//! [`TaskGroup`] and [`GroupError`]: tasks that end together.

use std::fmt;
use std::future::Future;
use std::panic::Location;

use super::children::Children;
use crate::error::JobError;
use crate::reactor::running_loop_for;

/// Tasks that end together (asyncio's `TaskGroup`, trio's nursery): [`join`](Self::join) waits for
/// every child; the first failure cancels the others and `join` reports it, with every other error.
///
/// Dropping the group, or cancelling the task that awaits `join`, cancels the children still running,
/// so no child outlives its owner. A child that was cancelled (by the group or by anyone) is not a
/// failure, as in asyncio.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// tulip::run(async {
///     let mut group = tulip::TaskGroup::<u8, Box<dyn std::error::Error>>::new();
///     group.spawn(async { Ok(1) });
///     group.spawn(async { Err("no".into()) });
///     group.spawn(async { tulip::sleep(Duration::from_secs(60)).await; Ok(3) }); // cancelled
///     let err = group.join().await.unwrap_err();
///     assert_eq!(err.first().to_string(), "no");
/// });
/// ```
pub struct TaskGroup<T, E> {
    children: Children<T, E>,
}

impl<T: 'static, E: From<JobError> + 'static> TaskGroup<T, E> {
    /// An empty group.
    ///
    /// # Examples
    ///
    /// ```
    /// let group: tulip::TaskGroup<(), tulip::JobError> = tulip::TaskGroup::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn new() -> Self {
        TaskGroup { children: Children::new() }
    }

    /// Spawns `fut` as a child task on the running loop; it starts at once.
    ///
    /// # Panics
    ///
    /// When no tulip loop runs on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut group = tulip::TaskGroup::<u8, tulip::JobError>::new();
    ///     group.spawn(async { Ok(1) });
    ///     assert_eq!(group.join().await.unwrap(), [1]);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, fut: F)
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        let lp = running_loop_for(format_args!("TaskGroup::spawn at {}", Location::caller()));
        self.children.spawn(&lp, fut);
    }

    /// How many children the group has spawned and not yet joined.
    ///
    /// # Examples
    ///
    /// ```
    /// let group: tulip::TaskGroup<(), tulip::JobError> = tulip::TaskGroup::new();
    /// assert_eq!(group.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.children.left
    }

    /// Whether the group has no child to join.
    ///
    /// # Examples
    ///
    /// ```
    /// let group: tulip::TaskGroup<(), tulip::JobError> = tulip::TaskGroup::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.children.left == 0
    }

    /// Waits for every child and returns their outputs in spawn order, or, if any failed, the
    /// errors in the order they came (after cancelling the other children at the first one).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let pool = tulip::ThreadPool::builder().build().unwrap();
    ///     let mut group = tulip::TaskGroup::new();
    ///     for i in 0..3u32 {
    ///         group.spawn(pool.submit(move || i * 10).unwrap());
    ///     }
    ///     assert_eq!(group.join().await, Ok(vec![0, 10, 20]));
    /// });
    /// ```
    pub async fn join(mut self) -> Result<Vec<T>, GroupError<E>> {
        let children = &mut self.children;
        let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(children.tasks.len()).collect();
        let mut errors = Vec::new();
        while let Some((done, task)) = std::future::poll_fn(|cx| children.poll_next(cx)).await {
            let error = match task.await {
                Ok(Ok(v)) => {
                    slots[done.index] = Some(v);
                    continue;
                }
                Ok(Err(e)) => e,
                Err(JobError::Cancelled) => continue,
                Err(e) => E::from(e),
            };
            if errors.is_empty() {
                children.cancel_all();
            }
            errors.push(error);
        }
        match errors.is_empty() {
            true => Ok(slots.into_iter().flatten().collect()),
            false => Err(GroupError { errors }),
        }
    }
}

impl<T: 'static, E: From<JobError> + 'static> Default for TaskGroup<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup").field("children", &self.children.left).finish()
    }
}

/// The failures of a [`TaskGroup`]'s children, in the order they came (asyncio's `ExceptionGroup`);
/// never empty.
///
/// # Examples
///
/// ```
/// tulip::run(async {
///     let mut group = tulip::TaskGroup::<(), _>::new();
///     group.spawn(async { Err(tulip::JobError::ShutDown) });
///     let err = group.join().await.unwrap_err();
///     assert_eq!(err.errors(), [tulip::JobError::ShutDown]);
///     assert_eq!(err.to_string(), "1 task of the group failed; the first: the pool was shut down before the job finished");
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupError<E> {
    /// At least one error; the first is the one that cancelled the siblings.
    errors: Vec<E>,
}

impl<E> GroupError<E> {
    /// The first failure, the one that cancelled the other children.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut group = tulip::TaskGroup::<(), _>::new();
    ///     group.spawn(async { Err(tulip::JobError::Cancelled) });
    ///     assert_eq!(group.join().await.unwrap_err().first(), &tulip::JobError::Cancelled);
    /// });
    /// ```
    pub fn first(&self) -> &E {
        &self.errors[0]
    }

    /// Every failure, in the order they came.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut group = tulip::TaskGroup::<(), _>::new();
    ///     group.spawn(async { Err(tulip::JobError::ShutDown) });
    ///     assert_eq!(group.join().await.unwrap_err().errors().len(), 1);
    /// });
    /// ```
    pub fn errors(&self) -> &[E] {
        &self.errors
    }

    /// Every failure, owned.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut group = tulip::TaskGroup::<(), _>::new();
    ///     group.spawn(async { Err(tulip::JobError::ShutDown) });
    ///     assert_eq!(group.join().await.unwrap_err().into_errors(), [tulip::JobError::ShutDown]);
    /// });
    /// ```
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{n} task{} of the group failed; the first: {}",
            if n == 1 { "" } else { "s" },
            self.first()
        )
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.first())
    }
}
