//! [`Command`]: the builder, and how a spawn failure is told apart.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::child::Child;
use super::error::SpawnError;
use super::lane::{self, SpawnArgs};
use super::spawn::{self, Stream};

/// How a spawn is made (see [`Command::plan`]).
enum Plan {
    /// `posix_spawn`, on the loop thread or the spawn lane.
    Posix(SpawnArgs),
    /// std's `fork` path, with these streams.
    Std([Stream; 3]),
}

/// How one of a child's standard streams is connected.
///
/// # Examples
///
/// ```
/// use tulip::subprocess::{Command, Stdio};
/// tulip::run(async {
///     let status = Command::new("true").stdout(Stdio::null()).status().await.unwrap();
///     assert!(status.success());
/// });
/// ```
#[derive(Debug)]
pub struct Stdio(Kind);

#[derive(Debug)]
enum Kind {
    Piped,
    Inherit,
    Null,
    Fd(OwnedFd),
}

impl Stdio {
    /// A new pipe; the parent's end is on the [`Child`] (`stdin`, `stdout`, `stderr`).
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = tulip::subprocess::Stdio::piped();
    /// ```
    pub fn piped() -> Stdio {
        Stdio(Kind::Piped)
    }

    /// The parent's own stream (the default of [`Command::spawn`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = tulip::subprocess::Stdio::inherit();
    /// ```
    pub fn inherit() -> Stdio {
        Stdio(Kind::Inherit)
    }

    /// `/dev/null`.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = tulip::subprocess::Stdio::null();
    /// ```
    pub fn null() -> Stdio {
        Stdio(Kind::Null)
    }

    /// What one spawn gets; a descriptor is handed over (a later spawn inherits), the other kinds
    /// stay for the next spawn, as with std's `Command`.
    fn for_spawn(slot: &mut Option<Stdio>, default: fn() -> Stdio) -> Stream {
        match slot {
            Some(Stdio(Kind::Fd(_))) => match slot.take() {
                Some(Stdio(Kind::Fd(fd))) => Stream::Fd(fd),
                _ => Stream::Inherit,
            },
            Some(Stdio(Kind::Piped)) => Stream::Piped,
            Some(Stdio(Kind::Inherit)) => Stream::Inherit,
            Some(Stdio(Kind::Null)) => Stream::Null,
            None => Stdio::for_spawn(&mut Some(default()), default),
        }
    }
}

impl From<Stream> for std::process::Stdio {
    fn from(stream: Stream) -> std::process::Stdio {
        match stream {
            Stream::Piped => std::process::Stdio::piped(),
            Stream::Inherit => std::process::Stdio::inherit(),
            Stream::Null => std::process::Stdio::null(),
            Stream::Fd(fd) => std::process::Stdio::from(fd),
        }
    }
}

/// A file (or any open descriptor) as the stream: the child gets a copy of it.
impl From<File> for Stdio {
    fn from(file: File) -> Stdio {
        Stdio(Kind::Fd(file.into()))
    }
}

/// An open descriptor as the stream.
impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Stdio {
        Stdio(Kind::Fd(fd))
    }
}

/// A program to start as a child of this process, on the running loop (asyncio's
/// `create_subprocess_exec`; `std::process::Command`'s names).
///
/// No shell is involved: the program gets its arguments as they are. (For a shell, run `sh` with
/// `-c`.) Only the three standard streams are inherited: every other descriptor of this process is
/// closed in the child at its `exec`, including those opened without `O_CLOEXEC`.
///
/// # Examples
///
/// ```
/// use tulip::subprocess::Command;
/// tulip::run(async {
///     let out = Command::new("sh").args(["-c", "echo $0", "tulip"]).output().await.unwrap();
///     assert!(out.status.success());
///     assert_eq!(out.stdout, b"tulip\n");
/// });
/// ```
#[derive(Debug)]
pub struct Command {
    inner: std::process::Command,
    /// The program as given, for error messages.
    program: OsString,
    /// What first held a NUL byte, if anything did (reported at spawn, as std does).
    nul: Option<String>,
    /// The working directory, if set (to tell a missing one from a missing program).
    cwd: Option<PathBuf>,
    /// The streams asked for; `None` takes the default of `spawn` (inherit) or `output` (pipes).
    stdio: [Option<Stdio>; 3],
    /// Whether [`env_clear`](Self::env_clear) was called.
    env_cleared: bool,
    /// The process group asked for with [`process_group`](Self::process_group).
    pgroup: Option<i32>,
    kill_on_drop: bool,
    die_with_parent: bool,
    /// Whether the `PR_SET_PDEATHSIG` hook is on `inner` (std cannot take a hook off again).
    pdeathsig_hook: bool,
}

