//! [`Child`]: a started program, its pipes, and waiting for its end on the loop.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Output};
use std::time::Duration;

use futures_lite::AsyncReadExt;

use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use super::{reaper, sigchld};
use crate::process_pool::child::{Child as Proc, Waited};
use crate::reactor::Async;

/// The longest pause between two looks at a child that has neither a pidfd nor a `SIGCHLD` wake.
const MAX_POLL: Duration = Duration::from_millis(50);

/// A child process started by [`Command::spawn`](super::Command::spawn).
///
/// Waiting for it costs no thread: on Linux 5.3 and later its pidfd is registered with the loop,
/// which wakes [`wait`](Self::wait) when the child ends; it is then reaped by pid (never with
/// `waitpid(-1)`, which would take other code's children). Dropped unwaited, it is handed to a
/// background reaper (and killed first if [`kill_on_drop`](super::Command::kill_on_drop) was
/// set): it never stays a zombie.
///
/// # Examples
///
/// ```
/// use tulip::subprocess::Command;
/// tulip::run(async {
///     let mut child = Command::new("sleep").arg("60").spawn().unwrap();
///     assert!(child.try_wait().unwrap().is_none());
///     assert!(child.kill());
///     let status = child.wait().await.unwrap();
///     use std::os::unix::process::ExitStatusExt;
///     assert_eq!(status.signal(), Some(libc::SIGKILL));
/// });
/// ```
#[derive(Debug)]
pub struct Child {
    /// The write end of the child's stdin, if it was [`piped`](super::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The read end of the child's stdout, if it was [`piped`](super::Stdio::piped).
    pub stdout: Option<ChildStdout>,
    /// The read end of the child's stderr, if it was [`piped`](super::Stdio::piped).
    pub stderr: Option<ChildStderr>,
    /// The process; `None` only inside `drop`, once it went to the reaper.
    proc: Option<Proc>,
    /// A copy of the pidfd, registered with the loop (readable once the child ended); `None`
    /// without pidfds.
    exited: Option<Async<OwnedFd>>,
    /// The exit status, once the child was reaped.
    status: Option<ExitStatus>,
    pid: u32,
    kill_on_drop: bool,
}

