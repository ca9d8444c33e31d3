//! Starting a child with `posix_spawn` (Linux, glibc 2.34+): what [`Command`](super::Command) uses
//! when the command needs nothing that only a hook in the child can do.
//!
//! # Implementation
//!
//! glibc's `posix_spawn` clones with `CLONE_VM | CLONE_VFORK`: no page tables are copied, so a
//! spawn costs the same whatever the parent's size, unlike the `fork` that std makes once a
//! `pre_exec` hook is set. File actions place the child's three streams (a pipe end, `/dev/null`,
//! a descriptor the user handed over) and then close everything from 3 up
//! (`posix_spawn_file_actions_addclosefrom_np`, looked up at run time): the child inherits its
//! three streams and nothing else, as on the `fork` path. A failed `exec` comes back as the
//! `posix_spawn` result. As std does, the child starts with an empty signal mask and `SIGPIPE` at
//! its default (Rust programs ignore it, and an ignored signal stays ignored across `exec`), and a
//! command that changes no variable hands over the C library's `environ` itself rather than a copy
//! (building one was most of the parent's own work in a spawn).

#[cfg(target_os = "linux")]
use std::ffi::{c_char, c_int};
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::OwnedFd;
#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
#[cfg(target_os = "linux")]
use std::os::unix::ffi::OsStrExt;

#[cfg(target_os = "linux")]
use crate::process_pool::spawn::{addclosefrom, SpawnArgs};

/// How one standard stream of the child is set up, for [`posix_spawn`].
#[derive(Debug)]
pub(super) enum Stream {
    /// The parent's own.
    Inherit,
    /// `/dev/null`.
    Null,
    /// A new pipe; the parent's end is returned.
    Piped,
    /// This descriptor.
    Fd(OwnedFd),
}

/// What [`posix_spawn`] started: the pid and the parent's ends of the piped streams.
pub(super) type Started = (libc::pid_t, [Option<OwnedFd>; 3]);

/// Whether this C library can close the strays in a `posix_spawn` (glibc 2.34+ on Linux).
pub(super) fn available() -> bool {
    #[cfg(target_os = "linux")]
    return addclosefrom().is_some();
    #[cfg(not(target_os = "linux"))]
    false
}

/// Elsewhere there is no `posix_spawn` path ([`available`] says so): std's `fork` path is taken.
#[cfg(not(target_os = "linux"))]
pub(super) fn posix_spawn(
    _: &[&OsStr],
    _: Option<&[CString]>,
    _: Option<i32>,
    _: [Stream; 3],
) -> io::Result<Started> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no posix_spawn with closefrom on this system"))
}

#[cfg(target_os = "linux")]
/// Starts `argv[0]` (looked up on the parent's `PATH` unless it has a `/`) with `argv`, `env`
/// (`KEY=value` entries; `None`: this process's own), its process group set to `pgroup` if given,
/// and `streams` as 0, 1, 2.
pub(super) fn posix_spawn(
    argv: &[&OsStr],
    env: Option<&[CString]>,
    pgroup: Option<i32>,
    streams: [Stream; 3],
) -> io::Result<Started> {
    let closefrom = addclosefrom().ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))?;
    let nul = |e: std::ffi::NulError| io::Error::new(io::ErrorKind::InvalidInput, e);
    let args: Vec<CString> =
        argv.iter().map(|a| CString::new(a.as_bytes()).map_err(nul)).collect::<Result<_, _>>()?;
    let mut argp: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).collect();
    argp.push(std::ptr::null_mut());
    let mut envp: Vec<*mut c_char> = Vec::new();
    if let Some(env) = env {
        envp.extend(env.iter().map(|e| e.as_ptr().cast_mut()));
        envp.push(std::ptr::null_mut());
    }
    let program = args.first().ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;

    let mut spawn_args = SpawnArgs::new()?;
    let (child_ends, parent_ends) = ends(streams)?;
    let actions = &mut spawn_args.actions as *mut libc::posix_spawn_file_actions_t;
    for (target, end) in child_ends.iter().enumerate() {
        // SAFETY: an initialized file-actions object; the descriptors outlive the spawn.
        let r = match end {
            End::Keep => 0,
            End::Null => unsafe {
                libc::posix_spawn_file_actions_addopen(
                    actions,
                    target as c_int,
                    c"/dev/null".as_ptr(),
                    libc::O_RDWR,
                    0,
                )
            },
            End::Dup(fd) => unsafe {
                libc::posix_spawn_file_actions_adddup2(actions, fd.as_raw_fd(), target as c_int)
            },
        };
        check(r)?;
    }
    // SAFETY: as above; the function was looked up under its own name.
    check(unsafe { closefrom(actions, 3) })?;
    attributes(&mut spawn_args.attr, pgroup)?;
    // SAFETY: read as `getenv` reads it; `std::env::set_var` requires that no other thread reads
    // the environment meanwhile (std's own `Command` hands it over the same way).
    let envp = if env.is_some() { envp.as_ptr() } else { unsafe { environ } };
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer handed over is valid for the call (argv and envp end with null).
    check(unsafe {
        libc::posix_spawnp(
            &mut pid,
            program.as_ptr(),
            &spawn_args.actions,
            &spawn_args.attr,
            argp.as_ptr(),
            envp,
        )
    })?;
    Ok((pid, parent_ends))
}

