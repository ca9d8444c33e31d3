//! The process-wide part of signal handling: tulip's one OS-level handler, who needs it for which
//! signal, the handler it replaced (called too, and put back), and the pipes it writes to.
//!
//! # Implementation
//!
//! [`hook`] and [`unhook`] count tulip's users of a signal (a loop's handler or [`Signals`], a
//! loop waiting for children by `SIGCHLD`). The first `hook` installs [`on_signal`] and keeps the
//! disposition it replaces; the last `unhook` puts that disposition back. While tulip's handler is
//! in, a replaced handler that is a function (plain or `SA_SIGINFO`) is called after tulip's own
//! work, so a C library's handler keeps working; `SIG_DFL` and `SIG_IGN` are not acted out (the
//! point of a handler is that the default action, often "terminate", does not happen).
//!
//! The handler writes to pipes that are never closed, so it never writes to a reused number: the
//! loop pipe (read by the loop that owns the signal handlers) and, for `SIGCHLD`, every
//! [`ChildWake`] slot in use (one per loop or thread waiting for children).
//!
//! [`Signals`]: super::Signals

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::SignalError;

/// One more than the highest signal number handled (Linux has 64).
pub(crate) const NSIG: usize = 65;

/// Set by the OS-level handler when its signal arrives and a loop watches it; swapped back by
/// that loop.
pub(crate) static PENDING: [AtomicBool; NSIG] = [const { AtomicBool::new(false) }; NSIG];
/// Whether the loop that owns the signal handlers watches the signal (else an arrival, say of a
/// `SIGCHLD` only the child waits need, neither sets its flag nor wakes that loop).
static LOOP_WATCHED: [AtomicBool; NSIG] = [const { AtomicBool::new(false) }; NSIG];
/// The loop pipe's write end (-1 until created; never closed).
static LOOP_WAKE: AtomicI32 = AtomicI32::new(-1);
/// The `sa_sigaction` of the disposition tulip's handler replaced, per signal (`SIG_DFL` when
/// tulip's handler is not in): the handler to chain to.
static CHAINED: [AtomicUsize; NSIG] = [const { AtomicUsize::new(libc::SIG_DFL) }; NSIG];
/// Whether that replaced handler takes three arguments (`SA_SIGINFO`).
static CHAINED_SIGINFO: [AtomicBool; NSIG] = [const { AtomicBool::new(false) }; NSIG];

/// How many [`ChildWake`] slots there can be at once (loops and threads waiting by `SIGCHLD`).
const SLOTS: usize = 64;
/// The write end of each slot's pipe while the slot is taken, -1 while it is free.
static CHILD_WAKE: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];

/// Per signal: how many tulip users need the handler, and the disposition to put back.
struct Hooks {
    users: [usize; NSIG],
    old: [Option<libc::sigaction>; NSIG],
}

// SAFETY: `sigaction` is plain data (a function address, a mask, flags).
unsafe impl Send for Hooks {}

static HOOKS: Mutex<Hooks> = Mutex::new(Hooks { users: [0; NSIG], old: [None; NSIG] });

/// The OS-level handler: async-signal-safe calls only.
extern "C" fn on_signal(sig: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    #[cfg(target_os = "linux")]
    // SAFETY: errno is this thread's; it is put back so the interrupted code sees its own.
    let errno = unsafe { *libc::__errno_location() };
    if LOOP_WATCHED.get(sig as usize).is_some_and(|w| w.load(Ordering::SeqCst)) {
        PENDING[sig as usize].store(true, Ordering::SeqCst);
        poke(LOOP_WAKE.load(Ordering::SeqCst), sig);
    }
    if sig == libc::SIGCHLD {
        CHILD_WAKE.iter().for_each(|fd| poke(fd.load(Ordering::SeqCst), sig));
    }
    #[cfg(target_os = "linux")]
    // SAFETY: as above.
    unsafe {
        *libc::__errno_location() = errno
    };
    chain(sig, info, ctx);
}

