//! Remote workers as Slurm job steps (`Launcher::srun`), against the single-node Slurm of
//! `scripts/engines.sh slurm`: results come back, and a step killed on its node is `WorkerDied`
//! with nothing left running. Skips with a notice where Slurm is not installed.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "remote_srun/cases.rs",
    "remote workers are process-pool workers, Unix-only for now (README, Platforms)"
);
