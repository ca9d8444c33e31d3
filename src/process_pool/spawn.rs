//! Starting worker processes: re-execution, fd hygiene, the parent-death signal, a clean signal
//! state. (Signalling and reaping them is [`child`](super::child)'s.)
//!
//! # Implementation
//!
//! A worker is `/proc/self/exe` (the very file this process was started from, even if it was since
//! replaced on disk; [`std::env::current_exe`] elsewhere). Its task socket and result pipe (see
//! [`channel`](super::channel)) and, on Linux, the memfd of its [`StatusPage`] are created
//! close-on-exec in the parent, so no other spawn can leak them, and sit at fd numbers of 6 or
//! more so that placing one cannot overwrite another.
//!
//! On Linux the worker is started with `posix_spawn`: glibc clones with `CLONE_VM | CLONE_VFORK`,
//! so the cost does not grow with the parent's memory (a `fork` copies the page tables: tens of
//! milliseconds for a parent of a few hundred megabytes). File actions place the socket and the pipe on fds 3 and
//! 4 and the status page on 5, open `/dev/null` as stdin, and close everything else from there up
//! (`posix_spawn_file_actions_addclosefrom_np`, looked up at run time since it needs glibc 2.34;
//! without it the worker closes the strays itself before anything else). The signal mask is
//! cleared and every signal reset to its default disposition (a program that ignores `SIGCHLD`,
//! `SIGINT` or `SIGHUP` would otherwise pass that on, and `Command::output()` in a task would fail),
//! and the worker leads a process group of its own (`POSIX_SPAWN_SETPGROUP`), which the pool kills
//! along with it (see [`child`](super::child)). The worker arms `PR_SET_PDEATHSIG` in `init`, then checks
//! `getppid()`.
//!
//! Elsewhere the worker is started with `std::process::Command` and a `pre_exec` hook that does the
//! same between `fork` and `exec` with async-signal-safe calls only (the parent may have threads).
//!
//! Stdout and stderr are inherited, not piped: a worker's `println!` shows up where the program's
//! does, and a worker can never block on a pipe nobody drains. Stdin is `/dev/null`.

use std::ffi::c_int;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
#[cfg(not(target_os = "linux"))]
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
#[cfg(not(target_os = "linux"))]
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;

use super::channel::{self, WorkerInput};
use super::child::Child;
use super::wire::{Fingerprint, PROTOCOL_VERSION};

/// The environment variable that turns a re-executed program into a worker; its value carries the
/// protocol version, the parent's pid and the handshake token.
pub(crate) const ENV: &str = "TULIP_PROCESS_WORKER";

/// The fd a worker reads tasks from.
pub(crate) const WORKER_IN_FD: c_int = 3;
/// The fd a worker writes results to.
pub(crate) const WORKER_OUT_FD: c_int = 4;
/// The fd of the status page, if any; the worker maps it and closes it during `init`.
pub(crate) const WORKER_PAGE_FD: c_int = 5;
/// First fd the child does not keep.
const FIRST_STRAY_FD: c_int = 6;

/// The program workers run.
pub(crate) fn program() -> io::Result<PathBuf> {
    static PROGRAM: OnceLock<Option<PathBuf>> = OnceLock::new();
    let p = PROGRAM.get_or_init(|| {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let proc_exe = PathBuf::from("/proc/self/exe");
            if proc_exe.exists() {
                return Some(proc_exe);
            }
        }
        std::env::current_exe().ok()
    });
    p.clone().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "cannot find this program's executable"))
}

/// This program's file by its real path (what another machine can be told to run).
pub(crate) fn exe_path() -> io::Result<PathBuf> {
    std::env::current_exe()
}

/// What identifies this program, for the handshake (computed once).
pub(crate) fn fingerprint() -> Fingerprint {
    static FINGERPRINT: OnceLock<Fingerprint> = OnceLock::new();
    *FINGERPRINT.get_or_init(compute_fingerprint)
}

