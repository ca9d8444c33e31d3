//! Per-worker state (`ThreadPoolBuilder::worker_state`, `ThreadPool::submit_with_state`): a value
//! made once per worker thread, on its first job that asks for it, and lent to each such job.
//!
//! # Implementation
//!
//! The pool keeps one factory per state type, keyed by `TypeId`; a job submitted with state carries
//! its factory (found at submit, so a missing one is refused there). Each worker thread keeps its
//! states in a thread-local map: a worker belongs to one pool for its whole life, and the states
//! are dropped when its thread exits. A job takes its state out of the map while it runs (no borrow
//! is held across user code, so a job may use another state type), and puts it back when it returns;
//! a job that panics drops it, and the next job makes a fresh one.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::JobError;

/// Makes one worker's state of type `S`, its error already turned into text.
pub(super) type Factory<S> = Arc<dyn Fn() -> Result<S, String> + Send + Sync>;

/// The factories of a pool, each a `Factory<S>` behind `dyn Any`, keyed by `TypeId::of::<S>()`.
pub(super) type Factories = HashMap<TypeId, Arc<dyn Any + Send + Sync>>;

thread_local! {
    /// This worker thread's states, by type (empty on threads that are not pool workers).
    static STATES: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// The factory for `S` among `factories`, if the pool has one.
pub(super) fn factory<S: 'static>(factories: &Factories) -> Option<Factory<S>> {
    factories.get(&TypeId::of::<S>())?.downcast_ref::<Factory<S>>().cloned()
}

/// Runs `f` with this worker's `S`, made by `make` if the worker has none yet. A failure to make it
/// fails the job with `JobError::Initializer` (the next job tries again).
pub(super) fn with_state<S: 'static, T>(
    make: &Factory<S>,
    f: impl FnOnce(&mut S) -> T,
) -> Result<T, JobError> {
    let kept = STATES.with(|m| m.borrow_mut().remove(&TypeId::of::<S>()));
    let mut state: Box<S> = match kept.and_then(|b| b.downcast::<S>().ok()) {
        Some(state) => state,
        None => Box::new(make().map_err(JobError::Initializer)?),
    };
    let out = f(&mut state);
    STATES.with(|m| m.borrow_mut().insert(TypeId::of::<S>(), state));
    Ok(out)
}
