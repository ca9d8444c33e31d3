//! Process-pool security properties, checked against real and hostile workers:
//!
//! - workers are this very executable, started directly (no shell in between), with `argv[0]` only;
//! - they hold no descriptor of the parent's but stdio and their own two pipes, even a high one or a
//!   socket left without close-on-exec;
//! - the pool refuses a worker whose handshake reply lacks its token, and a worker refuses a pool
//!   that does not present the token it was started with;
//! - a worker runs nothing that did not come after a verified handshake;
//! - a frame announcing more than the limit is refused before anything is allocated for it, on
//!   both sides;
//! - a worker cannot settle a task it was not running.
//!
//! Hostile workers are this test program started by the pool with `TULIP_TEST_FAKE_WORKER` set: it
//! then plays a worker by hand (mirroring the frames of `src/process_pool/wire.rs`) instead of
//! calling `tulip::process::init()`. Hostile pools are the test itself, starting a worker by hand.

#[macro_use]
#[path = "support/gate.rs"]
mod gate;
only_on!(
    unix,
    main,
    "security_workers/cases.rs",
    "checks workers' descriptors, parent and signals (Unix) (README, Platforms)"
);