fn compute_fingerprint() -> Fingerprint {
    use std::os::unix::fs::MetadataExt;
    let meta = program().and_then(std::fs::metadata);
    let (dev, ino, len, mtime) = match &meta {
        Ok(m) => {
            (m.dev(), m.ino(), m.size(), m.mtime().wrapping_mul(1_000_000_000).wrapping_add(m.mtime_nsec()))
        }
        Err(_) => (0, 0, 0, 0),
    };
    Fingerprint { protocol: PROTOCOL_VERSION, dev, ino, len, mtime, code: super::code::code_id() }
}

/// A fresh secret for one pool's handshakes.
pub(crate) fn new_token() -> io::Result<[u8; 16]> {
    let mut token = [0u8; 16];
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut filled = 0;
        while filled < token.len() {
            // SAFETY: writes at most `len - filled` bytes into `token[filled..]`.
            let n = unsafe { libc::getrandom(token[filled..].as_mut_ptr().cast(), token.len() - filled, 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            filled += n as usize;
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        use std::io::Read;
        File::open("/dev/urandom")?.read_exact(&mut token)?;
    }
    Ok(token)
}

/// A started worker: its process, the parent's ends of its socket and pipe (non-blocking,
/// close-on-exec), and the status page it shares with the pool.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) to_worker: WorkerInput,
    pub(crate) from_worker: File,
    pub(crate) page: Option<StatusPage>,
    /// The host (or launcher command) of a remote worker; `None` for a local one.
    pub(crate) host: Option<std::sync::Arc<str>>,
}

/// One page of memory shared by the pool and one worker, with four words.
///
/// In the first the worker records the sequence number (plus one) of the task it has started. Read
/// while the worker is stopped or dead, it tells exactly whether the task at the head of its queue
/// had started: the difference between killing a running task and letting a worker skip a
/// cancelled one, and between failing a task and re-sending one that never ran.
///
/// In the second, on its own cache line, the pool counts its writes to the worker's input: a
/// worker out of tasks spins on it for a moment before it blocks in `poll` (see `crate::spin`), so
/// that a task sent right after the previous result is found without a wakeup.
///
/// In the third and fourth, the pool asks the worker to take back the tasks it has not started (see
/// [`ask_take_back`](StatusPage::ask_take_back)): a futex word wakes the worker's take-back
/// thread, which sleeps on it otherwise, so taking back costs nothing per task and nothing idle.
///
/// The fifth is the lock on the worker's output stream (see [`lock_output`](StatusPage::lock_output)):
/// a remote worker writes its frames straight onto its nanny's link, which the nanny writes its own
/// frames to as well. Beside it, the worker says whether the frame it writes under the lock goes out
/// whole or not at all (one write of at most `PIPE_BUF` bytes to a pipe): a worker killed holding the
/// lock has torn the stream only if that is not so (see [`died_mid_frame`](StatusPage::died_mid_frame)).
///
/// Linux only (a `memfd`); elsewhere the pool works without it, decides by timing instead, and the
/// worker blocks at once.
pub(crate) struct StatusPage {
    /// Points to a page-aligned, page-sized shared mapping that lives until `drop`: `[STARTED]`,
    /// `[INPUT_WRITES]`, `[TAKE_BACK_UPTO]`, `[TAKE_BACK_ASKS]`, `[OUTPUT_LOCK]` and `[OUTPUT_WHOLE]`
    /// are its words.
    base: *const AtomicU64,
}

/// Index of the started-task counter in the page.
const STARTED: usize = 0;
/// Index of the input-writes counter: 64 bytes on, so that the two writers do not share a line.
const INPUT_WRITES: usize = 8;
/// Index of the take-back bound: tasks below it that have not started are asked back.
const TAKE_BACK_UPTO: usize = 16;
/// Index of the take-back requests counter, a 32-bit futex word (the low-addressed half).
const TAKE_BACK_ASKS: usize = 17;
/// Index of the output lock, a 32-bit futex word on a line of its own: 0 free, 1 held, 2 held
/// with a waiter.
const OUTPUT_LOCK: usize = 24;
/// Index of the output lock holder's word on its frame: 1 if the kernel writes it whole or not at
/// all, 0 if a death during the write may leave part of it on the stream.
const OUTPUT_WHOLE: usize = 25;

// SAFETY: the pointer is to a shared mapping only accessed through an atomic.
unsafe impl Send for StatusPage {}

const PAGE: usize = 4096;

impl StatusPage {
    /// A new page and the descriptor to hand to the worker.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn create() -> io::Result<(StatusPage, OwnedFd)> {
        // SAFETY: a NUL-terminated name and valid flags.
        let fd = unsafe {
            libc::syscall(libc::SYS_memfd_create, c"tulip-worker-status".as_ptr(), libc::MFD_CLOEXEC)
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the descriptor was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as c_int) };
        // SAFETY: sizing a memfd we own.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), PAGE as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((StatusPage::map(&fd)?, fd))
    }

    /// Maps the page behind `fd`.
    pub(crate) fn map(fd: &impl AsRawFd) -> io::Result<StatusPage> {
        // SAFETY: a fresh shared mapping of one page of `fd`; nothing else is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(StatusPage { base: ptr as *const AtomicU64 })
    }

    fn get(&self, index: usize) -> &AtomicU64 {
        // SAFETY: the mapping is page-aligned, zero-initialized and alive while `self` is, and every
        // index lies well within its first 4096 bytes.
        unsafe { &*self.base.add(index) }
    }

    /// One more than the sequence number of the last task the worker started (0: none yet).
    pub(crate) fn started(&self) -> u64 {
        self.get(STARTED).load(Ordering::Acquire)
    }

    /// Records that the worker starts task `seq`.
    pub(crate) fn set_started(&self, seq: u64) {
        self.get(STARTED).store(seq + 1, Ordering::Release);
    }

    /// How many writes the pool has made to the worker's input so far.
    pub(crate) fn input_writes(&self) -> u64 {
        self.get(INPUT_WRITES).load(Ordering::Acquire)
    }

    /// Records one more write to the worker's input (after it is made).
    pub(crate) fn note_input_write(&self) {
        self.get(INPUT_WRITES).fetch_add(1, Ordering::Release);
    }

    fn asks(&self) -> &AtomicU32 {
        // SAFETY: as in `get`; an `AtomicU64` slot is aligned for, and holds, an `AtomicU32`.
        unsafe { &*(self.base.add(TAKE_BACK_ASKS) as *const AtomicU32) }
    }

    /// The pool asks the worker to hand back its tasks below `upto` that it has not started; the
    /// answer comes as a `TakenBack` frame. One request at a time: the next waits for the answer.
    pub(crate) fn ask_take_back(&self, upto: u64) {
        self.get(TAKE_BACK_UPTO).store(upto, Ordering::Release);
        self.asks().fetch_add(1, Ordering::Release);
        futex::wake(self.asks());
    }

    fn output_word(&self) -> &AtomicU32 {
        // SAFETY: as in `asks`.
        unsafe { &*(self.base.add(OUTPUT_LOCK) as *const AtomicU32) }
    }

    /// Takes the lock on the worker's output stream, waiting for it, to write one frame that goes
    /// out `whole` or not at all (see [`died_mid_frame`](StatusPage::died_mid_frame)). Every writer
    /// of the stream holds it for each whole frame, so that frames never interleave; only a nanny,
    /// which shares its link with its worker, ever has to wait.
    pub(crate) fn lock_output(&self, whole: bool) -> OutputGuard<'_> {
        let word = self.output_word();
        if word.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            while word.swap(2, Ordering::Acquire) != 0 {
                futex::wait(word, 2);
            }
        }
        self.get(OUTPUT_WHOLE).store(u64::from(whole), Ordering::Relaxed);
        OutputGuard(word)
    }

    /// Takes the lock on the worker's output stream if it is free.
    pub(crate) fn try_lock_output(&self) -> Option<OutputGuard<'_>> {
        let word = self.output_word();
        word.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).ok().map(|_| OutputGuard(word))
    }

    /// Whether someone holds the output lock.
    #[cfg(test)]
    pub(crate) fn output_locked(&self) -> bool {
        self.output_word().load(Ordering::Acquire) != 0
    }

    /// Read once the worker is dead (and the nanny holds no lock): whether it died holding the
    /// output lock with a frame that can be part written. A worker killed right after a whole
    /// frame, before it let the lock go, has not torn the stream if the frame went out in one piece.
    pub(crate) fn died_mid_frame(&self) -> bool {
        let whole = self.get(OUTPUT_WHOLE).load(Ordering::Relaxed) == 1;
        self.output_word().load(Ordering::Acquire) != 0 && !whole
    }

    /// Blocks the worker until a request newer than the `seen`-th comes; returns its number and bound.
    pub(crate) fn wait_take_back(&self, seen: u32) -> (u32, u64) {
        loop {
            let asks = self.asks().load(Ordering::Acquire);
            if asks != seen {
                return (asks, self.get(TAKE_BACK_UPTO).load(Ordering::Acquire));
            }
            futex::wait(self.asks(), seen);
        }
    }
}

