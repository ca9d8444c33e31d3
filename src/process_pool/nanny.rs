//! The nanny: the far end of a remote worker's link (see [`launcher`](super::launcher)).
//!
//! Started by `ssh`, `srun` or another launcher with the pool's frames on its stdin and stdout,
//! the nanny
//! 1. proves it is the pool's program: the SHA-256 of its own file must be the one the pool sent,
//!    else it answers the handshake with a refusal (device, inode and mtime mean nothing on
//!    another host);
//! 2. starts the real worker next to it, exactly as a local pool would (pipes, status page,
//!    parent-death signal), and passes it the pool's `Hello` with the fingerprint of this host's
//!    file in place of the pool's;
//! 3. relays bytes both ways, and kills the worker (its process group) when its stdin ends: the
//!    OpenSSH client cannot send signals, so the end of the link is the pool's kill, and a lost
//!    link or session leaves nothing running.
//!
//! The worker's `Ready` reply carries the worker's pid on this host; the pool takes it as is.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::child::{self, Child, Waited};
use super::spawn;
use super::wire::{self, ToWorker, HANDSHAKE_MAX, PREFIX};
use super::worker::{EXIT_HANDSHAKE, EXIT_PROTOCOL};

/// Runs the nanny for the marker value `value` (see [`NANNY_ENV`](super::launcher::NANNY_ENV));
/// never returns.
pub(crate) fn run(value: &OsStr) -> ! {
    // SAFETY: fds 0 and 1 are the link; nothing else in this process uses them as `File`s.
    let (input, mut output) = unsafe { (File::from_raw_fd(0), File::from_raw_fd(1)) };
    let code = match serve(value, input, &mut output) {
        Ok(code) => code,
        Err((code, why)) => {
            let mut frame = Vec::new();
            wire::encode_refused(&mut frame, &why);
            let _ = output.write_all(&frame);
            eprintln!("tulip nanny {}: {why}", std::process::id());
            code
        }
    };
    std::process::exit(code)
}

type Failure = (i32, String);

/// Serves one worker; the nanny's exit status says how the worker ended, as a shell would: its own
/// exit status, or 128 + the signal that killed it (the pool reads it through `ssh` or `srun`).
fn serve(value: &OsStr, mut input: File, output: &mut File) -> Result<i32, Failure> {
    let (prefix, token, hash) = parse(value)?;
    let ours = spawn::program()
        .and_then(|p| super::launcher::file_hash(&p))
        .map_err(|e| (EXIT_HANDSHAKE, format!("cannot hash this program's file: {e}")))?;
    if ours != hash {
        let path = spawn::exe_path().map(|p| p.display().to_string()).unwrap_or_default();
        return Err((
            EXIT_HANDSHAKE,
            format!(
                "the program at {path} on this host is not the pool's program (SHA-256 {ours}, \
                 the pool's is {hash}); copy the same build there, or remove the stale file"
            ),
        ));
    }
    let hello = read_hello(&mut input, &token)?;
    let started = |e: io::Error| (EXIT_HANDSHAKE, format!("could not start the worker: {e}"));
    let s = spawn::spawn_worker(&prefix).map_err(started)?;
    let (mut to_worker, from_worker) = (s.to_worker, s.from_worker);
    for fd in [to_worker.as_raw_fd(), from_worker.as_raw_fd()] {
        set_blocking(fd).map_err(started)?;
    }
    to_worker.write_all(&hello).map_err(started)?;
    let link_ended = Arc::new(AtomicBool::new(false));
    let ended = link_ended.clone();
    let page = s.page;
    let downstream = move || {
        let mut buf = vec![0u8; 1 << 16];
        // Ends with the link: then the worker goes too (the watcher kills it).
        while let Ok(n @ 1..) = input.read(&mut buf) {
            if to_worker.write_all(&buf[..n]).is_err() {
                break;
            }
            if let Some(p) = &page {
                p.note_input_write();
            }
        }
        ended.store(true, Ordering::Release);
    };
    std::thread::Builder::new().name("tulip-nanny".into()).spawn(downstream).map_err(started)?;
    let ended = link_ended.clone();
    let watcher = std::thread::Builder::new().name("tulip-nanny-watch".into());
    let watcher = watcher.spawn(move || watch(s.child, &ended)).map_err(started)?;
    if !relay_up(from_worker, output) {
        link_ended.store(true, Ordering::Release);
    }
    let (why, code) = watcher.join().unwrap_or((None, 0));
    if let Some(why) = why {
        eprintln!("tulip: {why}");
    }
    Ok(code)
}

/// How often the watcher looks at the worker and the link.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// How long a worker may stay stopped (`SIGSTOP`) before the nanny takes it for hung and kills it:
/// the pool cannot tell a stopped remote worker from a slow one, the nanny can.
pub(crate) const STOP_LIMIT: Duration = Duration::from_secs(2);

