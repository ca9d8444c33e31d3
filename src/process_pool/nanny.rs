//! The nanny: the far end of a remote worker's link (see [`launcher`](super::launcher)).
//!
//! Started by `ssh`, `srun` or another launcher with the pool's frames on its stdin and stdout,
//! the nanny
//! 1. proves it is the pool's program: the SHA-256 of its own file must be the one the pool sent,
//!    else it answers the handshake with a refusal (device, inode and mtime mean nothing on
//!    another host);
//! 2. reads the pool's `Hello` and starts the real worker next to it, as a local pool would (its
//!    status page, parent-death signal, own process group) but on the link itself: the worker reads
//!    the pool's frames from the link's input and writes its own onto the link's output, and gets
//!    the `Hello` (with the fingerprint of this host's file in place of the pool's) in its
//!    environment; its stdout is the nanny's stderr (what a task prints must not land on the link);
//! 3. when the worker is gone (it ended on the pool's `Kill` or at the link's end, it crashed, or it
//!    was stopped past [`STOP_LIMIT`]), kills what its tasks left in its process group, tells the
//!    pool with a `Gone` frame (its wait status and how many tasks it had started, read from its
//!    status page, so that the pool re-sends the ones it never started), reads the link until the
//!    pool's `Restart`, dropping what came before it, then starts a fresh worker on the same link;
//! 4. sends a `Beat` frame every interval the pool asked for, so that the pool sees a host that
//!    hangs with its link open;
//! 5. ends when the link's input ends and its worker is gone. The OpenSSH client cannot send
//!    signals, so the end of the link is the pool's kill: the worker ends then (see
//!    `link_watch`), and a lost link or session leaves nothing running.
//!
//! Why the worker reads the link itself: a relay through the nanny was one more process to wake on
//! every task's way, which over ssh on a small machine cost a third to a half of the round trip
//! (W8b in the workloads bench on 2 CPUs: 55–115 µs of 145–235). The price is the resynchronisation in 3: a dead worker may
//! have left the stream anywhere in a frame, so the pool's `Restart` carries the link's token and
//! the nanny finds it by its bytes (see [`wire::restart_marker`]); the pool sends nothing after it
//! until the new worker's `Ready`, so nothing the new worker needs is read by the nanny.
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
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::child::{self, Child, Waited};
use super::spawn::{self, StatusPage};
use super::wire::{self, FrameWalker, ToWorker, HANDSHAKE_MAX, PREFIX, RESTART_LEN};
use super::worker::{EXIT_HANDSHAKE, EXIT_KILLED, EXIT_PROTOCOL};

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

/// What the nanny's threads share: the link's output, and the status page of the worker on it.
struct Link {
    up: Mutex<Upstream>,
    /// The status page of the worker now on the link: while a worker writes onto the link itself,
    /// the nanny writes its own frames under the page's output lock.
    page: Mutex<Option<StatusPage>>,
    /// The link's input ended (the pool is gone), or its output broke: beats stop.
    ended: AtomicBool,
}

/// The link's output.
struct Upstream {
    out: File,
    /// Where the relayed worker's stream stands in its frames: the nanny writes its own only
    /// between them. Always between when the worker writes onto the link itself.
    frames: FrameWalker,
    /// A write failed: the link is broken.
    broken: bool,
}

impl Link {
    fn new(out: File) -> Link {
        let up = Upstream { out, frames: FrameWalker::default(), broken: false };
        Link { up: Mutex::new(up), page: Mutex::new(None), ended: AtomicBool::new(false) }
    }

    /// Writes a frame of the nanny's own while the worker may be writing too, if it is between
    /// frames; skipped (`false`) otherwise.
    fn send_beside(&self, frame: &[u8]) -> bool {
        let page = lock(&self.page);
        let held = page.as_ref().map(StatusPage::try_lock_output);
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
        up.frames.advance(bytes, |_| ());
        up.broken |= up.out.write_all(bytes).is_err();
        !up.broken
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
    // Each worker sets it so too: the same open file. The nanny polls before it waits on a read.
    spawn::set_nonblocking(&input).map_err(|e| (EXIT_HANDSHAKE, format!("cannot set up the link: {e}")))?;
    // The worker's marker: the spawner appends its flags.
    let prefix = format!("{prefix}:{}", wire::hex(&hello));
    let started = |e: io::Error| (EXIT_HANDSHAKE, format!("could not start the worker: {e}"));
    if let Some(every) = beat {
        let beats = link.clone();
        let thread = std::thread::Builder::new().name("tulip-nanny-beat".into());
        thread.spawn(move || send_beats(&beats, every)).map_err(started)?;
    }
    let mut resync = Resync::new(&token);
    loop {
        let (status, why, started_tasks, torn) = serve_one(&prefix, &input, link).map_err(started)?;
        let code = status.map_or(0, shell_status);
        let killed = status.is_some_and(killed_by_pool);
        let ended = resync.drop_waiting(&mut input) == Found::End;
        if !killed && !ended {
            eprintln!("tulip: {why}");
        }
        let mut frame = Vec::new();
        wire::encode_gone(&mut frame, status.unwrap_or(0), started_tasks, &why);
        if ended || torn || !link.send(&frame) || resync.find(&mut input) == Found::End {
            link.ended.store(true, Ordering::Release);
            return Ok(code);
        }
    }
}

/// How a worker ended: its wait status (if collected), why, one more than the last task it started
/// (`u64::MAX`: unknown), and whether it died holding the link's output lock (see the module docs).
type Ended = (Option<libc::c_int>, String, u64, bool);

/// Starts one worker on the link, serves it until it ends, and says how it went.
fn serve_one(prefix: &str, input: &File, link: &Arc<Link>) -> io::Result<Ended> {
    let out = lock(&link.up).out.try_clone()?;
    let (child, page, relayed) = spawn::spawn_link_worker(prefix, input.try_clone()?.into(), out.into())?;
    *lock(&link.page) = page;
    let watcher = std::thread::Builder::new().name("tulip-nanny-watch".into());
    let watcher = watcher.spawn(move || watch(child))?;
    if let Some(from_worker) = relayed {
        relay_up(from_worker, link);
    }
    let (why, status) = watcher.join().unwrap_or((None, None));
    let page = lock(&link.page).take();
    let started = page.as_ref().map_or(u64::MAX, StatusPage::started);
    let torn = page.is_some_and(|p| p.died_mid_frame());
    let why = why.unwrap_or_else(|| "the worker's end could not be collected".into());
    Ok((status, why, started, torn))
}

/// What [`Resync`] found on the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    /// The pool's `Restart`: the stream goes on with the next worker's frames.
    Restart,
    /// Nothing yet (the link has no more bytes for now).
    Nothing,
    /// The link's end (or an error reading it).
    End,
}

