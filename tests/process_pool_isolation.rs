//! Process pool: workers inherit only stdio and their own pipes, and never outlive the program
//! (a `SIGKILL`ed parent leaves no worker alive, busy or idle).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "process_pool_isolation/cases.rs",
    "checks workers' descriptors and PR_SET_PDEATHSIG (Unix); process_pool_windows pins the Job object there (README, Platforms)"
);
