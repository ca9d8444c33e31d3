//! tulip: asyncio for Rust (crate docs are written with the reactor).

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

pub mod dns;
mod error;
mod future;
mod handle;
pub mod net;
mod reactor;
mod sync;
mod thread_pool;

pub use dns::{AddrInfo, DnsError};
pub use error::{Elapsed, JobError, LoopClosed, PoolError, RunError, TaskError};
pub use future::{CancelToken, ConcurrentFuture};
pub use handle::LoopHandle;
pub use reactor::io::Readiness;
pub use reactor::{
    get_running_loop, run, sleep, timeout, try_get_running_loop, Async, EventLoop, ExceptionContext, Handle,
    Sleep, Task, Timeout, TimerHandle,
};
pub use thread_pool::{PoolMap, PoolStats, SubmitFuture, ThreadPool, ThreadPoolBuilder};