/// Reads the link after its worker's end until the pool's `Restart` (see the module docs).
struct Resync {
    marker: [u8; RESTART_LEN],
    /// The last bytes read, short of a whole marker: where one split across two reads begins.
    tail: Vec<u8>,
}

impl Resync {
    fn new(token: &[u8; 16]) -> Resync {
        Resync { marker: wire::restart_marker(token), tail: Vec::new() }
    }

    /// Drops what the link holds now, without waiting: `End` if it has ended.
    fn drop_waiting(&mut self, input: &mut File) -> Found {
        loop {
            match self.read(input, false) {
                Found::Nothing => return Found::Nothing,
                Found::End => return Found::End,
                // A `Restart` only ever answers a `Gone`, which this worker has not been given yet.
                Found::Restart => {}
            }
        }
    }

    /// Reads until the pool's `Restart` or the link's end.
    fn find(&mut self, input: &mut File) -> Found {
        loop {
            match self.read(input, true) {
                Found::Nothing => {}
                found => {
                    self.tail.clear();
                    return found;
                }
            }
        }
    }

    /// One read of the link (waiting for it with `block`), looked through for the marker.
    fn read(&mut self, input: &mut File, block: bool) -> Found {
        let mut buf = [0u8; 16 * 1024];
        let n = match input.read(&mut buf) {
            Ok(0) => return Found::End,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Found::Nothing,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if block {
                    super::channel::wait_readable(input);
                }
                return Found::Nothing;
            }
            Err(_) => return Found::End,
        };
        self.scan(&buf[..n])
    }

    /// Looks through `bytes`, the next of the stream, for the marker.
    fn scan(&mut self, bytes: &[u8]) -> Found {
        self.tail.extend_from_slice(bytes);
        if self.tail.windows(RESTART_LEN).any(|w| w == self.marker) {
            return Found::Restart;
        }
        let keep = self.tail.len().min(RESTART_LEN - 1);
        self.tail.drain(..self.tail.len() - keep);
        Found::Nothing
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

/// Owns the worker until it is gone: kills it when it stays stopped past [`STOP_LIMIT`], kills
/// what its tasks left in its process group once it ended, reaps it; says why it went and gives its
/// wait status.
fn watch(mut child: Child) -> (Option<String>, Option<libc::c_int>) {
    let pid = child.pid();
    let mut stopped_since: Option<Instant> = None;
    let mut killed_hung = false;
    let hung = || format!("worker {pid} was stopped (SIGSTOP) for over {STOP_LIMIT:?} and was killed");
    loop {
        if child.ended_unreaped() {
            // Its group's id names its group until it is reaped.
            child.kill();
        }
        match child.try_wait(true) {
            Waited::Gone(status) if killed_hung => return (Some(hung()), Some(status)),
            Waited::Gone(status) if killed_by_pool(status) => {
                return (Some(format!("worker {pid} was killed at the pool's request")), Some(status))
            }
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

/// Whether a worker with wait status `status` ended on the pool's `Kill` (see `link_watch`).
fn killed_by_pool(status: libc::c_int) -> bool {
    child::exit_code(status) == Some(EXIT_KILLED)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

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
        *lock(&link.page) = Some(nanny_side);
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

    #[test]
    fn the_restart_is_found_behind_a_dead_workers_frames_split_anywhere() {
        let token = [0x5a; 16];
        let mut stream = Vec::new();
        // What the pool sent the dead worker, cut at its first byte: a frame's middle.
        wire::encode_cancel(&mut stream, 7);
        stream.extend_from_slice(&wire::restart_marker(&[0x5b; 16])); // another link's
        stream.remove(0);
        let at = stream.len();
        stream.extend_from_slice(&wire::restart_marker(&token));
        for split in 0..stream.len() {
            let mut r = Resync::new(&token);
            let first = r.scan(&stream[..split]);
            let found = if first == Found::Restart { first } else { r.scan(&stream[split..]) };
            assert_eq!(found, Found::Restart, "split at {split}");
            assert_eq!(first == Found::Restart, split >= at + RESTART_LEN, "split at {split}");
        }
        assert_eq!(Resync::new(&token).scan(&stream[..at + RESTART_LEN - 1]), Found::Nothing);
    }
}
