//! Signals: removing the last handler of a signal, or closing its loop, puts back the disposition
//! found when it was added; a stream and a callback for one signal share the installation.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "signal_disposition_restored/cases.rs",
    "tulip::signal is Unix-only (README, Platforms)"
);
