//! Signals: a handler the program (or a C library) installed before tulip's keeps being called
//! while tulip's is in, with its own calling convention (`SA_SIGINFO` or plain), and is put back
//! when tulip's last registration for the signal goes.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "signal_chains_previous_handler/cases.rs",
    "tulip::signal is Unix-only for now (README, Platforms)"
);
