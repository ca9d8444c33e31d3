//! The nanny: the far end of a remote worker's link (see [`launcher`](super::launcher)).
//!
//! Started by `ssh`, `srun` or another launcher with the pool's frames on its stdin and stdout,
//! the nanny
//! 1. proves it is the pool's program: the SHA-256 of its own file must be the one the pool sent,
//!    else it answers the handshake with a refusal (device, inode and mtime mean nothing on
//!    another host);
//! 2. starts the real worker next to it, as a local pool would (its socket, status page,
//!    parent-death signal) but with the link itself as its output and the nanny's stderr as its
//!    stdout (what a task prints must not land on the link), and passes it the pool's `Hello` with
//!    the fingerprint of this host's file in place of the pool's;
//! 3. relays the pool's frames to the worker, taking out the ones meant for itself: on a `Kill` it
//!    kills the worker's process group (a task's timeout or cancel costs no new connection); the
//!    worker writes its frames straight onto the link (one hop less per result than a relay);
//! 4. when the worker is gone (killed, crashed, or stopped past [`STOP_LIMIT`]), tells the pool with
//!    a `Gone` frame (its wait status and how many tasks it had started, read from its status
//!    page, so that the pool re-sends the ones it never started), drops what the pool sends until
//!    the pool's `Restart`, then starts a fresh worker on the same link;
//! 5. sends a `Beat` frame every interval the pool asked for, so that the pool sees a host that
//!    hangs with its link open;
//! 6. kills the worker when its stdin ends: the OpenSSH client cannot send signals, so the end of
//!    the link is the pool's kill, and a lost link or session leaves nothing running.
//!
//! The nanny writes its own frames only between the worker's: it holds the status page's output
//! lock for each, as the worker does for each of its own (see `StatusPage::lock_output`), and skips
//! a beat rather than wait for it. A worker that died holding that lock may have left half a frame on
//! the link, so the nanny ends the link then instead of sending `Gone`, as for a lost link, unless
//! the worker's frame was one the kernel writes whole or not at all (see
//! `StatusPage::died_mid_frame`): a worker is often killed just after its last result. Where
//! there is no status page (off Linux) the nanny relays the worker's frames from a pipe instead,
//! and follows their length prefixes to find the gaps between them.
//!
//! The worker's `Ready` reply carries the worker's pid on this host; the pool takes it as is.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::channel::WorkerInput;
use super::child::{self, Child, Waited};
use super::spawn::{self, StatusPage};
use super::wire::{self, ToWorker, HANDSHAKE_MAX, KIND_KILL, KIND_RESTART, PREFIX};
use super::worker::{EXIT_HANDSHAKE, EXIT_PROTOCOL};

/// Runs the nanny for the marker value `value` (see [`NANNY_ENV`](super::launcher::NANNY_ENV));
/// never returns.
pub(crate) fn run(value: &OsStr) -> ! {
    // SAFETY: fd 0 is the link's input; nothing else in this process uses it as a `File`.
    let input = unsafe { File::from_raw_fd(0) };
    let output = match link_output() {
        Ok(output) => output,
        Err(e) => {
            eprintln!("tulip nanny {}: cannot take the link's output off stdout: {e}", std::process::id());
            std::process::exit(EXIT_HANDSHAKE)
        }
    };
    let link = Arc::new(Link::new(output));
    let code = match serve(value, input, &link) {
        Ok(code) => code,
        Err((code, why)) => {
            let mut frame = Vec::new();
            wire::encode_refused(&mut frame, &why);
            link.send(&frame);
            eprintln!("tulip nanny {}: {why}", std::process::id());
            code
        }
    };
    std::process::exit(code)
}

type Failure = (i32, String);

