//! Subprocesses: a child inherits its three standard streams and nothing else, even a descriptor
//! the program opened without `O_CLOEXEC` (as C libraries do); a stream the user hands over as a
//! file still reaches it.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    test,
    "subprocess_fd_hygiene/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
