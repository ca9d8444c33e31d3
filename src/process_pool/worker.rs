//! The worker's side: what a re-executed program does once [`init`](super::process::init) sees
//! that it was started as a worker.
//!
//! # Implementation
//!
//! The worker runs its tasks on one thread, the runner, that loops over its input socket: read
//! whatever the pool has sent (often many task frames in one `read`), run the tasks one after the
//! other in arrival order, and write each result as soon as its task ends, before starting the
//! next. That last rule is what makes crash isolation exact: when a worker dies, every task before
//! the one it was running has its result in the pipe already, so the pool knows which single task
//! was running and that the ones behind it never started.
//!
//! Cancellation of a task that has not started travels as a `Cancel` frame. Frames are scanned as
//! soon as they are read, so a cancel is seen even behind hundreds of queued tasks, and the input is
//! polled again between tasks at most every [`READ_AHEAD`], so a cancel sent while a task runs is seen
//! before the next one starts.
//!
//! Tasks the pool sent ahead can be taken back while a task runs, so that they need not wait behind
//! a long one while another worker idles. The pool asks through the status page (a futex word, see
//! [`StatusPage`]) and a second thread, asleep on that word the rest of the time, answers with a
//! `TakenBack` frame naming the tasks this worker will never start. The two threads share the
//! [`Claims`]: the runner claims each task under its lock before starting it, the take-back thread
//! hands back what is not claimed under the same lock, so a task is either started or handed back,
//! never both; a handed-back task that arrives later is dropped without a result. The answer is
//! written while the claims are held, so the result of any task claimed after it follows it.
//!
//! Why not a thread that reads the input? Every task would then cross threads on its way to the
//! runner (a wakeup more on the round trip), or both threads would wake for every frame. The futex
//! costs the runner two uncontended locks per task, and nothing at all while the worker idles.
//! Workers without a status page (remote ones, non-Linux) have no take-back thread; the pool never
//! asks them.
//!
//! A remote worker reads the pool's frames from its link (its nanny's stdin) as a local one reads
//! its socket, and gets the pool's `Hello` from its nanny in its environment. While one of its
//! tasks runs, a link watcher thread reads the link for a `Kill` or its end (see `link_watch`).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::ops::Range;
#[cfg(unix)]
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::channel::{self, FromPool, ToPool};
use super::code::{self, Outcome, Trampoline};
#[cfg(unix)]
use super::link_watch::LinkWatch;
use super::spawn::{self, StatusPage, ENV};
#[cfg(unix)]
use super::spawn::{WORKER_IN_FD, WORKER_OUT_FD, WORKER_PAGE_FD};
use super::wire::{self, FrameReader, ToWorker, HANDSHAKE_MAX, PREFIX, RESULT_HEADER};
use super::{lock, state};
use crate::spin::AdaptiveSpin;

/// Set by `init` in every process; the pool refuses to start without it (see the module docs of
/// [`process`](super::process)).
pub(crate) static INIT_CALLED: AtomicBool = AtomicBool::new(false);

/// Set once this process has passed the handshake as a worker.
pub(crate) static IS_WORKER: AtomicBool = AtomicBool::new(false);

/// Between two tasks, look for new input (cancellations) if the last read is older than this.
const READ_AHEAD: Duration = Duration::from_micros(200);

/// The spin of a worker out of tasks, before it blocks for the next (see `crate::spin`).
static INPUT_SPIN: AdaptiveSpin = AdaptiveSpin::new(crate::spin::DEFAULT_LIMIT);

/// Exit status of a worker that failed the handshake.
pub(crate) const EXIT_HANDSHAKE: i32 = 121;
/// Exit status of a worker that received a frame it could not accept.
pub(crate) const EXIT_PROTOCOL: i32 = 122;
/// Exit status of a worker whose parent was already gone.
pub(crate) const EXIT_ORPHAN: i32 = 123;
/// Exit status of a remote worker that ended on the pool's `Kill`.
pub(crate) const EXIT_KILLED: i32 = 124;

/// Why the worker stops; `message` is printed to stderr.
struct Stop {
    code: i32,
    message: Option<String>,
}