/// Waiting on a word of the shared page: a futex, which works across processes on a shared mapping.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod futex {
    use std::sync::atomic::AtomicU32;

    /// Blocks while `word` holds `value` (returns early on a wake or a signal).
    pub(super) fn wait(word: &AtomicU32, value: u32) {
        // SAFETY: a futex wait on a live, aligned 32-bit word, without timeout.
        unsafe {
            libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, value, std::ptr::null::<u8>())
        };
    }

    /// Wakes the one waiter on `word`, if any.
    pub(super) fn wake(word: &AtomicU32) {
        // SAFETY: a futex wake on a live, aligned 32-bit word.
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1) };
    }
}

/// Where there is no futex there is no status page either (see [`StatusPage`]); this fallback only
/// keeps the code portable: it looks again every 100 ms.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod futex {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    pub(super) fn wait(word: &AtomicU32, value: u32) {
        if word.load(Ordering::Acquire) == value {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(super) fn wake(_: &AtomicU32) {}
}

/// Holds the output lock of a [`StatusPage`] until dropped.
pub(crate) struct OutputGuard<'a>(&'a AtomicU32);

impl Drop for OutputGuard<'_> {
    fn drop(&mut self) {
        if self.0.swap(0, Ordering::Release) == 2 {
            futex::wake(self.0);
        }
    }
}

