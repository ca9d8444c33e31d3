//! Synchronization primitives, swapped for `loom`'s under `cfg(loom)` so the models in `tests/loom_*.rs`
//! explore every interleaving of the code that uses them.
//!
//! Only the code the models cover takes its primitives from here; the rest of the crate uses `std`'s
//! directly. [`lock`] serves both kinds of mutex, so it works on either side of that line.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{fence, AtomicBool, AtomicU8},
    Arc, Condvar, Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicU8},
    Arc, Condvar, Mutex, MutexGuard,
};

/// A mutex [`lock`] can take: `std`'s, and under `cfg(loom)` also `loom`'s.
pub(crate) trait Lock {
    /// The guard `lock` returns.
    type Guard<'a>
    where
        Self: 'a;
    /// Locks, ignoring poisoning.
    fn lock_ignoring_poison(&self) -> Self::Guard<'_>;
}

impl<T: ?Sized> Lock for std::sync::Mutex<T> {
    type Guard<'a>
        = std::sync::MutexGuard<'a, T>
    where
        Self: 'a;
    fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
        self.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(loom)]
impl<T: ?Sized> Lock for loom::sync::Mutex<T> {
    type Guard<'a>
        = loom::sync::MutexGuard<'a, T>
    where
        Self: 'a;
    fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
        self.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Locks `m`, ignoring poisoning.
///
/// Every critical section in tulip leaves its data consistent before code that could panic runs (user
/// code never runs under a tulip lock), so a poisoned lock carries no broken invariant.
pub(crate) fn lock<M: Lock + ?Sized>(m: &M) -> M::Guard<'_> {
    m.lock_ignoring_poison()
}
