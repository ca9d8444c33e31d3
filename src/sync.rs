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
#[cfg(not(loom))]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Locks `m`, ignoring poisoning (see the non-loom `lock`).
///
/// Under `cfg(loom)` only the modelled code (the `ConcurrentFuture` state machine) uses loom's mutex;
/// the rest of the crate keeps `std`'s, and this one function locks either, so the crate builds for
/// the model unchanged.
#[cfg(loom)]
pub(crate) fn lock<M: Lockable>(m: &M) -> M::Guard<'_> {
    m.lock_ignoring_poison()
}

/// A mutex of either kind, under `cfg(loom)`.
#[cfg(loom)]
pub(crate) trait Lockable {
    type Guard<'a>
    where
        Self: 'a;
    fn lock_ignoring_poison(&self) -> Self::Guard<'_>;
}

#[cfg(loom)]
impl<T> Lockable for loom::sync::Mutex<T> {
    type Guard<'a>
        = loom::sync::MutexGuard<'a, T>
    where
        T: 'a;
    fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
        self.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(loom)]
impl<T> Lockable for std::sync::Mutex<T> {
    type Guard<'a>
        = std::sync::MutexGuard<'a, T>
    where
        T: 'a;
    fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
        self.lock().unwrap_or_else(|e| e.into_inner())
    }
}
