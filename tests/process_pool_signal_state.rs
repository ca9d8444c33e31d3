//! Process pool: workers start with every signal at its default disposition, whatever the program
//! ignores, so that tasks behave as in a fresh program: `Command::output()` inside a task works even
//! when the pool's program ignores `SIGCHLD`, and `SIGINT` / `SIGHUP` are not ignored by inheritance.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_signal_state/cases.rs",
    "checks workers' signal dispositions (Unix) (README, Platforms)"
);