/// Writes a byte to a never-closed pipe (-1: none); a full pipe already means "look".
fn poke(fd: c_int, sig: c_int) {
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the fd is never closed.
        unsafe { libc::write(fd, [sig as u8].as_ptr().cast(), 1) };
    }
}

/// Calls the handler tulip's replaced, if it was a function.
fn chain(sig: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let Some(old) = CHAINED.get(sig as usize).map(|h| h.load(Ordering::SeqCst)) else { return };
    if old == libc::SIG_DFL || old == libc::SIG_IGN || old == libc::SIG_ERR {
        return;
    }
    if CHAINED_SIGINFO[sig as usize].load(Ordering::SeqCst) {
        // SAFETY: the address came from a `sigaction` with SA_SIGINFO: a three-argument handler,
        // called as the kernel would have called it.
        let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) = unsafe { std::mem::transmute(old) };
        f(sig, info, ctx);
    } else {
        // SAFETY: the address came from a `sigaction` without SA_SIGINFO: a one-argument handler.
        let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(old) };
        f(sig);
    }
}

/// Records `old` as the handler to chain to for `sig` (never tulip's own: that would recurse).
fn set_chained(sig: c_int, old: &libc::sigaction) {
    let handler = if old.sa_sigaction == handler_address() { libc::SIG_DFL } else { old.sa_sigaction };
    CHAINED_SIGINFO[sig as usize].store(old.sa_flags & libc::SA_SIGINFO != 0, Ordering::SeqCst);
    CHAINED[sig as usize].store(handler, Ordering::SeqCst);
}

fn handler_address() -> libc::sighandler_t {
    on_signal as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as libc::sighandler_t
}

/// Makes sure tulip's handler is in for `sig`, counting one more user of it.
pub(crate) fn hook(sig: c_int) -> Result<(), SignalError> {
    let mut hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
    let slot = sig as usize;
    if hooks.users[slot] == 0 {
        // SAFETY: all-zero is a valid `sigaction` (empty mask, no flags) to fill in.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: reads the current disposition into a valid structure.
        if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
            return Err(SignalError::Os(std::io::Error::last_os_error().to_string()));
        }
        // Chain first: a signal that arrives as the new handler goes in still reaches the old one.
        set_chained(sig, &old);
        let mut new = new_default();
        new.sa_sigaction = handler_address();
        new.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        // SAFETY: `on_signal` is async-signal-safe; both structures are valid.
        if unsafe { libc::sigaction(sig, &new, &mut old) } != 0 {
            set_chained(sig, &new_default());
            return Err(SignalError::Os(std::io::Error::last_os_error().to_string()));
        }
        set_chained(sig, &old);
        hooks.old[slot] = Some(old);
    }
    hooks.users[slot] += 1;
    Ok(())
}

/// [`hook`] for the loop that owns the signal handlers: from now on an arrival sets the signal's
/// [`PENDING`] flag (cleared here: what arrived before is not this watch's) and wakes that loop.
pub(crate) fn watch_on_loop(sig: c_int) -> Result<(), SignalError> {
    PENDING[sig as usize].store(false, Ordering::SeqCst);
    LOOP_WATCHED[sig as usize].store(true, Ordering::SeqCst);
    hook(sig).inspect_err(|_| LOOP_WATCHED[sig as usize].store(false, Ordering::SeqCst))
}

/// Undoes [`watch_on_loop`].
pub(crate) fn unwatch_on_loop(sig: c_int) {
    LOOP_WATCHED[sig as usize].store(false, Ordering::SeqCst);
    unhook(sig);
}

/// One user less of `sig`; the last one puts back the disposition tulip's handler replaced.
pub(crate) fn unhook(sig: c_int) {
    let mut hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
    let slot = sig as usize;
    hooks.users[slot] = hooks.users[slot].saturating_sub(1);
    if hooks.users[slot] > 0 {
        return;
    }
    if let Some(old) = hooks.old[slot].take() {
        // SAFETY: puts back a disposition sigaction itself returned.
        unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
        set_chained(sig, &new_default());
    }
}

