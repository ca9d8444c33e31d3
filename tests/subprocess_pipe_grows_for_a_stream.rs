//! Subprocesses: a pipe that carries a stream (more than 1 MiB through one end) is raised from the
//! default 64 KiB to 256 KiB, so writer and reader take turns four times less often; a pipe that
//! carries little keeps the default size (a fan-out does not spend the user's pipe budget).

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    target_os = "linux",
    test,
    "subprocess_pipe_grows_for_a_stream/cases.rs",
    "pipe sizes are set with Linux's F_SETPIPE_SZ; other systems size their pipes themselves"
);
