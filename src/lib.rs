//! tulip: asyncio for Rust (crate docs are written with the reactor).

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod error;
mod future;
mod handle;
#[cfg(unix)]
mod process_pool;
mod reactor;
mod sync;

pub use error::{Elapsed, JobError, LoopClosed, PoolError, RunError, TaskError};
pub use future::{CancelToken, ConcurrentFuture};
pub use handle::LoopHandle;
#[cfg(unix)]
pub use process_pool::process;
#[cfg(unix)]
pub use process_pool::{ProcessMap, ProcessPool, ProcessPoolBuilder, ProcessPoolStats};
pub use reactor::{try_get_running_loop, EventLoop};
