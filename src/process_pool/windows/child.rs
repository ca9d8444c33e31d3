//! A worker process on Windows, held by its process handle inside a Job object of its own: killed
//! with its whole tree, and with the pool's process (the Unix twin signals and reaps by pid).
//!
//! # Implementation
//!
//! Each worker is assigned, once it has connected back (see [`spawn`](super::spawn)), to a Job
//! object created for it with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`: when the pool's process ends,
//! however it ends, Windows closes its handles and the job kills the worker and every process the
//! worker's tasks started. A kill is `TerminateJobObject`, which ends that whole tree at once, with
//! [`KILLED`] as the exit code. Waiting is on the process handle (`std::process::Child`), for at
//! most [`KILL_WAIT`].
//!
//! A status is the process's exit code, as a `c_int` like a Unix wait status (the driver keeps one
//! type of status on both platforms); [`term_signal`] and [`exit_code`] read it.

use std::ffi::c_int;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation, SetInformationJobObject,
    TerminateJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};

/// The exit code of a worker the pool killed (`TerminateJobObject`): "tulip kill" in four bytes,
/// in the range Windows itself does not use for exits nor for exceptions.
pub(crate) const KILLED: c_int = 0x7475_4b4c;

/// How long [`Child::wait`] waits for a worker to end (after a kill, normally at once).
const KILL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The "signal" [`term_signal`] gives for a worker killed with [`KILLED`]: the number of `SIGKILL`,
/// so that the driver reads a kill the same way on every platform.
pub(crate) const SIGKILL: c_int = 9;

/// What a wait found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// Still running.
    Running,
    /// Stopped (never on Windows: workers are not frozen there; kept for the driver's one code path).
    #[allow(dead_code)]
    Stopped,
    /// Ended with this exit code, now collected.
    Gone(c_int),
    /// Its status could not be read.
    Unknown,
}

/// A worker process and the Job object that holds it.
#[derive(Debug)]
pub(crate) struct Child {
    process: std::process::Child,
    /// The worker's own job, `KILL_ON_JOB_CLOSE`; the worker is in it from `new` on, so closing
    /// this handle (the pool's process ending included) kills the worker and its descendants.
    job: OwnedHandle,
}

impl Child {
    /// Puts a worker that has connected back into a Job object of its own; on failure the worker
    /// is killed before the error is returned.
    pub(crate) fn new(mut process: std::process::Child) -> io::Result<Child> {
        let job = kill_on_close_job().inspect_err(|_| {
            let _ = process.kill();
        })?;
        // SAFETY: both handles are live and ours.
        if unsafe { AssignProcessToJobObject(job.as_raw_handle(), process.as_raw_handle()) } == 0 {
            let e = io::Error::last_os_error();
            // A worker that already ended (it never connected back) needs no job: the driver reads
            // its exit code and says why at its handshake.
            if !matches!(process.try_wait(), Ok(Some(_))) {
                let _ = process.kill();
                return Err(e);
            }
        }
        Ok(Child { process, job })
    }

    /// The worker's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Kills the worker and every process in its job; `false` if that failed (it had ended).
    pub(crate) fn kill(&mut self) -> bool {
        // SAFETY: a job handle this value owns.
        unsafe { TerminateJobObject(self.job.as_raw_handle(), KILLED as u32) != 0 }
    }

    /// Asks a remote worker's launcher to end: there are none on Windows.
    pub(crate) fn terminate(&mut self) -> bool {
        false
    }

    /// Freezes the worker, to read what it wrote before deciding on a kill: not done on Windows,
    /// where the driver decides on what it has read so far. `None` if its state cannot be read.
    pub(crate) fn freeze(&mut self, _wait: std::time::Duration) -> Option<Waited> {
        match self.try_wait(false) {
            Waited::Unknown => None,
            found => Some(found),
        }
    }

    /// Lets a frozen worker go on (see [`freeze`](Self::freeze)): nothing to do on Windows.
    pub(crate) fn thaw(&mut self) {}

    /// The worker's exit code if it has ended. Unlike a Unix reap this can be asked again: the
    /// process handle keeps the code.
    pub(crate) fn try_wait(&mut self, _untraced: bool) -> Waited {
        match self.process.try_wait() {
            Ok(None) => Waited::Running,
            Ok(Some(status)) => status.code().map_or(Waited::Unknown, Waited::Gone),
            Err(_) => Waited::Unknown,
        }
    }

    /// Waits for the worker to end, for at most [`KILL_WAIT`]; its exit code, `None` if it could
    /// not be read or the worker did not end in time (then its job still kills it when the pool
    /// lets go of it, and the driver is not held up by a process that will not die).
    pub(crate) fn wait(&mut self) -> Option<c_int> {
        let asked = std::time::Instant::now();
        loop {
            match self.try_wait(false) {
                Waited::Gone(code) => return Some(code),
                Waited::Running if asked.elapsed() < KILL_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                _ => return None,
            }
        }
    }
}

/// A new Job object that kills its processes when its last handle closes.
fn kill_on_close_job() -> io::Result<OwnedHandle> {
    // SAFETY: no security attributes, no name: a new anonymous job.
    let raw = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
    if raw.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new handle owned by nobody else.
    let job = unsafe { OwnedHandle::from_raw_handle(raw) };
    // SAFETY: an all-zero limit structure is valid; only the one flag is set below.
    let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    // SAFETY: the job handle is ours; the pointer and size describe `limits`.
    let set = unsafe {
        SetInformationJobObject(
            job.as_raw_handle(),
            JobObjectExtendedLimitInformation,
            (&limits as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    if set == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(job)
}

/// The "signal" that ended a worker: [`SIGKILL`] for the pool's kill, the exception code for a
/// crash (an `NTSTATUS` of the error class, such as `0xC0000005`); `None` for an exit.
pub(crate) fn term_signal(status: c_int) -> Option<c_int> {
    if status == KILLED {
        Some(SIGKILL)
    } else if (status as u32) >= 0xC000_0000 {
        Some(status)
    } else {
        None
    }
}

/// The exit code of a worker that exited (rather than crashed or was killed).
pub(crate) fn exit_code(status: c_int) -> Option<c_int> {
    term_signal(status).is_none().then_some(status)
}

/// `status` in words, as the error messages say it.
pub(crate) fn describe_status(status: c_int) -> String {
    match term_signal(status) {
        Some(SIGKILL) if status == KILLED => "was killed (its Job object terminated)".to_string(),
        Some(code) => format!("crashed with exception {:#010x}", code as u32),
        None => format!("exited with status {status}"),
    }
}