impl Stop {
    fn quiet(code: i32) -> Stop {
        Stop { code, message: None }
    }
    fn loud(code: i32, message: impl Into<String>) -> Stop {
        Stop { code, message: Some(message.into()) }
    }
}

/// Runs the worker if this process was started as one; returns at once otherwise.
pub(crate) fn enter() {
    INIT_CALLED.store(true, Ordering::Release);
    #[cfg(unix)]
    if let Some(value) = std::env::var_os(super::launcher::NANNY_ENV) {
        std::env::remove_var(super::launcher::NANNY_ENV);
        super::nanny::run(&value);
    }
    let Some(value) = std::env::var_os(ENV) else { return };
    // Programs this worker's tasks start must not take themselves for workers.
    std::env::remove_var(ENV);
    let code = match serve(&value) {
        Ok(()) => 0,
        Err(stop) => {
            if let Some(m) = stop.message {
                eprintln!("tulip process-pool worker {}: {m}", std::process::id());
            }
            stop.code
        }
    };
    let _ = io::stdout().flush();
    std::process::exit(code);
}

/// What the worker's environment says: its parent, the pool's token, the flags, and for a remote
/// worker the pool's `Hello` (its nanny read it off the link).
type EnvValue = (u32, [u8; 16], u8, Option<Vec<u8>>);

/// Parses `<version>:<parent pid>:<token hex>[:<hello hex>]:<flags>`.
fn parse_env(value: &OsStr) -> Result<EnvValue, Stop> {
    let bad = || {
        Stop::loud(
            EXIT_HANDSHAKE,
            format!(
                "{ENV} is set to {value:?}, which is not a tulip worker token; this program was \
                 started as a process-pool worker by something that is not a tulip pool"
            ),
        )
    };
    let value = value.to_str().ok_or_else(bad)?;
    let parts: Vec<&str> = value.split(':').collect();
    let (version, ppid, hex, hello, page) = match parts[..] {
        [version, ppid, hex, page] => (version, ppid, hex, None, page),
        [version, ppid, hex, hello, page] => (version, ppid, hex, Some(hello), page),
        _ => return Err(bad()),
    };
    let flags: u8 = page.parse().map_err(|_| bad())?;
    if flags & !(spawn::FLAG_PAGE | spawn::FLAG_CLEAN) != 0 {
        return Err(bad());
    }
    if version != wire::PROTOCOL_VERSION.to_string() {
        return Err(Stop::loud(
            EXIT_HANDSHAKE,
            format!("the pool speaks protocol {version}, this worker {}", wire::PROTOCOL_VERSION),
        ));
    }
    let ppid: u32 = ppid.parse().map_err(|_| bad())?;
    let token = wire::token_from_hex(hex).ok_or_else(bad)?;
    let hello = hello.map(|h| wire::bytes_from_hex(h).ok_or_else(bad)).transpose()?;
    Ok((ppid, token, flags, hello))
}

/// The start of the value of [`ENV`] (the spawner appends the flags).
pub(crate) fn env_value(token: &[u8; 16]) -> String {
    format!("{}:{}:{}", wire::PROTOCOL_VERSION, std::process::id(), wire::hex(token))
}

/// Gives the worker the program's name in `ps` and `top`: started from `/proc/self/exe`, it would
/// otherwise be called `exe`. (Linux keeps 15 bytes of it, as it does for any program.)
fn name_after_program() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::unix::ffi::OsStrExt;
        let Some(arg0) = std::env::args_os().next() else { return };
        let Some(name) = std::path::Path::new(&arg0).file_name() else { return };
        let bytes = &name.as_bytes()[..name.len().min(15)];
        let Ok(name) = std::ffi::CString::new(bytes) else { return };
        // SAFETY: a NUL-terminated string; PR_SET_NAME copies at most 16 bytes of it.
        unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0) };
    }
}

