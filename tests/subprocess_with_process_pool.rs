//! Subprocesses and a process pool in one program do not reap each other's children: the pool's
//! workers are never counted dead while subprocesses come and go, and every subprocess gets its
//! own exit status while pool workers start, recycle and end.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "subprocess_with_process_pool/cases.rs",
    "tulip::subprocess is Unix-only for now (README, Platforms)"
);
