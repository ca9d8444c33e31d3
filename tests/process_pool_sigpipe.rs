//! Process pool: writes to workers never raise `SIGPIPE`. Many command-line programs put `SIGPIPE`
//! back to its default disposition (so that `prog | head` ends quietly); a task written to a worker
//! that has just died must then fail the task or go to another worker, never kill the program.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(unix, main, "process_pool_sigpipe/cases.rs", "SIGPIPE is Unix's (README, Platforms)");