fn serve(value: &OsStr) -> Result<(), Stop> {
    let (ppid, token, flags, hello) = parse_env(value)?;
    let (input, output, pages) = open_links(ppid, flags)?;
    let (page, take_back_page, output_page) = pages;
    let output = Arc::new(Mutex::new(Output::new(output, output_page)));
    // Only one worker runs per process; a second `serve` cannot happen, so `set` cannot fail.
    let _ = OUTPUT.set(Arc::clone(&output));
    let mut w = Worker {
        reader: FrameReader::new(HANDSHAKE_MAX),
        input,
        output,
        claims: Arc::new(Mutex::new(Claims { next: 0, handed_back: 0..0 })),
        out: Vec::with_capacity(4096),
        skip: HashSet::new(),
        next_seq: 0,
        eof: false,
        last_read: Instant::now(),
        max_frame: HANDSHAKE_MAX,
        page,
        init: Init::None,
        #[cfg(unix)]
        link: None,
    };
    if let Some(hello) = hello {
        w.take_link(&hello)?;
    }
    w.handshake(&token)?;
    if let Some(page) = take_back_page {
        let (claims, output) = (w.claims.clone(), w.output.clone());
        std::thread::Builder::new()
            .name("tulip-take-back".into())
            .spawn(move || answer_take_backs(&page, &claims, &output))
            .map_err(|e| Stop::loud(EXIT_HANDSHAKE, format!("could not start the take-back thread: {e}")))?;
    }
    IS_WORKER.store(true, Ordering::Release);
    w.run()
}

/// A worker's mappings of its status page, if it has one: the runner's, the take-back thread's,
/// and the output's (see [`Output`]).
type Pages = (Option<StatusPage>, Option<StatusPage>, Option<StatusPage>);

/// Takes over what the pool set up for this worker: its input and output, and its status page.
/// On Unix: the parent-death signal armed, descriptors 3 to 5 made the worker's own.
#[cfg(unix)]
fn open_links(ppid: u32, flags: u8) -> Result<(FromPool, ToPool, Pages), Stop> {
    let has_page = flags & spawn::FLAG_PAGE != 0;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: arms the parent-death signal for this process: SIGKILL when the thread that spawned
    // it exits (the pool's spawner thread, which lives as long as the pool's process).
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
    }
    // If the parent died before the signal was armed, nobody would ever send it: check right after.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } as u32 != ppid {
        return Err(Stop::quiet(EXIT_ORPHAN));
    }
    name_after_program();
    prepare_descriptors(flags & spawn::FLAG_CLEAN != 0, has_page)?;
    // The runner's mapping, the take-back thread's own, and the output's.
    let pages = if has_page {
        // SAFETY: fd 5 was placed by the pool for this process; it is closed once mapped, so the
        // worker holds no descriptor but stdio, its socket and its pipe.
        let fd = unsafe { OwnedFd::from_raw_fd(WORKER_PAGE_FD) };
        let map = || {
            StatusPage::map(&fd)
                .map_err(|e| Stop::loud(EXIT_HANDSHAKE, format!("could not map the pool's status page: {e}")))
        };
        (Some(map()?), Some(map()?), Some(map()?))
    } else {
        (None, None, None)
    };
    // SAFETY: fds 3 and 4 were placed by the pool for this process and nothing else owns them.
    let (input, output) =
        unsafe { (FromPool::from_raw_fd(WORKER_IN_FD), ToPool::from_raw_fd(WORKER_OUT_FD)) };
    Ok((input, output, pages))
}

/// Takes over what the pool set up for this worker: on Windows, it connects back to the pool (see
/// `windows/channel.rs`); there is no status page. The parent's death is the Job object's concern.
#[cfg(windows)]
fn open_links(_ppid: u32, _flags: u8) -> Result<(FromPool, ToPool, Pages), Stop> {
    let link = std::env::var(channel::LINK_ENV).map_err(|_| {
        Stop::loud(EXIT_HANDSHAKE, format!("started as a worker without {}", channel::LINK_ENV))
    })?;
    // Programs this worker's tasks start must not connect to the pool.
    std::env::remove_var(channel::LINK_ENV);
    name_after_program();
    // The pool is gone if it cannot be reached: nobody is left to tell.
    let (input, output) = channel::connect(&link).map_err(|_| Stop::quiet(EXIT_ORPHAN))?;
    input.set_nonblocking(true).map_err(|_| Stop::quiet(EXIT_ORPHAN))?;
    Ok((input, output, (None, None, None)))
}

