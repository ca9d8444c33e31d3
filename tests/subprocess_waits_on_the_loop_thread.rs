//! Subprocesses: spawning children and waiting for them (W9's fan-out: many short children, 20 at
//! a time) starts no thread in the program: the waits are readiness waits on the loop, not a pool,
//! a reaper or a DNS lane, which would compete with the children for the cores.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    target_os = "linux",
    test,
    "subprocess_waits_on_the_loop_thread/cases.rs",
    "counts threads through /proc/self/task (Linux only)"
);
