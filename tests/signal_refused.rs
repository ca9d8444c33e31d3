//! Signals: what can never be handled on a loop is refused with a typed error: SIGKILL and
//! SIGSTOP, the synchronous fault signals, numbers that are not signals, a closed loop, and an
//! awaitable outside a running loop.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(unix, test, "signal_refused/cases.rs", "tulip::signal is Unix-only (README, Platforms)");