/// Makes the descriptors the pool placed ours: strays closed (unless the spawner already did), the
/// socket and pipe close-on-exec, the input non-blocking.
#[cfg(unix)]
fn prepare_descriptors(clean: bool, has_page: bool) -> Result<(), Stop> {
    if !clean {
        close_strays(if has_page { WORKER_PAGE_FD + 1 } else { WORKER_PAGE_FD });
    }
    for fd in [WORKER_IN_FD, WORKER_OUT_FD] {
        // SAFETY: flag calls on descriptors that must be ours; a missing one fails with EBADF.
        let ok = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            // Close-on-exec from now on: programs the tasks start must not hold the pool's socket and pipe.
            flags >= 0 && libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) == 0
        };
        if !ok {
            return Err(Stop::loud(EXIT_HANDSHAKE, format!("started as a worker but fd {fd} is not open")));
        }
    }
    // SAFETY: as above.
    unsafe {
        let flags = libc::fcntl(WORKER_IN_FD, libc::F_GETFL);
        libc::fcntl(WORKER_IN_FD, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    Ok(())
}

/// The result pipe, for writers outside [`Worker`] (the tracing forwarder): the same lock as
/// `Worker::output`, so every frame reaches the pool whole, whichever thread writes it.
static OUTPUT: OnceLock<Arc<Mutex<Output>>> = OnceLock::new();

/// Writes one whole frame on the result pipe, under the lock every writer takes. Does nothing
/// outside a worker; an error means the pool is gone (the runner stops at its own next write).
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn write_frame(frame: &[u8]) -> io::Result<()> {
    match OUTPUT.get() {
        Some(out) => lock(out).write_frame(frame),
        None => Ok(()),
    }
}

/// The worker's output stream: its result pipe, or a remote worker's link, which its nanny writes
/// its own frames to as well.
struct Output {
    file: ToPool,
    /// Whose output lock each frame is written under (see [`StatusPage::lock_output`]); `None`
    /// where there is no page (and no nanny writing to the same stream: see `nanny`).
    page: Option<StatusPage>,
    /// The longest frame the kernel writes to `file` whole or not at all.
    whole_up_to: usize,
}

impl Output {
    fn new(file: ToPool, page: Option<StatusPage>) -> Output {
        let whole_up_to = whole_write_limit(&file);
        Output { file, page, whole_up_to }
    }

    /// Writes one whole frame.
    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        let whole = frame.len() <= self.whole_up_to;
        let _held = self.page.as_ref().map(|p| p.lock_output(whole));
        self.file.write_all(frame)
    }
}

/// The longest write `file` takes whole or not at all: `PIPE_BUF` on a pipe; none on a socket,
/// which may take part of a write before its writer dies.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn whole_write_limit(file: &ToPool) -> usize {
    use std::os::unix::fs::FileTypeExt;
    match file.metadata() {
        Ok(m) if m.file_type().is_fifo() => libc::PIPE_BUF,
        _ => 0,
    }
}

/// Only a status page needs the limit, and there is none here.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn whole_write_limit(_: &ToPool) -> usize {
    0
}

/// Which tasks the runner may start: shared by the runner and the take-back thread, under one lock.
/// Lock order: the claims before the output; the runner never holds both.
struct Claims {
    /// The sequence number of the next task the runner will meet; those below it are its own
    /// (started, skipped, or dropped as handed back).
    next: u64,
    /// Tasks handed back to the pool: the runner drops them when it meets them, without a result.
    /// Numbers in it below `next` were met already and no longer matter.
    handed_back: Range<u64>,
}

impl Claims {
    /// The runner meets task `seq` (the next in arrival order): whether it may start it.
    fn claim(&mut self, seq: u64) -> bool {
        self.next = seq + 1;
        !self.handed_back.contains(&seq)
    }

    /// Hands back every task below `upto` the runner has not met; returns the range newly handed
    /// back (empty when it had met them all).
    fn hand_back(&mut self, upto: u64) -> Range<u64> {
        let from = self.next.max(self.handed_back.end).min(upto);
        self.handed_back = self.next.max(self.handed_back.start)..upto.max(self.handed_back.end);
        from..upto
    }
}