/// Owns the worker until it is gone: kills it when the link ends (`link_ended`) or when it stays
/// stopped past [`STOP_LIMIT`], reaps it; says why it went unless the pool ended it, and gives the
/// nanny's exit status (see [`serve`]).
fn watch(mut child: Child, link_ended: &AtomicBool) -> (Option<String>, i32) {
    let pid = child.pid();
    let mut stopped_since: Option<Instant> = None;
    let mut killed_hung = false;
    loop {
        let hung = || format!("worker {pid} was stopped (SIGSTOP) for over {STOP_LIMIT:?} and was killed");
        if link_ended.load(Ordering::Acquire) {
            child.kill();
            child.wait();
            return (killed_hung.then(hung), 0);
        }
        match child.try_wait(true) {
            Waited::Gone(status) if killed_hung => return (Some(hung()), shell_status(status)),
            Waited::Gone(status) => {
                let clean = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
                let why = (!clean).then(|| format!("worker {pid} {}", child::describe_status(status)));
                return (why, shell_status(status));
            }
            Waited::Unknown => return (None, 0),
            Waited::Stopped => stopped_since = Some(Instant::now()),
            Waited::Running => {}
        }
        if let Some(since) = stopped_since {
            if !still_stopped(pid) {
                stopped_since = None;
            } else if since.elapsed() >= STOP_LIMIT && !killed_hung {
                killed_hung = child.kill();
            }
        }
        std::thread::sleep(WATCH_EVERY);
    }
}

/// A wait status as a shell's exit status: the exit code, or 128 + the signal.
fn shell_status(status: libc::c_int) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// Whether `pid` is still stopped (a stop is reported once; a `SIGCONT` is not reported at all).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn still_stopped(pid: libc::pid_t) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('T'))
}

/// Elsewhere a stop is taken to last (there is no cheap way to see a `SIGCONT`).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn still_stopped(_pid: libc::pid_t) -> bool {
    true
}

/// Copies the worker's frames to the link until the worker ends (`true`) or the link breaks.
fn relay_up(mut from_worker: File, output: &mut File) -> bool {
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n @ 1..) = from_worker.read(&mut buf) {
        if output.write_all(&buf[..n]).is_err() {
            return false;
        }
    }
    true
}

/// Parses `<version>:<pid>:<token hex>:<sha-256 hex>` into the worker's marker prefix (with this
/// process as the parent), the token and the hash.
fn parse(value: &OsStr) -> Result<(String, [u8; 16], String), Failure> {
    let bad = || (EXIT_HANDSHAKE, format!("{value:?} is not a tulip nanny marker"));
    let value = value.to_str().ok_or_else(bad)?;
    let parts: Vec<&str> = value.split(':').collect();
    let [version, _pid, hex, hash] = parts[..] else { return Err(bad()) };
    if version != wire::PROTOCOL_VERSION.to_string() {
        let why = format!("the pool speaks protocol {version}, this program {}", wire::PROTOCOL_VERSION);
        return Err((EXIT_HANDSHAKE, why));
    }
    if hex.len() != 32 || !hex.is_ascii() || hash.len() != 64 {
        return Err(bad());
    }
    let mut token = [0u8; 16];
    for (i, b) in token.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok((format!("{version}:{}:{hex}", std::process::id()), token, hash.to_string()))
}

/// Reads the pool's `Hello` and returns it with this host's fingerprint in place of the pool's.
fn read_hello(input: &mut File, token: &[u8; 16]) -> Result<Vec<u8>, Failure> {
    let bad = |why: String| (EXIT_PROTOCOL, format!("the pool's handshake: {why}"));
    let mut len = [0u8; PREFIX];
    input.read_exact(&mut len).map_err(|e| bad(e.to_string()))?;
    let len = u32::from_le_bytes(len) as usize;
    if len > HANDSHAKE_MAX {
        return Err(bad(format!("a first frame of {len} bytes")));
    }
    let mut body = vec![0u8; len];
    input.read_exact(&mut body).map_err(|e| bad(e.to_string()))?;
    let Ok(ToWorker::Hello { token: theirs, fingerprint, max_frame, init_off }) =
        wire::parse_to_worker(&body)
    else {
        return Err(bad("the first frame is not a Hello".into()));
    };
    let mine = spawn::fingerprint();
    if theirs != *token || fingerprint.protocol != mine.protocol || fingerprint.code != mine.code {
        return Err(bad("its token or build does not match the one it launched this nanny with".into()));
    }
    let mut out = Vec::new();
    wire::encode_hello(&mut out, token, &mine, max_frame, init_off);
    Ok(out)
}

fn set_blocking(fd: i32) -> io::Result<()> {
    // SAFETY: plain fcntl calls on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
