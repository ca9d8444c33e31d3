//! Signals: a handler added with `add_signal_handler` runs on the loop's thread, even when the
//! signal is sent from another thread (the OS may run the C-level handler on any thread).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "signal_handler_on_loop_thread/cases.rs",
    "tulip::signal is Unix-only (README, Platforms)"
);
