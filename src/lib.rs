//! tulip: asyncio for Rust (crate docs are written with the reactor).

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod error;
mod future;
mod handle;
mod reactor;
mod sync;
mod thread_pool;

pub use error::{Elapsed, JobError, LoopClosed, PoolError, RunError, TaskError};
pub use future::{CancelToken, ConcurrentFuture};
pub use handle::LoopHandle;
pub use reactor::{try_get_running_loop, EventLoop};
/// The producer side of `ConcurrentFuture`, exposed only to the `loom` model in `tests/loom_future.rs`.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::future::{pair, Options, Promise};
}
pub use thread_pool::{PoolMap, PoolStats, SubmitFuture, ThreadPool, ThreadPoolBuilder};