/// The take-back thread: sleeps until the pool asks (see [`StatusPage::ask_take_back`]), then hands
/// back what the runner has not claimed and says so, until the pool is gone.
fn answer_take_backs(page: &StatusPage, claims: &Mutex<Claims>, output: &Mutex<Output>) {
    let (mut seen, mut out) = (0, Vec::new());
    loop {
        let (asks, upto) = page.wait_take_back(seen);
        seen = asks;
        let mut claims = lock(claims);
        let back = claims.hand_back(upto);
        out.clear();
        wire::encode_taken_back(&mut out, back.start, back.end);
        // Written with the claims held: the result of a task claimed after this follows it.
        if lock(output).write_frame(&out).is_err() {
            return;
        }
        drop(claims);
    }
}

/// Closes every descriptor from `first` up that the worker inherited (where the spawner could not do
/// it before the exec). Runs before anything else in the worker opens a file.
#[cfg(unix)]
fn close_strays(first: i32) {
    let dir = if cfg!(any(target_os = "linux", target_os = "android")) { "/proc/self/fd" } else { "/dev/fd" };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let fds: Vec<i32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first)
        .collect();
    // The listing's own descriptor is closed by now; closing its number again only fails (EBADF).
    for fd in fds {
        // SAFETY: the worker owns no descriptor at or above `first` yet: these are inherited strays.
        unsafe { libc::close(fd) };
    }
}

struct Worker {
    reader: FrameReader,
    input: FromPool,
    /// The result pipe, shared with the take-back thread: a frame is written whole under the lock.
    output: Arc<Mutex<Output>>,
    /// Which tasks may start (see [`Claims`]).
    claims: Arc<Mutex<Claims>>,
    /// The frame being written; reused.
    out: Vec<u8>,
    /// Sequence numbers (in this worker's arrival order) of tasks to skip; only numbers not reached
    /// yet are kept, so it cannot grow without bound.
    skip: HashSet<u64>,
    next_seq: u64,
    eof: bool,
    last_read: Instant,
    max_frame: usize,
    /// Where the worker records the task it starts (see [`StatusPage`]).
    page: Option<StatusPage>,
    /// The pool's initializer, run before the first task.
    init: Init,
    /// A remote worker's watcher of its link, which reads the link while a task runs (see
    /// `link_watch`); `None` for a local worker.
    #[cfg(unix)]
    link: Option<Arc<LinkWatch>>,
}

/// Where the pool's initializer stands in this worker.
enum Init {
    /// None was given, or it ran and succeeded.
    None,
    /// Not run yet: its offset.
    Pending(i64),
    /// It failed; every task is refused with this error (the pool is broken).
    Failed(String),
}

impl Init {
    /// Runs the initializer if it has not run yet; its error if it failed.
    fn check(&mut self) -> Option<&str> {
        if let Init::Pending(off) = *self {
            *self = match state::run_initializer(off) {
                Ok(()) => Init::None,
                Err(e) => Init::Failed(e),
            };
        }
        match self {
            Init::Failed(e) => Some(e),
            _ => None,
        }
    }
}