impl Drop for StatusPage {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `map`, which nothing references any more.
        unsafe { libc::munmap(self.base as *mut libc::c_void, PAGE) };
    }
}

pub(crate) fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: plain fcntl calls on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Flag in the worker's environment: a status page is on fd 5.
pub(crate) const FLAG_PAGE: u8 = 1;
/// Flag in the worker's environment: descriptors other than stdio and the worker's own were closed
/// before the exec; without it the worker closes them itself first thing.
pub(crate) const FLAG_CLEAN: u8 = 2;

/// Returns `fd`, or a close-on-exec copy of it at a number of at least `min`.
fn at_least(fd: OwnedFd, min: c_int) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() >= min {
        return Ok(fd);
    }
    // SAFETY: duplicates a descriptor we own.
    let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the copy is new and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Starts one worker process; `env_prefix` is completed with the worker's flags.
pub(crate) fn spawn_worker(env_prefix: &str) -> io::Result<Spawned> {
    let (up_r, up_w) = channel::pipe()?;
    let (down_r, down_w) = channel::socket_pair()?;
    let to_worker = WorkerInput::new(down_w)?;
    set_nonblocking(&to_worker)?;
    set_nonblocking(&up_r)?;
    let (page, page_fd) = new_page();
    let child = launch(env_prefix, down_r, up_w, page_fd)?;
    Ok(Spawned { child, to_worker, from_worker: File::from(up_r), page, host: None })
}

