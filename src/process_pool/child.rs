//! A worker as an OS process: a handle that signals and reaps it, and never reaches another
//! process, even when something else in the program reaps children (`SIGCHLD` set to `SIG_IGN`, a
//! `waitpid(-1)` loop in another thread or library).
//!
//! # Implementation
//!
//! On Linux 5.3 and later the handle holds a pidfd, opened right after the spawn: it names this
//! process and no other, whatever becomes of its pid. Signals go through `pidfd_send_signal`, waits
//! through `waitid(P_PIDFD)` (5.4; a 5.3 kernel refuses that, and the handle falls back to the
//! checked pid below).
//!
//! Elsewhere (and on older kernels) the handle holds the pid, and sends a signal only after
//! `waitid(WNOWAIT)` showed that the pid is still an unreaped child of this process. A pid that is not
//! (`ECHILD`) was reaped by someone else: the process is gone, nothing is sent to the pid any more (it
//! may name a stranger by now), and its exit status is unknown. (A reaper that runs between that check
//! and the signal is a window no pid-based API can close; pidfds close it.)
//!
//! Each worker leads a process group of its own, and a kill reaches the group: processes its tasks
//! started die with it (unless they left the group). The group is signalled only while the worker is
//! an unreaped child of ours: until then no other group can have its id.

use std::ffi::c_int;
use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// What a non-blocking wait saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// Still running.
    Running,
    /// Stopped by a signal (only reported when asked for).
    Stopped,
    /// Gone; the raw wait status. The process is reaped.
    Gone(c_int),
    /// Gone, reaped by someone else: the exit status is lost.
    Unknown,
}

/// One worker process, started by this process.
#[derive(Debug)]
pub(crate) struct Child {
    pid: libc::pid_t,
    /// A pidfd for the process (Linux 5.3+), `None` where there is none.
    #[cfg(target_os = "linux")]
    pidfd: Option<OwnedFd>,
    /// Set once the process is reaped, by us or by someone else: from then on nothing is sent to
    /// `pid`, which may name another process.
    reaped: bool,
}