/// Moves the link's output off fd 1, which then points where stderr does: the workers inherit fd 1
/// as their stdout, and what a task prints there must reach the pool's stderr (prefixed with the
/// host), not the link, where it would break the frames.
fn link_output() -> io::Result<File> {
    // SAFETY: duplicates fd 1 (the link) to a new close-on-exec descriptor owned by the result, then
    // points fd 1 at stderr; nothing else in this process holds fd 1 as a `File`.
    unsafe {
        let fd = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let output = File::from_raw_fd(fd);
        if libc::dup2(2, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(output)
    }
}

/// What the nanny's threads share: the link's upstream, and the worker now on it.
struct Link {
    up: Mutex<Upstream>,
    current: Mutex<Current>,
    /// Signalled when the pool asks for a restart or the link ends.
    changed: Condvar,
    /// The link's input ended: the pool is gone, or wants this worker gone.
    ended: AtomicBool,
}

/// The link's output.
struct Upstream {
    out: File,
    /// Where the relayed worker's stream stands in its frames: the nanny writes its own only
    /// between them. Always between when the worker writes onto the link itself.
    frames: Boundary,
    /// A write failed: the link is broken.
    broken: bool,
}

/// The worker on the link, as the link's reader sees it.
#[derive(Default)]
struct Current {
    /// The worker's input; `None` from its end (or a `Kill`) until the pool's `Restart`: what the
    /// pool sends meanwhile was meant for the dead worker and is dropped.
    to_worker: Option<WorkerInput>,
    /// The worker's status page; while a worker writes onto the link itself, the nanny writes its
    /// own frames under the page's output lock.
    page: Option<StatusPage>,
    /// Set by a `Kill`: the watcher kills the worker.
    kill: Arc<AtomicBool>,
    /// The pool sent `Restart`.
    restart: bool,
}

impl Link {
    fn new(out: File) -> Link {
        let up = Upstream { out, frames: Boundary::default(), broken: false };
        Link {
            up: Mutex::new(up),
            current: Mutex::new(Current::default()),
            changed: Condvar::new(),
            ended: AtomicBool::new(false),
        }
    }

    /// Writes a frame of the nanny's own while the worker may be writing too, if it is between
    /// frames; skipped (`false`) otherwise.
    fn send_beside(&self, frame: &[u8]) -> bool {
        let cur = lock(&self.current);
        let held = cur.page.as_ref().map(StatusPage::try_lock_output);
        if matches!(held, Some(None)) {
            return false;
        }
        self.send(frame)
    }

    /// Writes a frame of the nanny's own, if the relayed worker's stream is between frames (see
    /// [`send_beside`](Link::send_beside) for a worker that writes onto the link itself).
    fn send(&self, frame: &[u8]) -> bool {
        let mut up = lock(&self.up);
        if !up.frames.between() || up.broken {
            return false;
        }
        up.broken = up.out.write_all(frame).is_err();
        !up.broken
    }

    /// Relays bytes of the worker's stream.
    fn relay(&self, bytes: &[u8]) -> bool {
        let mut up = lock(&self.up);
        up.frames.advance(bytes);
        up.broken |= up.out.write_all(bytes).is_err();
        !up.broken
    }

    /// Makes `to_worker` the link's worker, after handing it the pool's `hello`. Both under one
    /// lock: the pool sends its first task once the worker has answered that hello, and a task
    /// the reader found no worker for would be dropped, leaving the pool waiting for its result.
    fn install(
        &self,
        mut to_worker: WorkerInput,
        hello: &[u8],
        page: Option<StatusPage>,
        kill: Arc<AtomicBool>,
    ) -> io::Result<()> {
        let mut cur = lock(&self.current);
        to_worker.write_all(hello)?;
        *cur = Current { to_worker: Some(to_worker), page, kill, restart: false };
        Ok(())
    }

    fn end(&self) {
        self.ended.store(true, Ordering::Release);
        let _guard = lock(&self.current);
        self.changed.notify_all();
    }

    /// Waits for the pool's `Restart`; `false` if the link ended first.
    fn wait_restart(&self) -> bool {
        let mut cur = lock(&self.current);
        while !cur.restart && !self.ended.load(Ordering::Acquire) {
            cur = self.changed.wait(cur).unwrap_or_else(|e| e.into_inner());
        }
        std::mem::take(&mut cur.restart) && !self.ended.load(Ordering::Acquire)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Follows a stream's frames by their length prefixes, to tell when it is between two.
#[derive(Default)]
struct Boundary {
    /// Bytes of the current frame's body still to come.
    body_left: usize,
    /// The bytes of the current prefix seen so far, and how many.
    prefix: [u8; PREFIX],
    have: usize,
}

impl Boundary {
    fn between(&self) -> bool {
        self.body_left == 0 && self.have == 0
    }

    fn advance(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                self.body_left -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (PREFIX - self.have).min(bytes.len());
            self.prefix[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have == PREFIX {
                self.body_left = u32::from_le_bytes(self.prefix) as usize;
                self.have = 0;
            }
        }
    }
}

/// Serves workers one after the other on the link until it ends; the nanny's exit status says
/// how the last one ended, as a shell would: its own exit status, or 128 + the signal that killed
/// it (the pool reads it through `ssh` or `srun` when there was no `Gone` to tell it).
fn serve(value: &OsStr, mut input: File, link: &Arc<Link>) -> Result<i32, Failure> {
    let (prefix, token, hash, beat) = parse(value)?;
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
    let reader = link.clone();
    let thread = std::thread::Builder::new().name("tulip-nanny".into());
    thread.spawn(move || read_link(input, &reader)).map_err(started)?;
    if let Some(every) = beat {
        let beats = link.clone();
        let thread = std::thread::Builder::new().name("tulip-nanny-beat".into());
        thread.spawn(move || send_beats(&beats, every)).map_err(started)?;
    }
    loop {
        let (status, why, started_tasks, torn) = serve_one(&prefix, &hello, link).map_err(started)?;
        let code = status.map_or(0, shell_status);
        if link.ended.load(Ordering::Acquire) || torn {
            return Ok(code);
        }
        let mut frame = Vec::new();
        wire::encode_gone(&mut frame, status.unwrap_or(0), started_tasks, &why);
        if !link.send(&frame) || !link.wait_restart() {
            return Ok(code);
        }
    }
}

/// How a worker ended: its wait status (if collected), why, one more than the last task it started
/// (`u64::MAX`: unknown), and whether it died holding the link's output lock (see the module docs).
type Ended = (Option<libc::c_int>, String, u64, bool);

/// Starts one worker, serves it until it ends, and says how it went.
fn serve_one(prefix: &str, hello: &[u8], link: &Arc<Link>) -> io::Result<Ended> {
    let (child, to_worker, page, from_worker) = start_worker(prefix, link)?;
    set_blocking(to_worker.as_raw_fd())?;
    let kill = Arc::new(AtomicBool::new(false));
    link.install(to_worker, hello, page, kill.clone())?;
    let watched = link.clone();
    let watcher = std::thread::Builder::new().name("tulip-nanny-watch".into());
    let watcher = watcher.spawn(move || watch(child, &watched.ended, &kill))?;
    if let Some(from_worker) = from_worker {
        relay_up(from_worker, link);
    }
    let (why, status) = watcher.join().unwrap_or((None, None));
    let (killed, started, torn) = {
        let mut cur = lock(&link.current);
        cur.to_worker = None;
        let page = cur.page.take();
        let started = page.as_ref().map_or(u64::MAX, StatusPage::started);
        (cur.kill.load(Ordering::Acquire), started, page.is_some_and(|p| p.died_mid_frame()))
    };
    let why = why.unwrap_or_else(|| "the worker's end could not be collected".into());
    if !killed && !link.ended.load(Ordering::Acquire) {
        eprintln!("tulip: {why}");
    }
    Ok((status, why, started, torn))
}

/// Starts a worker that writes onto the link itself, or where there is no status page to share the
/// link under, one whose frames the nanny relays (returned: the pipe they come from).
fn start_worker(
    prefix: &str,
    link: &Link,
) -> io::Result<(Child, WorkerInput, Option<StatusPage>, Option<File>)> {
    let out = lock(&link.up).out.try_clone()?;
    match spawn::spawn_worker_onto(prefix, out.into()) {
        Ok((child, to_worker, page)) => Ok((child, to_worker, Some(page), None)),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
            let s = spawn::spawn_worker(prefix)?;
            set_blocking(s.from_worker.as_raw_fd())?;
            Ok((s.child, s.to_worker, s.page, Some(s.from_worker)))
        }
        Err(e) => Err(e),
    }
}

/// Reads the link: relays the pool's frames to the worker, and acts on those meant for the nanny
/// (`Kill`, `Restart`). Ends the link when its input ends.
fn read_link(mut input: File, link: &Link) {
    let mut buf = vec![0u8; 1 << 16];
    // `buf[..carry]`: the start of a frame whose prefix and kind are not all here yet.
    let (mut carry, mut body_left) = (0, 0usize);
    loop {
        let n = match input.read(&mut buf[carry..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let filled = carry + n;
        let (mut at, mut run) = (0, 0);
        while at < filled {
            if body_left > 0 {
                let k = body_left.min(filled - at);
                (at, body_left) = (at + k, body_left - k);
                continue;
            }
            if filled - at < PREFIX + 1 {
                break;
            }
            let len = u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
            let kind = buf[at + PREFIX];
            if len == 1 && (kind == KIND_KILL || kind == KIND_RESTART) {
                forward(link, &buf[run..at]);
                control(link, kind);
                at += PREFIX + 1;
                run = at;
            } else {
                (at, body_left) = (at + PREFIX, len);
            }
        }
        forward(link, &buf[run..at]);
        buf.copy_within(at..filled, 0);
        carry = filled - at;
    }
    link.end();
}

/// Writes the pool's bytes to the worker, if there is one to take them.
fn forward(link: &Link, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let mut cur = lock(&link.current);
    let Some(w) = cur.to_worker.as_mut() else { return };
    if w.write_all(bytes).is_err() {
        cur.to_worker = None;
    } else if let Some(p) = &cur.page {
        p.note_input_write();
    }
}

/// Acts on a frame meant for the nanny.
fn control(link: &Link, kind: u8) {
    let mut cur = lock(&link.current);
    if kind == KIND_KILL {
        cur.kill.store(true, Ordering::Release);
        cur.to_worker = None;
    } else {
        cur.restart = true;
        link.changed.notify_all();
    }
}

/// Sends a `Beat` every `every` while the link lasts (skipped while a worker's frame is halfway).
fn send_beats(link: &Link, every: Duration) {
    let mut beat = Vec::new();
    wire::encode_bare(&mut beat, wire::KIND_BEAT);
    while !link.ended.load(Ordering::Acquire) {
        std::thread::sleep(every);
        link.send_beside(&beat);
    }
}

/// How often the watcher looks at the worker and the link.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// How long a worker may stay stopped (`SIGSTOP`) before the nanny takes it for hung and kills it:
/// the pool cannot tell a stopped remote worker from a slow one, the nanny can.
pub(crate) const STOP_LIMIT: Duration = Duration::from_secs(2);

/// Owns the worker until it is gone: kills it when the link ends, on a `Kill` (`kill`), or when it
/// stays stopped past [`STOP_LIMIT`]; reaps it; says why it went and gives its wait status.
fn watch(
    mut child: Child,
    link_ended: &AtomicBool,
    kill: &AtomicBool,
) -> (Option<String>, Option<libc::c_int>) {
    let pid = child.pid();
    let mut stopped_since: Option<Instant> = None;
    let mut killed_hung = false;
    let hung = || format!("worker {pid} was stopped (SIGSTOP) for over {STOP_LIMIT:?} and was killed");
    loop {
        if link_ended.load(Ordering::Acquire) || kill.load(Ordering::Acquire) {
            child.kill();
            let status = child.wait();
            let why =
                if killed_hung { hung() } else { format!("worker {pid} was killed at the pool's request") };
            return (Some(why), status);
        }
        match child.try_wait(true) {
            Waited::Gone(status) if killed_hung => return (Some(hung()), Some(status)),
            Waited::Gone(status) => {
                return (Some(format!("worker {pid} {}", child::describe_status(status))), Some(status))
            }
            Waited::Unknown => return (None, None),
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

/// Copies the worker's frames to the link until the worker's output ends or the link breaks.
fn relay_up(mut from_worker: File, link: &Link) {
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n @ 1..) = from_worker.read(&mut buf) {
        if !link.relay(&buf[..n]) {
            return;
        }
    }
}

/// Parses `<version>:<pid>:<token hex>:<sha-256 hex>[:<heartbeat ms>]` into the worker's marker
/// prefix (with this process as the parent), the token, the hash and the heartbeat interval.
fn parse(value: &OsStr) -> Result<(String, [u8; 16], String, Option<Duration>), Failure> {
    let bad = || (EXIT_HANDSHAKE, format!("{value:?} is not a tulip nanny marker"));
    let value = value.to_str().ok_or_else(bad)?;
    let parts: Vec<&str> = value.split(':').collect();
    let (version, hex, hash, beat) = match parts[..] {
        [version, _pid, hex, hash] => (version, hex, hash, "0"),
        [version, _pid, hex, hash, beat] => (version, hex, hash, beat),
        _ => return Err(bad()),
    };
    if version != wire::PROTOCOL_VERSION.to_string() {
        let why = format!("the pool speaks protocol {version}, this program {}", wire::PROTOCOL_VERSION);
        return Err((EXIT_HANDSHAKE, why));
    }
    if hash.len() != 64 {
        return Err(bad());
    }
    let token = wire::token_from_hex(hex).ok_or_else(bad)?;
    let beat_ms: u64 = beat.parse().map_err(|_| bad())?;
    let beat = (beat_ms > 0).then(|| Duration::from_millis(beat_ms));
    Ok((format!("{version}:{}:{hex}", std::process::id()), token, hash.to_string(), beat))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A status page as the nanny and its worker share it: two mappings of a fresh memfd.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn pages() -> (StatusPage, StatusPage) {
        // SAFETY: a NUL-terminated name; the descriptor is then owned here.
        let fd = unsafe { libc::syscall(libc::SYS_memfd_create, c"test-page".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0, "memfd_create: {}", io::Error::last_os_error());
        // SAFETY: `fd` was just created and is owned by nobody else.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: sizing a memfd we own.
        assert_eq!(unsafe { libc::ftruncate(fd.as_raw_fd(), 4096) }, 0);
        (StatusPage::map(&fd).unwrap(), StatusPage::map(&fd).unwrap())
    }

    /// A link whose output is a pipe, and the pipe's other end.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn link_to_pipe() -> (Link, File) {
        let (r, w) = super::super::channel::pipe().unwrap();
        (Link::new(File::from(w)), File::from(r))
    }

    /// Bytes waiting in pipe `r`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn waiting(r: &File) -> usize {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD into a c_int on a pipe we own.
        assert_eq!(unsafe { libc::ioctl(r.as_raw_fd(), libc::FIONREAD, &mut n) }, 0);
        n as usize
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_beat_never_lands_inside_a_frame_the_worker_is_writing() {
        let (link, r) = link_to_pipe();
        let (nanny_side, worker_side) = pages();
        lock(&link.current).page = Some(nanny_side);
        let mut beat = Vec::new();
        wire::encode_bare(&mut beat, wire::KIND_BEAT);
        let writing = worker_side.lock_output(false);
        assert!(!link.send_beside(&beat), "skipped while the worker holds the link");
        assert_eq!(waiting(&r), 0);
        drop(writing);
        assert!(link.send_beside(&beat), "sent between the worker's frames");
        assert_eq!(waiting(&r), beat.len());
        assert!(!worker_side.output_locked(), "the nanny lets the lock go after its frame");
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn the_worker_waits_for_a_frame_of_the_nanny_to_end() {
        let (p, shared) = pages();
        let nanny = p.try_lock_output().expect("free");
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            let _held = shared.lock_output(false);
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err(), "the worker waits");
        drop(nanny);
        rx.recv_timeout(Duration::from_secs(10)).expect("woken when the nanny lets go");
        worker.join().unwrap();
        assert!(!p.output_locked());
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_worker_killed_before_letting_go_after_a_whole_frame_has_not_torn_the_link() {
        let (nanny_side, worker_side) = pages();
        std::mem::forget(worker_side.lock_output(true));
        assert!(!nanny_side.died_mid_frame(), "a pipe write of at most PIPE_BUF is whole or nothing");
        let (nanny_side, worker_side) = pages();
        std::mem::forget(worker_side.lock_output(false));
        assert!(nanny_side.died_mid_frame(), "a longer frame may be part written");
        assert!(!pages().0.died_mid_frame(), "a worker that held no lock");
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_task_sent_as_soon_as_the_worker_has_the_hello_reaches_it() {
        // The hang this pins: the reader found no worker between the hello and its install.
        let (link, _up) = link_to_pipe();
        let link = Arc::new(link);
        let (pool_end, worker_end) = super::super::channel::socket_pair().unwrap();
        let mut worker_end = File::from(worker_end);
        let to_worker = WorkerInput::new(pool_end).unwrap();
        let pool = {
            let link = link.clone();
            std::thread::spawn(move || {
                // The pool: its first task goes out the moment the worker has read the hello.
                let mut hello = [0u8; 5];
                worker_end.read_exact(&mut hello).unwrap();
                forward(&link, b"task");
                worker_end
            })
        };
        link.install(to_worker, b"hello", None, Arc::new(AtomicBool::new(false))).unwrap();
        let mut worker_end = pool.join().unwrap();
        let mut task = [0u8; 4];
        spawn::set_nonblocking(&worker_end).unwrap();
        worker_end.read_exact(&mut task).expect("the task was forwarded, not dropped");
        assert_eq!(&task, b"task");
    }

    #[test]
    fn the_boundary_follows_frames_split_anywhere() {
        let mut stream = Vec::new();
        wire::encode_refused(&mut stream, "one");
        wire::encode_bare(&mut stream, wire::KIND_BEAT);
        wire::encode_refused(&mut stream, "three");
        let ends = [PREFIX + 4, PREFIX + 4 + PREFIX + 1, stream.len()];
        for split in 0..stream.len() {
            let mut b = Boundary::default();
            b.advance(&stream[..split]);
            assert_eq!(b.between(), split == 0 || ends.contains(&split), "split at {split}");
            b.advance(&stream[split..]);
            assert!(b.between());
        }
    }
}