impl Worker {
    /// Reads once; blocks (in `poll`) when `block` and nothing is there. Registers new cancellations.
    fn fill(&mut self, block: bool) -> Result<(), Stop> {
        // Since when this call has been waiting for input, once it found none.
        let mut waiting_since: Option<Instant> = None;
        loop {
            // Taken before the read, so that a write the read missed shows as a change below.
            let writes = self.page.as_ref().map(StatusPage::input_writes);
            match self.reader.read_from(&mut self.input) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(_) => {
                    self.last_read = Instant::now();
                    if let Some(since) = waiting_since {
                        INPUT_SPIN.record(self.last_read.saturating_duration_since(since));
                    }
                    return self.scan();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.last_read = Instant::now();
                    if !block {
                        return Ok(());
                    }
                    // Out of tasks: spin a little for the next before blocking (see `crate::spin`); a
                    // remote worker's link has no write count to watch.
                    if let (Some(page), Some(seen), None, false) =
                        (&self.page, writes, waiting_since, self.remote())
                    {
                        waiting_since = Some(Instant::now());
                        if INPUT_SPIN.spin(|| (page.input_writes() != seen).then_some(())).is_some() {
                            continue;
                        }
                    }
                    channel::wait_readable(&self.input);
                }
                Err(e) => {
                    return Err(Stop::loud(EXIT_PROTOCOL, format!("reading from the pool failed: {e}")));
                }
            }
        }
    }

    /// Becomes a remote worker, which reads its link itself (see `link_watch`): `hello` is the
    /// pool's, which the nanny took off the link.
    #[cfg(unix)]
    fn take_link(&mut self, hello: &[u8]) -> Result<(), Stop> {
        let fed = self.reader.feed(hello).map(|()| self.reader.scan_new(|_| ()));
        fed.map_err(|e| Stop::loud(EXIT_HANDSHAKE, format!("bad handshake from the nanny: {e}")))?;
        let watch = LinkWatch::start(&self.input)
            .map_err(|e| Stop::loud(EXIT_HANDSHAKE, format!("could not start the link watcher: {e}")))?;
        watch.read_up_to(self.reader.walker());
        self.link = Some(watch);
        Ok(())
    }

    /// There are no remote workers on Windows (no nanny).
    #[cfg(windows)]
    fn take_link(&mut self, _hello: &[u8]) -> Result<(), Stop> {
        Err(Stop::loud(EXIT_HANDSHAKE, "remote workers need a Unix host"))
    }

    /// Whether this is a remote worker, reading its link itself.
    fn remote(&self) -> bool {
        #[cfg(unix)]
        return self.link.is_some();
        #[cfg(windows)]
        false
    }

    /// Looks at the frames read since the last look: notes cancellations, ends the worker on a
    /// `Kill`, and tells the link watcher where the stream stands.
    fn scan(&mut self) -> Result<(), Stop> {
        let (skip, next, mut kill) = (&mut self.skip, self.next_seq, false);
        self.reader.scan_new(|body| match wire::parse_to_worker(body) {
            Ok(ToWorker::Cancel { seq }) if seq >= next => {
                skip.insert(seq);
            }
            Ok(ToWorker::Kill) => kill = true,
            _ => {}
        });
        if kill {
            return Err(Stop::quiet(EXIT_KILLED));
        }
        #[cfg(unix)]
        if let Some(link) = &self.link {
            link.read_up_to(self.reader.walker());
        }
        Ok(())
    }

    /// A task ended: takes what the link watcher read meanwhile, ahead of anything read later.
    #[cfg(unix)]
    fn task_ended(&mut self) -> Result<(), Stop> {
        let Some(bytes) = self.link.as_ref().and_then(|link| link.task_ended()) else { return Ok(()) };
        self.reader
            .feed(&bytes)
            .map_err(|e| Stop::loud(EXIT_PROTOCOL, format!("bad frame from the pool: {e}")))?;
        self.scan()
    }

    #[cfg(windows)]
    fn task_ended(&mut self) -> Result<(), Stop> {
        Ok(())
    }

    fn send(&mut self) -> Result<(), Stop> {
        // The pool is gone if this fails; there is nobody left to tell.
        lock(&self.output).write_frame(&self.out).map_err(|_| Stop::quiet(EXIT_ORPHAN))
    }

    fn handshake(&mut self, token: &[u8; 16]) -> Result<(), Stop> {
        let body = loop {
            match self.reader.next_frame() {
                Ok(Some(b)) => break b.to_vec(),
                Ok(None) if self.eof => return Err(Stop::quiet(EXIT_ORPHAN)),
                Ok(None) => self.fill(true)?,
                Err(e) => return Err(Stop::loud(EXIT_HANDSHAKE, format!("bad handshake frame: {e}"))),
            }
        };
        let refusal = match wire::parse_to_worker(&body) {
            Ok(ToWorker::Hello { token: theirs, fingerprint, max_frame, init_off }) => {
                if theirs != *token {
                    Some(
                        "the pool's handshake token does not match the one this worker was started with"
                            .to_string(),
                    )
                } else if let Some(why) = spawn::fingerprint().mismatch(&fingerprint) {
                    Some(why)
                } else {
                    self.max_frame = max_frame as usize;
                    self.init = if init_off == 0 { Init::None } else { Init::Pending(init_off) };
                    None
                }
            }
            Ok(_) => Some("the pool sent work before the handshake".to_string()),
            Err(e) => Some(format!("bad handshake frame: {e}")),
        };
        self.out.clear();
        if let Some(why) = refusal {
            wire::encode_refused(&mut self.out, &why);
            let _ = self.send();
            return Err(Stop::loud(EXIT_HANDSHAKE, format!("handshake refused: {why}")));
        }
        wire::encode_ready(&mut self.out, token, std::process::id());
        self.send()?;
        self.reader.set_max(self.max_frame);
        Ok(())
    }

    fn run(&mut self) -> Result<(), Stop> {
        // When the last task ended: saves a clock read per task in the read-ahead check.
        let mut task_end: Option<Instant> = None;
        loop {
            let now = task_end.take().unwrap_or_else(Instant::now);
            if !self.eof && now.saturating_duration_since(self.last_read) >= READ_AHEAD {
                self.fill(false)?;
            }
            let body = match self.reader.next_frame() {
                Ok(Some(body)) => body,
                Ok(None) if self.eof => return Ok(()),
                Ok(None) => {
                    self.fill(true)?;
                    continue;
                }
                Err(e) => return Err(Stop::loud(EXIT_PROTOCOL, format!("bad frame from the pool: {e}"))),
            };
            self.out.clear();
            match wire::parse_to_worker(body) {
                Ok(ToWorker::Task { id, fn_off, tramp_off, args }) => {
                    #[cfg(feature = "tracing")]
                    let _traced = super::trace::enter(id);
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    if !lock(&self.claims).claim(seq) {
                        // Handed back: the pool has it again, and expects no result.
                        self.skip.remove(&seq);
                        continue;
                    }
                    if self.skip.remove(&seq) {
                        let at = wire::begin_result(&mut self.out, id, 0, wire::STATUS_SKIPPED);
                        let _ = wire::end_frame(&mut self.out, at, self.max_frame);
                    } else {
                        if let Some(page) = &self.page {
                            page.set_started(seq);
                        }
                        #[cfg(unix)]
                        if let Some(link) = &self.link {
                            link.task_started(seq + 1);
                        }
                        task_end = match self.init.check() {
                            Some(e) => {
                                refuse_task(&mut self.out, id, wire::STATUS_INIT_FAILED, e, self.max_frame)
                            }
                            None => run_task(&mut self.out, id, fn_off, tramp_off, args, self.max_frame),
                        };
                    }
                }
                Ok(ToWorker::Cancel { seq }) => {
                    if seq >= self.next_seq {
                        self.skip.insert(seq);
                    }
                    continue;
                }
                Ok(ToWorker::Hello { .. }) => {
                    return Err(Stop::loud(EXIT_PROTOCOL, "the pool repeated the handshake"));
                }
                Ok(ToWorker::Kill) => return Err(Stop::quiet(EXIT_KILLED)),
                #[cfg(feature = "tracing")]
                Ok(ToWorker::Trace(body)) => {
                    super::trace::receive(body).map_err(|e| Stop::loud(EXIT_PROTOCOL, e))?;
                    continue;
                }
                Err(e) => return Err(Stop::loud(EXIT_PROTOCOL, format!("bad frame from the pool: {e}"))),
            }
            self.task_ended()?;
            self.send()?;
        }
    }
}