impl Child {
    /// Takes over a child just started as `pid`, with the parent's ends of its piped streams
    /// (stdin, stdout, stderr): its pipes go on the running loop, its pid into a pidfd-backed
    /// handle.
    pub(super) fn adopt(
        pid: libc::pid_t,
        ends: [Option<OwnedFd>; 3],
        kill_on_drop: bool,
    ) -> io::Result<Child> {
        let mut proc = Proc::new(pid);
        if !sigchld::pidfds_allowed() {
            proc.forget_pidfd();
        }
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            proc: Some(proc),
            exited: None,
            status: None,
            pid: pid as u32,
            // Until every part is on the loop, a failure kills the child (in `drop`).
            kill_on_drop: true,
        };
        let [stdin, stdout, stderr] = ends;
        child.stdin = stdin.map(ChildStdin::on_loop).transpose()?;
        child.stdout = stdout.map(ChildStdout::on_loop).transpose()?;
        child.stderr = stderr.map(ChildStderr::on_loop).transpose()?;
        let pidfd =
            child.proc.as_ref().and_then(Proc::pidfd).map(|fd| fd.try_clone_to_owned()).transpose()?;
        child.exited = pidfd.map(Async::new).transpose()?;
        child.kill_on_drop = kill_on_drop;
        Ok(child)
    }

    /// The child's process id.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut child = tulip::subprocess::Command::new("true").spawn().unwrap();
    ///     assert!(child.id() > 0);
    ///     child.wait().await.unwrap();
    /// });
    /// ```
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// The exit status if the child has ended (and reaps it), `None` if it still runs.
    ///
    /// # Errors
    ///
    /// The child was reaped by other code of this program (a `waitpid(-1)`, or `SIGCHLD` set to
    /// `SIG_IGN`): it is gone, but its status is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut child = tulip::subprocess::Command::new("sleep").arg("60").kill_on_drop(true).spawn().unwrap();
    ///     assert_eq!(child.try_wait().unwrap(), None);
    /// });
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some(proc) = self.proc.as_mut() else { return Ok(None) };
        match proc.try_wait(false) {
            Waited::Running | Waited::Stopped => Ok(None),
            Waited::Gone(raw) => {
                self.exited = None;
                self.status = Some(ExitStatus::from_raw(raw));
                Ok(self.status)
            }
            Waited::Unknown => Err(io::Error::other(format!(
                "child {} was reaped by other code in this program (waitpid(-1), or SIGCHLD ignored); \
                 its exit status is lost",
                self.pid
            ))),
        }
    }

    /// Waits for the child to end, without blocking the loop, and returns its exit status. Closes
    /// the child's stdin first (as std does), so a child that reads to the end can finish.
    ///
    /// # Errors
    ///
    /// As for [`try_wait`](Self::try_wait), or the loop is not running.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let status = tulip::subprocess::Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap().wait().await;
    ///     assert_eq!(status.unwrap().code(), Some(7));
    /// });
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let blind = self.status.is_none() && self.exited.is_none();
        let watch = if blind { sigchld::ExitWatch::current() } else { None };
        let mut pause = Duration::from_millis(1);
        loop {
            // With a pidfd, `waitid` runs only once it is readable: each call walks this process's
            // children under a kernel lock, which a fan-out of many children makes costly.
            if let (None, Some(pidfd)) = (self.status, &self.exited) {
                pidfd.readable().await?;
            }
            let seen = watch.as_ref().map(|w| w.generation());
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            if let (Some(watch), Some(seen)) = (&watch, seen) {
                watch.changed(seen).await;
            } else if self.exited.is_none() {
                // Neither a pidfd nor a `SIGCHLD` wake slot (all taken): look at intervals.
                crate::reactor::sleep(pause).await;
                pause = (pause * 2).min(MAX_POLL);
            }
        }
    }

    /// Collects what is left on the child's stdout and stderr pipes (both at once: a child that
    /// fills one while the other is read cannot deadlock), then waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::subprocess::{Command, Stdio};
    /// tulip::run(async {
    ///     let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn().unwrap();
    ///     let out = child.wait_with_output().await.unwrap();
    ///     assert_eq!(out.stdout, b"hi\n");
    /// });
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (out, err) = (self.stdout.take(), self.stderr.take());
        let (stdout, stderr) = futures_lite::future::zip(read_all(out), read_all(err)).await;
        let status = self.wait().await?;
        Ok(Output { status, stdout: stdout?, stderr: stderr? })
    }

    /// Sends `SIGKILL` to the child; `false` if it had already ended.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut child = tulip::subprocess::Command::new("sleep").arg("60").spawn().unwrap();
    ///     assert!(child.kill());
    ///     assert!(!child.wait().await.unwrap().success());
    /// });
    /// ```
    pub fn kill(&mut self) -> bool {
        self.signal(libc::SIGKILL)
    }

    /// Sends `sig` to the child (through its pidfd where there is one: never to a recycled pid);
    /// `false` if it had already ended or `sig` is not a signal.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut child = tulip::subprocess::Command::new("sleep").arg("60").spawn().unwrap();
    ///     assert!(child.signal(libc::SIGTERM));
    ///     use std::os::unix::process::ExitStatusExt;
    ///     assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGTERM));
    /// });
    /// ```
    pub fn signal(&mut self, sig: i32) -> bool {
        self.status.is_none() && self.proc.as_mut().is_some_and(|p| p.signal(sig))
    }

    /// Kills the child and its process group with `SIGKILL`: everything it started that stayed in
    /// the group dies with it. Meant for a child spawned with
    /// [`process_group(0)`](super::Command::process_group) (otherwise only the child is killed:
    /// no group has its id). `false` if the child had already ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::subprocess::Command;
    /// tulip::run(async {
    ///     let mut child = Command::new("sh").args(["-c", "sleep 60 & wait"]).process_group(0).spawn().unwrap();
    ///     assert!(child.kill_process_group());
    ///     child.wait().await.unwrap();
    /// });
    /// ```
    pub fn kill_process_group(&mut self) -> bool {
        self.status.is_none() && self.proc.as_mut().is_some_and(Proc::kill)
    }
}

/// Reads a pipe to its end (nothing if there is no pipe).
async fn read_all<R: futures_io::AsyncRead + Unpin>(pipe: Option<R>) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(mut p) = pipe {
        p.read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

impl Drop for Child {
    fn drop(&mut self) {
        // The loop registration goes first, on this thread; the process goes to the reaper.
        self.exited = None;
        let Some(proc) = self.proc.take() else { return };
        if self.status.is_none() {
            reaper::orphan(proc, self.kill_on_drop);
        }
    }
}
