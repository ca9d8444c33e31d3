//! Remote workers through `Launcher::command`: any command that connects the worker's stdin and
//! stdout. Here a local `sh -c 'exec "$@"'` stands in for `kubectl exec -i` or `docker exec -i`; a
//! launcher that prints to stdout first (like a noisy `.bashrc` over ssh) is a clear handshake
//! error, not a hang.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_command/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
