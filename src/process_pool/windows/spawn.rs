//! Starting worker processes on Windows: re-execution of this program, its links, its Job object.
//! (The Unix twin is `spawn.rs`; waiting and killing are [`child`](super::child)'s.)
//!
//! # Implementation
//!
//! A worker is [`std::env::current_exe`] started with `CreateProcessW` (through
//! `std::process::Command`) with stdin from `NUL` and stdout and stderr inherited. `std` creates
//! every handle of its own non-inheritable, and the worker is given no handle on purpose: it finds
//! the pool through the loopback port and link token in its environment and connects back (see
//! [`channel`](super::channel)). Only the standard handles, and handles other code of the program
//! made inheritable itself, cross to it.
//!
//! Once the worker has connected back, and before the pool sends it anything, it goes into a Job
//! object of its own (see [`Child::new`]): from there on it dies with the pool's process, and a
//! kill takes the processes its tasks started with it. Until then it runs no code of the user's
//! and starts no process: should the pool's process end meanwhile, the worker finds nobody to
//! connect to and exits. It is not created suspended: a suspended worker whose pool ended would
//! stay, outside any job, forever. The pool waits for its two connections here, on the
//! process-wide spawner thread, for at most the handshake's time.
//!
//! No status page: Windows workers record nothing in shared memory, so the pool assumes a task it
//! sent has started (see the process module's "Windows" section) and never asks for a take-back.

use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use super::channel::{Rendezvous, WorkerInput, WorkerOutput, LINK_ENV};
use super::child::Child;
use super::wire::{Fingerprint, PROTOCOL_VERSION};

/// The environment variable that turns a re-executed program into a worker; its value carries the
/// protocol version, the parent's pid and the handshake token.
pub(crate) const ENV: &str = "TULIP_PROCESS_WORKER";

/// Flag in the worker's environment: a status page was set up (never on Windows).
pub(crate) const FLAG_PAGE: u8 = 1;
/// Flag in the worker's environment: the spawner closed stray descriptors (meaningless on Windows).
pub(crate) const FLAG_CLEAN: u8 = 2;

/// The program workers run.
pub(crate) fn program() -> io::Result<PathBuf> {
    static PROGRAM: OnceLock<Option<PathBuf>> = OnceLock::new();
    let p = PROGRAM.get_or_init(|| std::env::current_exe().ok());
    p.clone().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "cannot find this program's executable"))
}

/// This program's file by its real path.
pub(crate) fn exe_path() -> io::Result<PathBuf> {
    std::env::current_exe()
}

/// What identifies this program, for the handshake (computed once).
pub(crate) fn fingerprint() -> Fingerprint {
    static FINGERPRINT: OnceLock<Fingerprint> = OnceLock::new();
    *FINGERPRINT.get_or_init(|| {
        let meta = program().and_then(std::fs::metadata);
        let (len, mtime) = meta.as_ref().map_or((0, 0), |m| {
            let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            (m.len(), mtime.map_or(0, |d| d.as_nanos() as i64))
        });
        Fingerprint { protocol: PROTOCOL_VERSION, dev: 0, ino: 0, len, mtime, code: super::code::code_id() }
    })
}

/// A fresh secret for one pool's handshakes (or one worker's link), from the system's generator.
pub(crate) fn new_token() -> io::Result<[u8; 16]> {
    use windows_sys::Win32::Security::Cryptography::{BCryptGenRandom, BCRYPT_USE_SYSTEM_PREFERRED_RNG};
    let mut token = [0u8; 16];
    // SAFETY: fills the 16 bytes of `token`; no algorithm handle with the system-preferred flag.
    let status = unsafe {
        BCryptGenRandom(std::ptr::null_mut(), token.as_mut_ptr(), 16, BCRYPT_USE_SYSTEM_PREFERRED_RNG)
    };
    if status != 0 {
        return Err(io::Error::other(format!("BCryptGenRandom failed with status {status:#x}")));
    }
    Ok(token)
}

/// A started worker: its process, and the pool's ends of its links (non-blocking).
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) to_worker: WorkerInput,
    pub(crate) from_worker: WorkerOutput,
    /// Never a page on Windows (see the module docs).
    pub(crate) page: Option<StatusPage>,
    /// The host of a remote worker: never, on Windows.
    pub(crate) host: Option<std::sync::Arc<str>>,
}

/// The shared status page of the Unix twin, which Windows workers do not have: no value of this
/// type exists, and the driver's `Option<StatusPage>` is always `None`.
pub(crate) enum StatusPage {}

impl StatusPage {
    pub(crate) fn started(&self) -> u64 {
        match *self {}
    }
    pub(crate) fn set_started(&self, _seq: u64) {
        match *self {}
    }
    pub(crate) fn input_writes(&self) -> u64 {
        match *self {}
    }
    pub(crate) fn note_input_write(&self) {
        match *self {}
    }
    pub(crate) fn ask_take_back(&self, _upto: u64) {
        match *self {}
    }
    pub(crate) fn wait_take_back(&self, _seen: u32) -> (u32, u64) {
        match *self {}
    }
    pub(crate) fn lock_output(&self, _whole: bool) {
        match *self {}
    }
}

/// Starts one worker process; `env_prefix` is completed with the worker's flags (none here).
pub(crate) fn spawn_worker(env_prefix: &str) -> io::Result<Spawned> {
    let rendezvous = Rendezvous::new(new_token()?)?;
    let mut cmd = Command::new(program()?);
    cmd.env(ENV, format!("{env_prefix}:0"))
        .env(LINK_ENV, rendezvous.env_value()?)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    let mut process = cmd.spawn()?;
    let deadline = Instant::now() + super::HANDSHAKE_TIMEOUT;
    let links = rendezvous.accept(deadline, || matches!(process.try_wait(), Ok(None)));
    match links {
        Ok((to_worker, from_worker)) => {
            let child = Child::new(process)?;
            Ok(Spawned { child, to_worker, from_worker, page: None, host: None })
        }
        Err(e) => {
            // Windows has no zombies: the handle closed, nothing is left to reap.
            let _ = process.kill();
            Err(e)
        }
    }
}
