//! The worker's side of per-worker state (`worker_state`, `submit_with_state`) and of the pool's
//! `initializer`: both are made or run in each worker process on first need, and a state is kept
//! for the life of the process.
//!
//! A stateful task travels like any other (see `code.rs`): its function is a `fn(&mut S, A) -> R`,
//! its trampoline [`state_trampoline`] for exactly that `S`, `A` and `R`, and its arguments carry
//! the offset of the factory the pool registered for `S` in front of `A`. The states live in one
//! map of this process keyed by type, as the factories are on the pool's side.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::code::{self, Outcome};

thread_local! {
    /// The states made in this worker, by type. Only the worker's main thread runs tasks.
    static STATES: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// Runs the pool's initializer, sent as its offset; a panic counts as its failure.
pub(crate) fn run_initializer(off: i64) -> Result<(), String> {
    let addr = code::address_of(off)?;
    // SAFETY: the pool sends the offset of the `fn() -> Result<(), String>` given to
    // `ProcessPoolBuilder::initializer`, and the handshake established that it runs this program.
    let init = unsafe { std::mem::transmute::<usize, fn() -> Result<(), String>>(addr) };
    catch_unwind(init).unwrap_or_else(|p| Err(format!("the initializer panicked: {}", code::message_of(p))))
}

/// The trampoline of a stateful task: `(factory offset, A)` in, `R` out; the state of type `S` is
/// taken from this worker's map, or made by the factory on first use.
///
/// # Safety
///
/// As [`code::Trampoline`], with `f` a `fn(&mut S, A) -> R`, and the offset in the arguments that
/// of a `fn() -> Result<S, String>` (the pool pairs them by `S`'s type).
pub(crate) unsafe fn state_trampoline<S: 'static, A: DeserializeOwned, R: Serialize>(
    f: usize,
    args: &[u8],
    out: &mut Vec<u8>,
    max: usize,
) -> Outcome {
    // SAFETY: the caller guarantees `f` is a `fn(&mut S, A) -> R` (see above).
    let f = unsafe { std::mem::transmute::<usize, fn(&mut S, A) -> R>(f) };
    let (make_off, args): (i64, A) = match code::decode_args(args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    // SAFETY: `make_off` is the factory of `S` (see above).
    let mut state = match unsafe { take_state::<S>(make_off) } {
        Ok(s) => s,
        Err(why) => return Outcome::State(why),
    };
    // Taken out of the map for the call, so the task's own code can never find the map borrowed.
    let outcome = code::call(|a| f(&mut *state, a), args, out, max);
    STATES.with(|m| m.borrow_mut().insert(TypeId::of::<S>(), state as Box<dyn Any>));
    outcome
}

/// This worker's state of type `S`, made by the factory at `make_off` if there is none yet.
///
/// # Safety
///
/// `make_off` must be the offset of a `fn() -> Result<S, String>`.
unsafe fn take_state<S: 'static>(make_off: i64) -> Result<Box<S>, String> {
    if let Some(s) = STATES.with(|m| m.borrow_mut().remove(&TypeId::of::<S>())) {
        // Keyed by its own type: the downcast cannot fail.
        return s.downcast::<S>().map_err(|_| "a per-worker state was stored under another type".into());
    }
    let addr = code::address_of(make_off)?;
    // SAFETY: the caller guarantees the type.
    let make = unsafe { std::mem::transmute::<usize, fn() -> Result<S, String>>(addr) };
    match catch_unwind(AssertUnwindSafe(make)) {
        Ok(Ok(s)) => Ok(Box::new(s)),
        Ok(Err(e)) => Err(e),
        Err(p) => Err(format!("the worker_state factory panicked: {}", code::message_of(p))),
    }
}