impl Command {
    /// A command that runs `program` (looked up on `PATH` unless it contains a `/`).
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("ls");
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        let program = program.as_ref();
        let mut inner = std::process::Command::new(program);
        only_standard_streams(&mut inner);
        let mut cmd = Command {
            inner,
            program: program.to_os_string(),
            nul: None,
            cwd: None,
            stdio: [None, None, None],
            env_cleared: false,
            pgroup: None,
            kill_on_drop: false,
            die_with_parent: false,
            pdeathsig_hook: false,
        };
        cmd.check_nul(program, || "the program".into());
        cmd
    }

    fn check_nul(&mut self, s: &OsStr, what: impl FnOnce() -> String) {
        if self.nul.is_none() && s.as_bytes().contains(&0) {
            self.nul = Some(what());
        }
    }

    /// Adds an argument.
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("ls").arg("-l");
    /// ```
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        let n = self.inner.get_args().len() + 1;
        self.check_nul(arg.as_ref(), || format!("argument {n}"));
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("ls").args(["-l", "/"]);
    /// ```
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&mut self, args: I) -> &mut Command {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("env").env("LANG", "C");
    /// ```
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        let k = key.as_ref().to_string_lossy().into_owned();
        self.check_nul(key.as_ref(), || format!("the name of environment variable {k:?}"));
        self.check_nul(val.as_ref(), || format!("environment variable {k:?}"));
        self.inner.env(key, val);
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("env").env_remove("HOME");
    /// ```
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what [`env`](Self::env) adds).
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("/usr/bin/env").env_clear();
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.env_cleared = true;
        self.inner.env_clear();
        self
    }

    /// The child's working directory.
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("ls").current_dir("/");
    /// ```
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.check_nul(dir.as_ref().as_os_str(), || "the working directory".into());
        self.cwd = Some(dir.as_ref().to_path_buf());
        self.inner.current_dir(dir);
        self
    }

    /// The child's stdin (default: inherited by [`spawn`](Self::spawn), `/dev/null` for
    /// [`output`](Self::output)).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::subprocess::{Command, Stdio};
    /// let _cmd = Command::new("cat").stdin(Stdio::piped());
    /// ```
    pub fn stdin(&mut self, s: impl Into<Stdio>) -> &mut Command {
        self.stdio[0] = Some(s.into());
        self
    }

    /// The child's stdout (default: inherited by [`spawn`](Self::spawn), a pipe for
    /// [`output`](Self::output)).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::subprocess::{Command, Stdio};
    /// let _cmd = Command::new("ls").stdout(Stdio::null());
    /// ```
    pub fn stdout(&mut self, s: impl Into<Stdio>) -> &mut Command {
        self.stdio[1] = Some(s.into());
        self
    }

    /// The child's stderr (default: as for [`stdout`](Self::stdout)).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::subprocess::{Command, Stdio};
    /// let _cmd = Command::new("ls").stderr(Stdio::inherit());
    /// ```
    pub fn stderr(&mut self, s: impl Into<Stdio>) -> &mut Command {
        self.stdio[2] = Some(s.into());
        self
    }

    /// Whether dropping the [`Child`] unwaited kills it (`SIGKILL`). Either way a dropped child is
    /// reaped in the background once it ends, never left a zombie.
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("sleep").arg("60").kill_on_drop(true);
    /// ```
    pub fn kill_on_drop(&mut self, yes: bool) -> &mut Command {
        self.kill_on_drop = yes;
        self
    }

    /// Whether the child is killed (`SIGKILL`) when this process dies, however it dies (Linux and
    /// Android: `PR_SET_PDEATHSIG`, armed in the child before the `exec`; a parent that died before
    /// that is noticed there and the child never runs the program).
    ///
    /// The kernel ties this to the *thread* that spawned the child: the loop's thread. A child
    /// spawned from a loop thread that ends before the program does is killed then too. Asking for
    /// it makes the spawn a `fork` + `exec` instead of `posix_spawn`. Once a child of this
    /// `Command` was spawned with it, turning it off again may not take (the hook stays on std's
    /// `Command`): use a new `Command`. Elsewhere the spawn fails with [`SpawnError::Io`] of kind
    /// `Unsupported`.
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("sleep").arg("60").die_with_parent(true);
    /// ```
    pub fn die_with_parent(&mut self, yes: bool) -> &mut Command {
        self.die_with_parent = yes;
        self
    }

    /// Puts the child in process group `pgid`; `0` makes it the leader of a new group with its
    /// own pid as the id, which [`Child::kill_process_group`] then kills as a whole (a timeout can
    /// stop a shell script and everything it started).
    ///
    /// # Examples
    ///
    /// ```
    /// let _cmd = tulip::subprocess::Command::new("sh").process_group(0);
    /// ```
    pub fn process_group(&mut self, pgid: i32) -> &mut Command {
        self.pgroup = Some(pgid);
        self.inner.process_group(pgid);
        self
    }

    /// Starts the child on the loop running on this thread.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] says why no child was started: no such program, a directory, a file that is
    /// not executable, a bad working directory, a NUL byte, no running loop, or an OS failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::subprocess::Command;
    /// tulip::run(async {
    ///     let mut child = Command::new("sleep").arg("0").spawn().unwrap();
    ///     assert!(child.id() > 0);
    ///     assert!(child.wait().await.unwrap().success());
    /// });
    /// ```
    pub fn spawn(&mut self) -> Result<Child, SpawnError> {
        self.spawn_with([Stdio::inherit, Stdio::inherit, Stdio::inherit])
    }

    fn spawn_with(&mut self, defaults: [fn() -> Stdio; 3]) -> Result<Child, SpawnError> {
        let started = match self.plan(defaults)? {
            Plan::Posix(args) => args.here().map_err(|e| self.classify(&e))?,
            Plan::Std(streams) => self.std_spawn(streams)?,
        };
        self.adopt(started)
    }

    /// [`spawn_with`](Self::spawn_with), with a `posix_spawn` made on the spawn lane (see `lane`):
    /// what [`status`](Self::status) and [`output`](Self::output) start their child with.
    async fn start_with(&mut self, defaults: [fn() -> Stdio; 3]) -> Result<Child, SpawnError> {
        let started = match self.plan(defaults)? {
            Plan::Posix(args) => lane::posix_spawn(args).await.map_err(|e| self.classify(&e))?,
            Plan::Std(streams) => self.std_spawn(streams)?,
        };
        self.adopt(started)
    }

    /// Checks what can be refused before a spawn, and decides how to make it.
    fn plan(&mut self, defaults: [fn() -> Stdio; 3]) -> Result<Plan, SpawnError> {
        if let Some(what) = &self.nul {
            return Err(SpawnError::Nul { what: what.clone() });
        }
        if crate::reactor::try_get_running_loop().is_none() {
            return Err(SpawnError::NoLoop);
        }
        let [i, o, e] = &mut self.stdio;
        let streams = [
            Stdio::for_spawn(i, defaults[0]),
            Stdio::for_spawn(o, defaults[1]),
            Stdio::for_spawn(e, defaults[2]),
        ];
        if !self.posix_spawn_will_do() {
            return Ok(Plan::Std(streams));
        }
        let argv = std::iter::once(self.inner.get_program()).chain(self.inner.get_args());
        Ok(Plan::Posix(SpawnArgs {
            argv: argv.map(OsStr::to_os_string).collect(),
            env: self.environment(),
            pgroup: self.pgroup,
            streams,
            kill_on_drop: self.kill_on_drop,
        }))
    }

    /// Puts a child just started on the loop.
    fn adopt(&self, (pid, ends): spawn::Started) -> Result<Child, SpawnError> {
        Child::adopt(pid, ends, self.kill_on_drop).map_err(|e| SpawnError::io(&e))
    }

    /// Whether `posix_spawn` can do all this command asks for (see `spawn`): not the
    /// parent-death signal, a working directory or a changed `PATH`, which std's `fork` path does.
    fn posix_spawn_will_do(&self) -> bool {
        let path_changed = self.env_cleared || self.inner.get_envs().any(|(k, _)| k == "PATH");
        !self.die_with_parent && self.cwd.is_none() && !path_changed && spawn::available()
    }

    /// The child's environment: this process's, with the changes asked for; `None` when nothing
    /// changes, and the child gets this process's own (copying it costs more than the rest of a
    /// spawn in the parent, which a fan-out of short children pays at each one).
    fn environment(&self) -> Option<Vec<std::ffi::CString>> {
        if !self.env_cleared && self.inner.get_envs().next().is_none() {
            return None;
        }
        let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        for (key, val) in self.inner.get_envs() {
            vars.retain(|(k, _)| k != key);
            if let Some(v) = val {
                vars.push((key.to_os_string(), v.to_os_string()));
            }
        }
        // NUL bytes were refused at spawn (`nul`), so each entry converts.
        let entries = vars
            .into_iter()
            .filter_map(|(k, v)| std::ffi::CString::new([k.as_bytes(), b"=", v.as_bytes()].concat()).ok());
        Some(entries.collect())
    }

    /// Starts the child with std's `Command` (`fork` + `exec`, hooks in the child).
    fn std_spawn(&mut self, streams: [Stream; 3]) -> Result<spawn::Started, SpawnError> {
        let [i, o, e] = streams;
        self.inner.stdin(i).stdout(o).stderr(e);
        if self.die_with_parent && !self.pdeathsig_hook {
            die_with_parent(&mut self.inner)?;
            self.pdeathsig_hook = true;
        }
        let mut child = self.inner.spawn().map_err(|e| self.classify(&e))?;
        let ends = [
            child.stdin.take().map(OwnedFd::from),
            child.stdout.take().map(OwnedFd::from),
            child.stderr.take().map(OwnedFd::from),
        ];
        Ok((child.id() as libc::pid_t, ends))
    }

    /// Runs the program to its end and collects its stdout and stderr (pipes unless set
    /// otherwise; stdin is `/dev/null` unless set). Both pipes are read at once, so a child that
    /// fills one while the other is being read cannot deadlock. The child is started off the loop
    /// thread where it can be (see the [module docs](super#implementation)); dropped before it is
    /// started, the future still has the child reaped (and killed first under `kill_on_drop`).
    ///
    /// # Errors
    ///
    /// The [`SpawnError`] of the spawn (inside the `io::Error`: `get_ref` and `downcast_ref` reach
    /// it), or the failure of reading or waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::subprocess::Command;
    /// tulip::run(async {
    ///     let out = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]).output().await.unwrap();
    ///     assert_eq!(out.status.code(), Some(3));
    ///     assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    /// });
    /// ```
    pub async fn output(&mut self) -> io::Result<Output> {
        let child = self.start_with([Stdio::null, Stdio::piped, Stdio::piped]).await?;
        child.wait_with_output().await
    }

    /// Runs the program to its end and returns its exit status (streams inherited unless set).
    /// Started as [`output`](Self::output) starts it: off the loop thread where it can be.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip::subprocess::Command;
    /// tulip::run(async {
    ///     assert_eq!(Command::new("false").status().await.unwrap().code(), Some(1));
    /// });
    /// ```
    pub async fn status(&mut self) -> io::Result<std::process::ExitStatus> {
        self.start_with([Stdio::inherit, Stdio::inherit, Stdio::inherit]).await?.wait().await
    }

    /// Tells apart the failures a user can cause.
    fn classify(&self, e: &io::Error) -> SpawnError {
        let program = self.program.to_string_lossy().into_owned();
        if let Some(dir) = &self.cwd {
            if !dir.is_dir() {
                return SpawnError::BadCurrentDir { dir: dir.to_string_lossy().into_owned() };
            }
        }
        match e.kind() {
            io::ErrorKind::NotFound => SpawnError::NotFound { program },
            io::ErrorKind::PermissionDenied if resolve(&self.program).is_some_and(|p| p.is_dir()) => {
                SpawnError::IsADirectory { program }
            }
            io::ErrorKind::PermissionDenied => SpawnError::NotExecutable { program },
            _ if e.raw_os_error() == Some(libc::ENOEXEC) => SpawnError::NotExecutable { program },
            _ => SpawnError::io(e),
        }
    }
}