impl Child {
    /// The handle of the child just started as `pid`.
    pub(crate) fn new(pid: libc::pid_t) -> Child {
        #[cfg(target_os = "linux")]
        let pidfd = {
            // SAFETY: pidfd_open takes a pid and flags; a new descriptor or -1 comes back.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            // SAFETY: a descriptor just returned to us, owned by nobody else (close-on-exec by default).
            (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as c_int) })
        };
        let mut child = Child {
            pid,
            #[cfg(target_os = "linux")]
            pidfd,
            reaped: false,
        };
        // Reaped already (by someone else, in the instant since the spawn): the pidfd may name a stranger.
        if !child.still_ours() {
            #[cfg(target_os = "linux")]
            {
                child.pidfd = None;
            }
        }
        child
    }

    /// The process id (for messages and the handshake; never for signals from outside this type).
    pub(crate) fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// The pidfd, if there is one (readable once the process has ended): what `subprocess` waits on.
    pub(crate) fn pidfd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        #[cfg(target_os = "linux")]
        return self.pidfd.as_ref().map(std::os::fd::AsFd::as_fd);
        #[cfg(not(target_os = "linux"))]
        None
    }

    /// Closes the pidfd: from then on the handle works by checked pid, as on kernels before 5.3
    /// (what `subprocess` does when `TULIP_PIDFD=0` asks it to).
    pub(crate) fn forget_pidfd(&mut self) {
        #[cfg(target_os = "linux")]
        {
            self.pidfd = None;
        }
    }

    /// Whether the process is still an unreaped child of this process (`waitid` with `WNOWAIT`
    /// leaves it as it is); records it as reaped when not.
    fn still_ours(&mut self) -> bool {
        self.peek().is_some()
    }

    /// Whether the process has ended but is not reaped yet: its pid still names it, and its group's
    /// id the group, so [`kill`](Self::kill) reaches what it left in its group.
    pub(crate) fn ended_unreaped(&mut self) -> bool {
        self.peek() == Some(true)
    }

    /// Looks without reaping: `None` if the process is no longer an unreaped child of this process
    /// (recorded as reaped), else whether it has ended.
    fn peek(&mut self) -> Option<bool> {
        if self.reaped {
            return None;
        }
        loop {
            // SAFETY: an all-zero `siginfo_t` is a valid value for `waitid` to fill.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
            let (idtype, id) = self.wait_id();
            // SAFETY: waits (without reaping) for our own child.
            if unsafe { libc::waitid(idtype, id, &mut info, options) } == 0 {
                // SAFETY: `waitid` filled the child fields, or left them zero: no change yet.
                return Some(unsafe { info.si_pid() } != 0);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => {}
                #[cfg(target_os = "linux")]
                Some(libc::EINVAL) if self.pidfd.is_some() => self.pidfd = None,
                _ => {
                    self.reaped = e.raw_os_error() == Some(libc::ECHILD);
                    return (!self.reaped).then_some(false);
                }
            }
        }
    }

    /// How `waitid` names this process: by pidfd where there is one, else by pid.
    fn wait_id(&self) -> (libc::idtype_t, libc::id_t) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.pidfd {
            return (libc::P_PIDFD, fd.as_raw_fd() as libc::id_t);
        }
        (libc::P_PID, self.pid as libc::id_t)
    }

    /// Kills the process and its process group (it leads one of its own, see
    /// [`spawn`](super::spawn)): whatever its tasks started and left in the group dies with it.
    pub(crate) fn kill(&mut self) -> bool {
        if self.still_ours() {
            // SAFETY: the leader is our unreaped child, so its pid, the group's id, names no other group.
            unsafe { libc::kill(-self.pid, libc::SIGKILL) };
        }
        self.signal(libc::SIGKILL)
    }

    /// Sends `sig` to the process; `false` if it is gone (or was reaped by someone else).
    pub(crate) fn signal(&mut self, sig: c_int) -> bool {
        if self.reaped {
            return false;
        }
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.pidfd {
            // SAFETY: signals the process the pidfd names, which no other process can be.
            let r = unsafe {
                libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), sig, std::ptr::null::<u8>(), 0)
            };
            return r == 0;
        }
        // SAFETY: `pid` was just shown to be our unreaped child, so it names that process.
        self.still_ours() && unsafe { libc::kill(self.pid, sig) } == 0
    }

    /// Asks a remote worker's launcher to end (`SIGTERM`, then `SIGCONT` should it be stopped);
    /// `false` if it could not be signalled.
    pub(crate) fn terminate(&mut self) -> bool {
        self.signal(libc::SIGTERM) && self.signal(libc::SIGCONT)
    }

    /// Freezes the process (`SIGSTOP`) and waits up to `wait` for the stop to take effect; what the
    /// last wait found (`Running` if the stop did not show in time), `None` if it could not be
    /// signalled. [`thaw`](Self::thaw) lets it go on.
    pub(crate) fn freeze(&mut self, wait: std::time::Duration) -> Option<Waited> {
        if !self.signal(libc::SIGSTOP) {
            return None;
        }
        let started = std::time::Instant::now();
        loop {
            match self.try_wait(true) {
                Waited::Running if started.elapsed() < wait => std::thread::yield_now(),
                found => return Some(found),
            }
        }
    }

    /// Lets a process frozen by [`freeze`](Self::freeze) go on (`SIGCONT`).
    pub(crate) fn thaw(&mut self) {
        self.signal(libc::SIGCONT);
    }

    /// Kills the process and its group (see [`kill`](Self::kill)) and reaps it.
    pub(crate) fn kill_and_reap(mut self) {
        self.kill();
        self.wait();
    }

    /// Collects the process's end without blocking (and a stop, if `untraced`).
    pub(crate) fn try_wait(&mut self, untraced: bool) -> Waited {
        self.wait_with(libc::WNOHANG | if untraced { libc::WUNTRACED } else { 0 })
    }

    /// Blocks until the process is gone and reaps it; `None` if someone else reaped it.
    pub(crate) fn wait(&mut self) -> Option<c_int> {
        loop {
            match self.wait_with(0) {
                Waited::Gone(status) => return Some(status),
                Waited::Unknown => return None,
                Waited::Running | Waited::Stopped => {}
            }
        }
    }

    /// One `waitid`/`waitpid` with `flags` (`WNOHANG`, `WUNTRACED` as for `waitpid`).
    fn wait_with(&mut self, flags: c_int) -> Waited {
        if self.reaped {
            return Waited::Unknown;
        }
        let waited = loop {
            match self.wait_once(flags) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break Waited::Unknown,
                Ok(w) => break w,
            }
        };
        self.reaped = matches!(waited, Waited::Gone(_) | Waited::Unknown);
        waited
    }

    #[cfg(target_os = "linux")]
    fn wait_once(&mut self, flags: c_int) -> io::Result<Waited> {
        let Some(fd) = &self.pidfd else { return waitpid(self.pid, flags) };
        let mut options = libc::WEXITED;
        if flags & libc::WNOHANG != 0 {
            options |= libc::WNOHANG;
        }
        if flags & libc::WUNTRACED != 0 {
            options |= libc::WSTOPPED;
        }
        // SAFETY: an all-zero `siginfo_t` is a valid value for `waitid` to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waits for the process the pidfd names, one of our children.
        if unsafe { libc::waitid(libc::P_PIDFD, fd.as_raw_fd() as libc::id_t, &mut info, options) } != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINVAL) {
                // A 5.3 kernel: pidfds, but no waiting on them.
                self.pidfd = None;
                return waitpid(self.pid, flags);
            }
            return Err(e);
        }
        // SAFETY: `waitid` filled the child fields (or left them zero: no state change).
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        Ok(match info.si_code {
            _ if pid == 0 => Waited::Running,
            libc::CLD_EXITED => Waited::Gone((status & 0xff) << 8),
            libc::CLD_KILLED => Waited::Gone(status & 0x7f),
            libc::CLD_DUMPED => Waited::Gone((status & 0x7f) | 0x80),
            libc::CLD_STOPPED | libc::CLD_TRAPPED => Waited::Stopped,
            _ => Waited::Running,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn wait_once(&mut self, flags: c_int) -> io::Result<Waited> {
        waitpid(self.pid, flags)
    }
}

/// `waitpid(pid, flags)` as a [`Waited`]; `Err` with `ECHILD` when someone else reaped it.
fn waitpid(pid: libc::pid_t, flags: c_int) -> io::Result<Waited> {
    let mut status = 0;
    // SAFETY: waits for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, flags) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(if r == 0 {
        Waited::Running
    } else if libc::WIFSTOPPED(status) {
        Waited::Stopped
    } else {
        Waited::Gone(status)
    })
}

