//! Process pool: tiny tasks are not sent to wait behind a task that has run longer than the
//! pipelining budget while another worker can take them (issue 11, item 9: with pipelining up to
//! 512 deep, half of 600 tiny tasks waited behind one long task while the other worker idled).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_head_of_line/cases.rs",
    "the process pool is Unix-only for now (README, Platforms)"
);