/// Starts one worker process on a remote worker's link, for its nanny: the worker reads the pool's
/// frames from `input` (the link's input) itself, and writes its own straight onto `output` (the
/// link's output) under the status page's output lock (see [`StatusPage::lock_output`]). Where
/// there is no status page it writes into a pipe instead, whose read end is returned for the nanny
/// to relay.
pub(crate) fn spawn_link_worker(
    env_prefix: &str,
    input: OwnedFd,
    output: OwnedFd,
) -> io::Result<(Child, Option<StatusPage>, Option<File>)> {
    let (page, page_fd) = new_page();
    let (up_w, relayed) = match page {
        Some(_) => (output, None),
        None => {
            let (up_r, up_w) = channel::pipe()?;
            (up_w, Some(File::from(up_r)))
        }
    };
    let child = launch(env_prefix, input, up_w, page_fd)?;
    Ok((child, page, relayed))
}

/// A status page for a new worker, and the descriptor the worker maps it from; none where the
/// system has none (cancellation then falls back to timing).
fn new_page() -> (Option<StatusPage>, Option<OwnedFd>) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    match StatusPage::create() {
        Ok((page, fd)) => (Some(page), Some(fd)),
        Err(e) => {
            log::warn!(
                "tulip: no status page for a process-pool worker ({e}); cancellation falls back to timing"
            );
            (None, None)
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    (None, None)
}

/// Starts one worker process reading the pool's frames from `down_r` and writing its own to
/// `up_w`, with its status page on `page_fd` if there is one.
fn launch(env_prefix: &str, down_r: OwnedFd, up_w: OwnedFd, page_fd: Option<OwnedFd>) -> io::Result<Child> {
    // The child's ends sit above the numbers they take in the child, so placing one onto its number
    // can never overwrite another.
    let child_in = at_least(down_r, FIRST_STRAY_FD)?;
    let child_out = at_least(up_w, FIRST_STRAY_FD)?;
    let child_page = page_fd.map(|fd| at_least(fd, FIRST_STRAY_FD)).transpose()?;
    let fds =
        [child_in.as_raw_fd(), child_out.as_raw_fd(), child_page.as_ref().map_or(-1, |f| f.as_raw_fd())];
    Ok(Child::new(start(&program()?, env_prefix, fds)?))
}

/// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), looked up at run time so that the
/// program still starts on an older C library.
#[cfg(target_os = "linux")]
pub(crate) fn addclosefrom() -> Option<AddCloseFrom> {
    static FN: OnceLock<usize> = OnceLock::new();
    let addr = *FN.get_or_init(|| {
        // SAFETY: dlsym with a NUL-terminated name; a null result means "not available".
        unsafe {
            libc::dlsym(libc::RTLD_DEFAULT, c"posix_spawn_file_actions_addclosefrom_np".as_ptr()) as usize
        }
    });
    // SAFETY: a non-null address of that symbol is a function of this type.
    (addr != 0).then(|| unsafe { std::mem::transmute::<usize, AddCloseFrom>(addr) })
}

#[cfg(target_os = "linux")]
pub(crate) type AddCloseFrom = unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, c_int) -> c_int;

/// Owns a `posix_spawn_file_actions_t` / `posix_spawnattr_t` for the duration of one spawn.
#[cfg(target_os = "linux")]
pub(crate) struct SpawnArgs {
    pub(crate) actions: libc::posix_spawn_file_actions_t,
    pub(crate) attr: libc::posix_spawnattr_t,
}

#[cfg(target_os = "linux")]
impl SpawnArgs {
    /// Both structures, initialized. A `SpawnArgs` exists only once both are, so its `drop` never
    /// destroys what was not initialized; if the second fails, the first is destroyed here.
    pub(crate) fn new() -> io::Result<SpawnArgs> {
        let mut actions = std::mem::MaybeUninit::<libc::posix_spawn_file_actions_t>::uninit();
        let mut attr = std::mem::MaybeUninit::<libc::posix_spawnattr_t>::uninit();
        // SAFETY: each init gets room for its structure; one that returns 0 has initialized it.
        // Both are plain data (no pointers into themselves), so they may move once initialized.
        unsafe {
            let r = libc::posix_spawn_file_actions_init(actions.as_mut_ptr());
            if r != 0 {
                return Err(io::Error::from_raw_os_error(r));
            }
            let r = libc::posix_spawnattr_init(attr.as_mut_ptr());
            if r != 0 {
                libc::posix_spawn_file_actions_destroy(actions.as_mut_ptr());
                return Err(io::Error::from_raw_os_error(r));
            }
            Ok(SpawnArgs { actions: actions.assume_init(), attr: attr.assume_init() })
        }
    }

