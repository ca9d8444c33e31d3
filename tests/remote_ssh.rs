//! Remote workers over ssh, against the two throwaway sshd's of `scripts/engines.sh` (127.0.0.1 and
//! 127.0.0.2 as hosts `tulip-1` and `tulip-2`): results from both hosts, a worker killed on its host,
//! a lost ssh session, a task timeout, the content-addressed upload and a tampered cached binary.
//! Skips with a notice where sshd is not installed.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_ssh/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