/// Runs one task and leaves its complete `Result` frame in `out`; returns when the task ended.
fn run_task(
    out: &mut Vec<u8>,
    id: u64,
    fn_off: i64,
    tramp_off: i64,
    args: &[u8],
    max_frame: usize,
) -> Option<Instant> {
    let at = wire::begin_result(out, id, 0, wire::STATUS_VALUE);
    let status_at = at + RESULT_HEADER - 1;
    let ns_at = status_at - 8;
    let room = max_frame.saturating_sub(RESULT_HEADER - PREFIX);
    let mut ended = None;
    let (status, message) = match code::address_of(fn_off).and_then(|f| Ok((f, code::address_of(tramp_off)?)))
    {
        Err(why) => (wire::STATUS_REJECTED, why),
        Ok((f, t)) => {
            // SAFETY: `t` lies in the program's code and the pool sent it as the trampoline paired
            // with `f`; the handshake established that the pool runs this same program.
            let tramp = unsafe { std::mem::transmute::<usize, Trampoline>(t) };
            let started = Instant::now();
            // SAFETY: `f` is the `fn(A) -> R` that `tramp` was instantiated for (see `Trampoline`).
            let outcome = unsafe { tramp(f, args, out, room) };
            let end = Instant::now();
            ended = Some(end);
            let ns = end.duration_since(started).as_nanos().min(u64::MAX as u128) as u64;
            out[ns_at..ns_at + 8].copy_from_slice(&ns.to_le_bytes());
            match outcome {
                Outcome::Value => (wire::STATUS_VALUE, String::new()),
                Outcome::Panicked(m) => (wire::STATUS_PANICKED, m),
                Outcome::Codec(m) => (wire::STATUS_CODEC, m),
                Outcome::State(m) => (wire::STATUS_STATE_FAILED, m),
            }
        }
    };
    end_result(out, at, status, &message, max_frame);
    ended
}