    /// Asks for a clean start: nothing blocked and every signal at its default disposition,
    /// whatever the program and the spawning thread had (a program that ignores `SIGCHLD` would
    /// otherwise make `Command::output()` fail in a task), and a process group of its own, so that
    /// a kill reaches what its tasks started (see `child`).
    fn clean_state(&mut self) -> io::Result<()> {
        let check = |r: c_int| if r != 0 { Err(io::Error::from_raw_os_error(r)) } else { Ok(()) };
        // SAFETY: calls on an initialized attribute object and a local signal set.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            check(libc::posix_spawnattr_setsigmask(&mut self.attr, &set))?;
            // The C library skips SIGKILL and SIGSTOP (and its own internal signals).
            libc::sigfillset(&mut set);
            check(libc::posix_spawnattr_setsigdefault(&mut self.attr, &set))?;
            check(libc::posix_spawnattr_setpgroup(&mut self.attr, 0))?;
            let flags =
                libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETPGROUP;
            check(libc::posix_spawnattr_setflags(&mut self.attr, flags as libc::c_short))
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for SpawnArgs {
    fn drop(&mut self) {
        // SAFETY: both were initialized by `SpawnArgs::new`, the only way to make one.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut self.actions);
            libc::posix_spawnattr_destroy(&mut self.attr);
        }
    }
}

/// Starts the worker with `posix_spawn` (a `vfork`-style clone: its cost does not grow with the
/// parent's memory, unlike `fork`), placing `fds` on 3, 4 and 5 and `/dev/null` on stdin.
#[cfg(target_os = "linux")]
fn start(program: &std::path::Path, env_prefix: &str, fds: [c_int; 3]) -> io::Result<libc::pid_t> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    let nul = |e: std::ffi::NulError| io::Error::new(io::ErrorKind::InvalidInput, e);
    let path = CString::new(program.as_os_str().as_bytes()).map_err(nul)?;
    let arg0 = match std::env::args_os().next() {
        Some(a) => CString::new(a.as_bytes()).map_err(nul)?,
        None => path.clone(),
    };
    let closefrom = addclosefrom();
    let flags = if fds[2] >= 0 { FLAG_PAGE } else { 0 } | if closefrom.is_some() { FLAG_CLEAN } else { 0 };
    let mut env = Vec::new();
    for (k, v) in std::env::vars_os() {
        if k != ENV {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            env.push(CString::new(kv).map_err(nul)?);
        }
    }
    env.push(CString::new(format!("{ENV}={env_prefix}:{flags}")).map_err(nul)?);
    let mut envp: Vec<*mut libc::c_char> = env.iter().map(|c| c.as_ptr() as *mut libc::c_char).collect();
    envp.push(std::ptr::null_mut());
    let argv = [arg0.as_ptr() as *mut libc::c_char, std::ptr::null_mut()];