/// Where `program` would be found: itself if it has a `/`, else the first `PATH` entry holding it.
fn resolve(program: &OsStr) -> Option<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.exists())
}

/// Makes the child inherit its three standard streams and nothing else: just before the `exec`,
/// every descriptor from 3 up is marked close-on-exec, including those the program opened without
/// `O_CLOEXEC` (C libraries do). Marked, not closed: std learns of a failed `exec` through a
/// close-on-exec pipe of its own, which must stay open until then.
fn only_standard_streams(cmd: &mut std::process::Command) {
    // SAFETY: the hook makes only async-signal-safe calls (close_range, getrlimit, fcntl) and
    // allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            crate::process_pool::spawn::cloexec_from(3);
            Ok(())
        })
    };
}

/// Arms `PR_SET_PDEATHSIG` in the child, and closes the race with a parent that died before it
/// was armed (the child would then never get the signal): the child compares `getppid()` with the
/// pid its parent had at spawn.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn die_with_parent(cmd: &mut std::process::Command) -> Result<(), SpawnError> {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the hook makes only async-signal-safe calls (prctl, getppid) and allocates nothing
    // on success; the error path builds an `io::Error` from a raw code (no allocation).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    };
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn die_with_parent(_cmd: &mut std::process::Command) -> Result<(), SpawnError> {
    Err(SpawnError::Io {
        kind: io::ErrorKind::Unsupported,
        message: "die_with_parent needs Linux's PR_SET_PDEATHSIG".into(),
    })
}
