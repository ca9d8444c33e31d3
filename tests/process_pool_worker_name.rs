//! Process pool: workers show under the program's own name in `ps` and `top` (their `comm`), not
//! as `exe`, the name of the `/proc/self/exe` link they are started from.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_worker_name/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