    let check = |r: c_int| if r != 0 { Err(io::Error::from_raw_os_error(r)) } else { Ok(()) };
    // SAFETY: the structures are initialized (`SpawnArgs::new`) and destroyed by `SpawnArgs`; every
    // pointer handed to posix_spawn outlives the call.
    unsafe {
        let mut args = SpawnArgs::new()?;
        let a = &mut args.actions as *mut libc::posix_spawn_file_actions_t;
        check(libc::posix_spawn_file_actions_adddup2(a, fds[0], WORKER_IN_FD))?;
        check(libc::posix_spawn_file_actions_adddup2(a, fds[1], WORKER_OUT_FD))?;
        let first_stray = if fds[2] >= 0 {
            check(libc::posix_spawn_file_actions_adddup2(a, fds[2], WORKER_PAGE_FD))?;
            FIRST_STRAY_FD
        } else {
            WORKER_PAGE_FD
        };
        check(libc::posix_spawn_file_actions_addopen(a, 0, c"/dev/null".as_ptr(), libc::O_RDONLY, 0))?;
        if let Some(closefrom) = closefrom {
            check(closefrom(a, first_stray))?;
        }
        args.clean_state()?;
        let mut pid: libc::pid_t = 0;
        check(libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            &args.actions,
            &args.attr,
            argv.as_ptr(),
            envp.as_ptr(),
        ))?;
        Ok(pid)
    }
}

/// Starts the worker with `std::process::Command` and a `pre_exec` hook (platforms other than Linux).
#[cfg(not(target_os = "linux"))]
fn start(program: &std::path::Path, env_prefix: &str, fds: [c_int; 3]) -> io::Result<libc::pid_t> {
    let flags = if fds[2] >= 0 { FLAG_PAGE } else { 0 } | FLAG_CLEAN;
    let mut cmd = Command::new(program);
    if let Some(arg0) = std::env::args_os().next() {
        cmd.arg0(arg0);
    }
    cmd.env(ENV, format!("{env_prefix}:{flags}")).stdin(Stdio::null());
    // SAFETY: `child_setup` makes only async-signal-safe calls and allocates nothing.
    unsafe { cmd.pre_exec(move || child_setup(fds)) };
    let child = cmd.spawn()?;
    // std's `Child` neither kills nor reaps on drop; from here the pid is ours to manage.
    Ok(child.id() as libc::pid_t)
}

/// Runs in the child between `fork` and `exec`: async-signal-safe calls only. The sources are above
/// the target numbers (see `spawn_worker`).
#[cfg(not(target_os = "linux"))]
fn child_setup(fds: [c_int; 3]) -> io::Result<()> {
    let check = |r: c_int| if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r) };
    // SAFETY: dup2/prctl on descriptors of this (forked) process.
    unsafe {
        // dup2 clears close-on-exec on the new descriptor: these survive the exec.
        check(libc::dup2(fds[0], WORKER_IN_FD))?;
        check(libc::dup2(fds[1], WORKER_OUT_FD))?;
        if fds[2] >= 0 {
            check(libc::dup2(fds[2], WORKER_PAGE_FD))?;
            cloexec_from(FIRST_STRAY_FD);
        } else {
            cloexec_from(WORKER_PAGE_FD);
        }
        #[cfg(target_os = "android")]
        check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0))?;
        // A process group of its own, so that a kill reaches what its tasks started (see `child`).
        check(libc::setpgid(0, 0))?;
        // Every disposition at its default: an exec keeps the ignored ones (std resets SIGPIPE and
        // the mask). Numbers a platform does not have, and SIGKILL / SIGSTOP, just fail.
        for sig in 1..65 {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    Ok(())
}

/// Marks every descriptor from `first` up close-on-exec (async-signal-safe): here, and for
/// `subprocess` children, between `fork` and `exec`.
///
/// Marking rather than closing keeps std's own exec-error pipe working until the exec.
pub(crate) fn cloexec_from(first: c_int) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        /// Linux's `CLOSE_RANGE_CLOEXEC` (5.11), which Android's `libc` bindings lack.
        const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
        // SAFETY: close_range only changes descriptor flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            )
        };
        if r == 0 {
            return;
        }
    }
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills `limit`.
    let top = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        // `rlim_t` is not the same integer type everywhere.
        #[allow(clippy::unnecessary_cast)]
        let cur = limit.rlim_cur as u64;
        cur.min(1 << 16) as c_int
    } else {
        1024
    };
    for fd in first..top {
        // SAFETY: F_GETFD/F_SETFD on a possibly closed descriptor just fail with EBADF.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ() {
        assert_ne!(new_token().unwrap(), new_token().unwrap());
    }
}
