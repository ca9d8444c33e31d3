//! Signals: arrivals are coalesced but never lost: a signal that arrives while its handler runs
//! (after the loop drained its wakeup) makes the handler run again on a later pass, and a sender
//! that waits for each arrival to be seen never waits forever.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(unix, test, "signal_coalesced_not_lost/cases.rs", "tulip::signal is Unix-only (README, Platforms)");
