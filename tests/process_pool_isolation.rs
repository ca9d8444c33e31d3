//! Process pool: workers inherit only stdio and their own pipes, and never outlive the program
//! (a `SIGKILL`ed parent leaves no worker alive, busy or idle).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_isolation/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
