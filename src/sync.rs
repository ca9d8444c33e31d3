//! Synchronization primitives, swapped for `loom`'s under `cfg(loom)` so the models in `tests/loom_*.rs`
//! explore every interleaving of the code that uses them.

#[cfg(loom)]
pub(crate) use loom::sync::{atomic::AtomicBool, Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::{atomic::AtomicBool, Arc, Condvar, Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning.
///
/// Every critical section in tulip leaves its data consistent before code that could panic runs (user
/// code never runs under a tulip lock), so a poisoned lock carries no broken invariant.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