#[cfg(target_os = "linux")]
extern "C" {
    /// This process's environment, as the C library keeps it (declared here: the `libc` crate has
    /// it for glibc only).
    static environ: *const *mut c_char;
}

#[cfg(target_os = "linux")]
/// What the child gets on one stream number.
enum End {
    Keep,
    Null,
    Dup(OwnedFd),
}

#[cfg(target_os = "linux")]
/// The child's end of each stream, and the parent's ends of the pipes. A child end below 3 (the
/// parent had a standard stream closed) could be overwritten by an earlier placement: it is moved
/// up first.
fn ends(streams: [Stream; 3]) -> io::Result<([End; 3], [Option<OwnedFd>; 3])> {
    let mut parent: [Option<OwnedFd>; 3] = [None, None, None];
    let mut child = [End::Keep, End::Keep, End::Keep];
    for (i, stream) in streams.into_iter().enumerate() {
        child[i] = match stream {
            Stream::Inherit => End::Keep,
            Stream::Null => End::Null,
            Stream::Fd(fd) => End::Dup(above_stdio(fd)?),
            Stream::Piped => {
                let (read, write) = pipe()?;
                let (mine, theirs) = if i == 0 { (write, read) } else { (read, write) };
                parent[i] = Some(mine);
                End::Dup(above_stdio(theirs)?)
            }
        };
    }
    Ok((child, parent))
}

#[cfg(target_os = "linux")]
/// `fd` itself if it is 3 or more, else a close-on-exec copy that is.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: duplicates a descriptor we own; the copy is owned by the result.
    let copy: RawFd = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor just returned to us.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

#[cfg(target_os = "linux")]
/// A new pipe, both ends close-on-exec: `(read, write)`.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills `fds` with two new descriptors, owned below.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

#[cfg(target_os = "linux")]
/// An empty signal mask, `SIGPIPE` at its default, and the process group if asked for.
fn attributes(attr: &mut libc::posix_spawnattr_t, pgroup: Option<i32>) -> io::Result<()> {
    let mut flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
    // SAFETY: calls on an initialized attribute object and local signal sets.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        check(libc::posix_spawnattr_setsigmask(attr, &set))?;
        libc::sigaddset(&mut set, libc::SIGPIPE);
        check(libc::posix_spawnattr_setsigdefault(attr, &set))?;
        if let Some(pgid) = pgroup {
            check(libc::posix_spawnattr_setpgroup(attr, pgid))?;
            flags |= libc::POSIX_SPAWN_SETPGROUP;
        }
        check(libc::posix_spawnattr_setflags(attr, flags as libc::c_short))
    }
}

#[cfg(target_os = "linux")]
fn check(r: c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}