/// The usual name of a signal number.
fn signal_name(sig: c_int) -> Option<&'static str> {
    Some(match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

/// The number of the signal the pool kills with.
pub(crate) const SIGKILL: c_int = libc::SIGKILL;

/// The signal that ended a process, from its wait status; `None` if it exited.
pub(crate) fn term_signal(status: c_int) -> Option<c_int> {
    libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status))
}

/// The exit code of a process that exited, from its wait status; `None` if a signal ended it.
pub(crate) fn exit_code(status: c_int) -> Option<c_int> {
    libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status))
}

/// "exited with status 3", "killed by signal 9 (SIGKILL)".
pub(crate) fn describe_status(status: c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        let name = signal_name(sig).map(|n| format!(" ({n})")).unwrap_or_default();
        let core = if libc::WCOREDUMP(status) { ", core dumped" } else { "" };
        format!("killed by signal {sig}{name}{core}")
    } else {
        format!("ended with wait status {status:#x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_like_a_shell() {
        assert_eq!(describe_status(3 << 8), "exited with status 3");
        assert_eq!(describe_status(libc::SIGKILL), "killed by signal 9 (SIGKILL)");
        assert_eq!(describe_status(libc::SIGABRT), "killed by signal 6 (SIGABRT)");
    }

    /// A `sleep 30` whose reaping is left to the handle.
    #[allow(clippy::zombie_processes)]
    fn sleeper() -> Child {
        let child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        Child::new(child.id() as libc::pid_t)
    }

    #[test]
    fn kill_and_wait_report_the_signal() {
        let mut c = sleeper();
        assert_eq!(c.try_wait(false), Waited::Running);
        assert!(c.signal(libc::SIGKILL));
        assert_eq!(c.wait().map(describe_status).as_deref(), Some("killed by signal 9 (SIGKILL)"));
        assert!(!c.signal(libc::SIGKILL), "nothing is sent after the reap");
    }

    #[test]
    fn a_child_reaped_elsewhere_is_never_signalled() {
        let mut c = sleeper();
        let pid = c.pid();
        // SAFETY: kills and reaps our own child behind the handle's back, as a stray reaper would.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        assert!(!c.signal(libc::SIGTERM));
        assert_eq!(c.try_wait(false), Waited::Unknown);
        assert_eq!(c.wait(), None);
    }
}