/// Leaves a result frame in `out` that refuses task `id` with `status` and `message` (it never ran).
fn refuse_task(out: &mut Vec<u8>, id: u64, status: u8, message: &str, max_frame: usize) -> Option<Instant> {
    let at = wire::begin_result(out, id, 0, status);
    end_result(out, at, status, message, max_frame);
    Some(Instant::now())
}

/// Completes the result frame begun at `at`: sets its status, and for an error replaces the
/// payload with the message (cut to fit).
fn end_result(out: &mut Vec<u8>, at: usize, status: u8, message: &str, max_frame: usize) {
    let room = max_frame.saturating_sub(RESULT_HEADER - PREFIX);
    out[at + RESULT_HEADER - 1] = status;
    if status != wire::STATUS_VALUE {
        out.truncate(at + RESULT_HEADER);
        let mut cut = message.len().min(room);
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        out.extend_from_slice(&message.as_bytes()[..cut]);
    }
    // The payload was bounded by `room`, so the frame fits.
    let _ = wire::end_frame(out, at, max_frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_either_claimed_or_handed_back() {
        let mut c = Claims { next: 0, handed_back: 0..0 };
        assert!(c.claim(0));
        assert_eq!(c.hand_back(5), 1..5);
        assert!(!c.claim(1));
        // A later request hands back only what came since the last.
        assert_eq!(c.hand_back(8), 5..8);
        assert!((2..8).all(|seq| !c.claim(seq)));
        assert!(c.claim(8));
        // Everything below the bound was met: nothing to hand back.
        assert_eq!(c.hand_back(9), 9..9);
        assert!(c.claim(9));
    }

    #[test]
    fn env_value_round_trips() {
        let token = [0xab; 16];
        let v = env_value(&token) + ":3";
        let (ppid, t, flags, hello) = parse_env(OsStr::new(&v)).ok().unwrap();
        assert_eq!(hello, None);
        assert_eq!(ppid, std::process::id());
        assert_eq!(t, token);
        assert_eq!(flags, spawn::FLAG_PAGE | spawn::FLAG_CLEAN);
        let remote = format!("{}:{}:3", env_value(&token), wire::hex(b"hello"));
        let (.., hello) = parse_env(OsStr::new(&remote)).ok().unwrap();
        assert_eq!(hello.as_deref(), Some(&b"hello"[..]), "a remote worker's hello, from its nanny");
        assert!(parse_env(OsStr::new("1:2:zz")).is_err());
        assert!(parse_env(OsStr::new("9:2:abababababababababababababababab:0")).is_err());
        assert!(parse_env(OsStr::new("1:2:abababababababababababababababab:7")).is_err());
    }
}