/// The handler address of `sig`'s current disposition (`SIG_DFL`, `SIG_IGN` or a function).
fn disposition(sig: c_int) -> Option<libc::sighandler_t> {
    let mut now = new_default();
    // SAFETY: reads the current disposition into a valid structure.
    (unsafe { libc::sigaction(sig, std::ptr::null(), &mut now) } == 0).then_some(now.sa_sigaction)
}

fn new_default() -> libc::sigaction {
    // SAFETY: all-zero is a valid `sigaction`: SIG_DFL (0), no flags.
    unsafe { std::mem::zeroed() }
}

/// A new pipe, both ends non-blocking and close-on-exec: `[read, write]`.
fn pipe() -> Result<[c_int; 2], SignalError> {
    let mut fds = [0; 2];
    // SAFETY: pipe fills `fds` with two new descriptors, which the fcntl calls then configure
    // (no `pipe2` on every platform).
    let failed = unsafe {
        libc::pipe(fds.as_mut_ptr()) != 0
            || fds.iter().any(|&fd| {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) != 0
                    || libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) != 0
            })
    };
    if failed {
        return Err(SignalError::Os(std::io::Error::last_os_error().to_string()));
    }
    Ok(fds)
}

/// Empties a non-blocking pipe's read end.
pub(crate) fn drain(read: c_int) {
    let mut buf = [0u8; 64];
    // SAFETY: reads into a local buffer from a non-blocking read end.
    while unsafe { libc::read(read, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
}

/// The loop pipe's read end, created once: a byte arrives with every handled signal.
pub(crate) fn loop_pipe() -> Result<c_int, SignalError> {
    static READ: OnceLock<Result<c_int, SignalError>> = OnceLock::new();
    READ.get_or_init(|| {
        let [read, write] = pipe()?;
        LOOP_WAKE.store(write, Ordering::SeqCst);
        Ok(read)
    })
    .clone()
}

/// A pipe that gets a byte whenever a `SIGCHLD` arrives, while this value lives; tulip's handler
/// is in for `SIGCHLD` meanwhile (and its previous handler chained).
///
/// Each wake is one of [`SLOTS`] slots whose pipes live for the rest of the program: a slot given
/// back and taken again only sees stale bytes, i.e. one needless look.
#[derive(Debug)]
pub(crate) struct ChildWake {
    slot: usize,
    read: c_int,
}

/// A slot's pipe (`[read, write]`, created on first use) and whether the slot is taken.
type SlotPipe = Option<([c_int; 2], bool)>;

/// The pipes of the slots.
static SLOT_PIPES: Mutex<[SlotPipe; SLOTS]> = Mutex::new([None; SLOTS]);

impl ChildWake {
    /// Takes a free slot and hooks `SIGCHLD`; `None` if all slots are taken, the OS refused, or
    /// `SIGCHLD` is ignored (`SIG_IGN`: the kernel reaps every child at once, which the program
    /// asked for and a handler would undo; there is then no end to wait for).
    pub(crate) fn new() -> Option<ChildWake> {
        if disposition(libc::SIGCHLD) == Some(libc::SIG_IGN) {
            return None;
        }
        let mut pipes = SLOT_PIPES.lock().unwrap_or_else(|e| e.into_inner());
        let slot = pipes.iter().position(|p| !p.is_some_and(|(_, taken)| taken))?;
        let [read, write] = match pipes[slot] {
            Some((fds, _)) => fds,
            None => pipe().ok()?,
        };
        let taken = hook(libc::SIGCHLD).is_ok();
        pipes[slot] = Some(([read, write], taken));
        if !taken {
            return None;
        }
        CHILD_WAKE[slot].store(write, Ordering::SeqCst);
        drain(read);
        Some(ChildWake { slot, read })
    }

    /// The read end: readable once a `SIGCHLD` arrived since the last [`drain`].
    pub(crate) fn fd(&self) -> c_int {
        self.read
    }
}

impl Drop for ChildWake {
    fn drop(&mut self) {
        CHILD_WAKE[self.slot].store(-1, Ordering::SeqCst);
        unhook(libc::SIGCHLD);
        let mut pipes = SLOT_PIPES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, taken)) = &mut pipes[self.slot] {
            *taken = false;
        }
    }
}
