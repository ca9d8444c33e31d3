//! Where a pool's workers run: [`Launcher`], and starting one worker through it.
//!
//! A local worker is this program re-executed with pipes (see [`spawn`](super::spawn)). A remote
//! worker is a local *launcher* process (`ssh`, or any command that gives a process's stdin and
//! stdout, such as `srun`, `kubectl exec -i` or `docker exec -i`) whose stdin and stdout carry the
//! pool's frames: nothing listens on this machine, so no connection back through a firewall is
//! needed. On the other side the launcher runs the same program in nanny mode (see
//! [`nanny`](super::nanny)), which proves it is byte-identical (its SHA-256 against the one the
//! pool sends) and starts the real worker next to it on the link itself (the worker reads the
//! pool's frames from it and writes its own onto it; its stdout goes to stderr). The worker ends
//! when the link's input ends, and the nanny kills what it left, so a lost link leaves nothing
//! running.
//!
//! The pool's side of a remote link is the launcher process: ending it (a shutdown, a silent
//! link, a handshake timeout; `SIGTERM` first, so that `srun` ends its step) closes the link, and
//! the worker on the other side ends. A task's timeout or cancel is a `Kill` frame over the link
//! instead (see the driver's `remote` module): the link stays and carries the next worker.
//!
//! An ssh launcher prepares its hosts at once; a host where that fails is unusable from the start,
//! and the pool starts on the others (see the driver's `hosts` module).

// On Windows only local workers run (remote launchers are refused in `prepare`): the remote
// half is compiled out, and what only it uses is unused there.
#![cfg_attr(windows, allow(dead_code, unused_imports))]
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
#[cfg(unix)]
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::child::Child;
use super::spawn::{self, Spawned};
use crate::error::BuildError;

/// The environment variable that turns the program into a nanny: `<version>:<pid>:<token
/// hex>:<sha-256 hex>` (the worker's marker value, then the hash the program must have).
pub(crate) const NANNY_ENV: &str = "TULIP_PROCESS_NANNY";

/// Where a [`ProcessPool`](crate::ProcessPool) starts its workers.
///
/// The default, [`Launcher::local`], runs them on this machine. [`Launcher::ssh`] runs them on
/// other hosts through the system `ssh` (your keys, `~/.ssh/config`, `ProxyJump` and
/// `ControlMaster` apply), and [`Launcher::command`] through any command that connects a remote
/// process's stdin and stdout (`srun -n1`, `kubectl exec -i POD --`, `docker exec -i NAME`).
/// Remote hosts must run the same architecture; the pool proves they run the same binary.
///
/// # Examples
///
/// ```
/// use tulip::process::Launcher;
///
/// let here = Launcher::local();
/// let there = Launcher::ssh("node1").host("node2").port(2222).ssh_arg("-oConnectTimeout=5");
/// assert!(here.is_local() && !there.is_local());
/// ```
#[derive(Debug, Clone)]
pub struct Launcher {
    kind: Kind,
    /// Where the program lives on the other side; `None`: uploaded to `~/.cache/tulip/<sha-256>`
    /// (ssh) or the same path as here (command).
    remote_path: Option<PathBuf>,
    /// Most workers at once on one host; `None`: no cap (see [`workers_per_host`](Launcher::workers_per_host)).
    per_host: Option<usize>,
    /// How often a remote worker's nanny sends a heartbeat (see [`heartbeat`](Launcher::heartbeat)).
    beat: Duration,
    /// How long a host set aside waits before it is tried again (see [`cool_off`](Launcher::cool_off)).
    cool_off: Duration,
}

/// The default heartbeat interval of remote workers.
const DEFAULT_BEAT: Duration = Duration::from_secs(5);

/// The default cool-off of a host set aside.
const DEFAULT_COOL_OFF: Duration = Duration::from_secs(30);

impl Default for Launcher {
    fn default() -> Launcher {
        Launcher::with_kind(Kind::Local)
    }
}

/// Heartbeat intervals a remote worker may miss before the pool takes it for dead.
const BEATS_MISSED: u32 = 3;

#[derive(Debug, Clone, Default)]
enum Kind {
    #[default]
    Local,
    Ssh(Ssh),
    Command(Vec<String>),
}

#[derive(Debug, Clone)]
struct Ssh {
    /// At least one; each new worker goes to the one with the fewest.
    hosts: Vec<String>,
    port: Option<u16>,
    identity: Option<PathBuf>,
    args: Vec<String>,
}

impl Launcher {
    /// Workers on this machine (the default).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip::process::Launcher::local().is_local());
    /// ```
    pub fn local() -> Launcher {
        Launcher::default()
    }

    /// Workers on `host` (anything `ssh` accepts: a name from `~/.ssh/config`, `user@host`), started
    /// with the system `ssh` in batch mode. Add hosts with [`host`](Launcher::host).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = tulip::process::Launcher::ssh("user@node1");
    /// assert!(!l.is_local());
    /// ```
    pub fn ssh(host: impl Into<String>) -> Launcher {
        let ssh = Ssh { hosts: vec![host.into()], port: None, identity: None, args: Vec::new() };
        Launcher::with_kind(Kind::Ssh(ssh))
    }

    /// Workers started by `argv` with the worker's command appended (no shell in between): the
    /// command must connect that process's stdin and stdout to its own, like `srun -n1`,
    /// `kubectl exec -i POD --` or `docker exec -i NAME`.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = tulip::process::Launcher::command(["srun", "-n1", "--quiet"]);
    /// assert!(!l.is_local());
    /// ```
    pub fn command<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Launcher {
        Launcher::with_kind(Kind::Command(argv.into_iter().map(Into::into).collect()))
    }

    /// A launcher of `kind` with every option at its default.
    fn with_kind(kind: Kind) -> Launcher {
        Launcher { kind, remote_path: None, per_host: None, beat: DEFAULT_BEAT, cool_off: DEFAULT_COOL_OFF }
    }

    /// Workers started as Slurm job steps, one `srun -n1 --unbuffered` per worker (inside an allocation, or
    /// with `extra` options such as `-p PARTITION`). The program must be on a filesystem the
    /// nodes share (its path here, unless [`remote_path`](Launcher::remote_path) says otherwise).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = tulip::process::Launcher::srun(["--partition=debug"]);
    /// assert!(!l.is_local());
    /// ```
    pub fn srun<S: Into<String>>(extra: impl IntoIterator<Item = S>) -> Launcher {
        let mut argv = vec!["srun".to_string(), "-n1".into(), "--quiet".into(), "--unbuffered".into()];
        argv.extend(extra.into_iter().map(Into::into));
        Launcher::command(argv)
    }

    /// Adds a host to an ssh launcher (no effect on the others).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = tulip::process::Launcher::ssh("node1").host("node2");
    /// assert!(format!("{l:?}").contains("node2"));
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Launcher {
        if let Kind::Ssh(s) = &mut self.kind {
            s.hosts.push(host.into());
        }
        self
    }

    /// The ssh port (`ssh -p`; no effect on other launchers).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = tulip::process::Launcher::ssh("node1").port(2222);
    /// assert!(format!("{l:?}").contains("2222"));
    /// ```
    pub fn port(mut self, port: u16) -> Launcher {
        if let Kind::Ssh(s) = &mut self.kind {
            s.port = Some(port);
        }
        self
    }

    /// The ssh identity file (`ssh -i`; no effect on other launchers).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = tulip::process::Launcher::ssh("node1").identity("/home/me/.ssh/id_cluster");
    /// assert!(format!("{l:?}").contains("id_cluster"));
    /// ```
    pub fn identity(mut self, path: impl Into<PathBuf>) -> Launcher {
        if let Kind::Ssh(s) = &mut self.kind {
            s.identity = Some(path.into());
        }
        self
    }

    /// One more argument for `ssh`, before the host (`-F FILE`, `-oProxyJump=gw`; no effect on
    /// other launchers).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = tulip::process::Launcher::ssh("node1").ssh_arg("-F").ssh_arg("/etc/ssh/cluster_config");
    /// assert!(format!("{l:?}").contains("cluster_config"));
    /// ```
    pub fn ssh_arg(mut self, arg: impl Into<String>) -> Launcher {
        if let Kind::Ssh(s) = &mut self.kind {
            s.args.push(arg.into());
        }
        self
    }

    /// Where this very program is found on the other side (a shared filesystem). Without it an
    /// ssh launcher uploads the program to `~/.cache/tulip/<sha-256>` once (later pools reuse
    /// it), and a command launcher uses the program's path here.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = tulip::process::Launcher::ssh("node1").remote_path("/shared/bin/app");
    /// assert!(format!("{l:?}").contains("/shared/bin/app"));
    /// ```
    pub fn remote_path(mut self, path: impl Into<PathBuf>) -> Launcher {
        self.remote_path = Some(path.into());
        self
    }

    /// At most `n` workers at once on each host of this launcher (on the one target of a command
    /// or srun launcher); the pool's `max_workers` still bounds the total. Default: no cap, workers
    /// spread evenly over the hosts.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = tulip::process::Launcher::ssh("node1").host("node2").workers_per_host(4);
    /// assert!(format!("{l:?}").contains("per_host: Some(4)"));
    /// ```
    pub fn workers_per_host(mut self, n: usize) -> Launcher {
        self.per_host = Some(n.max(1));
        self
    }

    /// Most workers one host holds at once (`usize::MAX`: no cap).
    pub(crate) fn per_host_cap(&self) -> usize {
        self.per_host.unwrap_or(usize::MAX)
    }

    /// How often the nanny of each remote worker sends a heartbeat over its link (default 5 s; one
    /// tiny frame, no polling). A remote worker whose link carries nothing for three intervals
    /// (a host that hangs, a stopped nanny, a link that stalls with its connection open) is taken
    /// for dead: its running task fails with `WorkerDied` naming the host, and the pool replaces it.
    /// No effect on local workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let l = tulip::process::Launcher::ssh("node1").heartbeat(Duration::from_secs(1));
    /// assert!(format!("{l:?}").contains("1s"));
    /// ```
    pub fn heartbeat(mut self, interval: Duration) -> Launcher {
        self.beat = interval.max(Duration::from_millis(1));
        self
    }

    /// How long a host set aside waits before the pool tries it again (default 30 s). A host is set
    /// aside after three launches in a row failed there (or at once while `build` waits and other
    /// hosts remain); once the cool-off is over, the next worker the pool starts may go there, and
    /// one more failure sets it aside again for twice as long (up to 16 times this). A worker that
    /// passes its handshake there resets it. Meanwhile tasks that can run on no host fail with
    /// [`JobError::Spawn`](crate::JobError::Spawn) naming each host, why, and when it is tried again.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let l = tulip::process::Launcher::ssh("node1").host("node2").cool_off(Duration::from_secs(60));
    /// assert!(format!("{l:?}").contains("60s"));
    /// ```
    pub fn cool_off(mut self, time: Duration) -> Launcher {
        self.cool_off = time;
        self
    }

    /// How long a host set aside waits before it is tried again.
    pub(crate) fn cool_off_time(&self) -> Duration {
        self.cool_off
    }

    /// Whether workers run on this machine.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip::process::Launcher::default().is_local());
    /// ```
    pub fn is_local(&self) -> bool {
        matches!(self.kind, Kind::Local)
    }

    /// The targets workers are started at, ready to use: for ssh, the program is on every host
    /// (uploaded if needed). Called once by `build`.
    pub(crate) fn prepare(&self) -> Result<Vec<Target>, BuildError> {
        let local_path = || {
            spawn::exe_path().map_err(|e| BuildError::Spawn(format!("cannot find this program's file: {e}")))
        };
        #[cfg(windows)]
        if !matches!(self.kind, Kind::Local) {
            return Err(BuildError::InvalidConfig(
                "remote launchers need a Unix host (on Windows workers run locally)".into(),
            ));
        }
        match &self.kind {
            Kind::Local => Ok(vec![Target::Local]),
            Kind::Command(argv) => {
                if argv.is_empty() {
                    return Err(BuildError::InvalidConfig("Launcher::command needs a program".into()));
                }
                let path = match &self.remote_path {
                    Some(p) => p.clone(),
                    None => local_path()?,
                };
                let hash = program_hash()?;
                let label: Arc<str> = argv.join(" ").into();
                Ok(vec![Target::Remote(Arc::new(Remote {
                    argv: argv.clone(),
                    path,
                    shell: false,
                    hash,
                    label,
                    unusable: None,
                    beat: self.beat,
                }))])
            }
            Kind::Ssh(ssh) => {
                let hash = program_hash()?;
                // Each host at once: an unreachable one costs its ssh timeout, not the sum of them.
                let targets: Vec<Target> = std::thread::scope(|scope| {
                    let each: Vec<_> =
                        ssh.hosts.iter().map(|h| scope.spawn(|| self.prepare_ssh(ssh, h, &hash))).collect();
                    each.into_iter().map(|t| t.join()).collect::<Result<_, _>>()
                })
                .map_err(|_| BuildError::Spawn("preparing a host panicked".into()))?;
                if targets.iter().all(|t| t.unusable().is_some()) {
                    let why: Vec<String> =
                        targets.iter().map(|t| t.unusable().unwrap_or_default().to_string()).collect();
                    return Err(BuildError::Spawn(why.join("; ")));
                }
                Ok(targets)
            }
        }
    }

    /// The target for `host`, with the program put there (uploaded if needed); a host where that
    /// failed is unusable (the pool starts on the others).
    fn prepare_ssh(&self, ssh: &Ssh, host: &str, hash: &str) -> Target {
        let argv = ssh_argv(ssh, host);
        let (path, unusable) = match &self.remote_path {
            Some(p) => (p.clone(), None),
            None => match upload(&argv, host, hash) {
                Ok(path) => (path, None),
                Err(why) => (PathBuf::new(), Some(why)),
            },
        };
        let (hash, label) = (hash.to_string(), host.into());
        let beat = self.beat;
        Target::Remote(Arc::new(Remote { argv, path, shell: true, hash, label, unusable, beat }))
    }
}

/// The `ssh` command line that runs a command on `host`, before the command.
fn ssh_argv(ssh: &Ssh, host: &str) -> Vec<String> {
    let mut argv = vec!["ssh".to_string(), "-T".into(), "-oBatchMode=yes".into()];
    if let Some(p) = ssh.port {
        argv.extend(["-p".to_string(), p.to_string()]);
    }
    if let Some(i) = &ssh.identity {
        argv.extend(["-i".to_string(), i.display().to_string()]);
    }
    argv.extend(ssh.args.iter().cloned());
    argv.extend(["--".to_string(), host.to_string()]);
    argv
}

impl fmt::Display for Launcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Local => write!(f, "local"),
            Kind::Ssh(s) => write!(f, "ssh {}", s.hosts.join(", ")),
            Kind::Command(argv) => write!(f, "command `{}`", argv.join(" ")),
        }
    }
}

/// Where one worker is started.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Local,
    Remote(Arc<Remote>),
}

/// A launcher command that starts a nanny on the other side.
#[derive(Debug)]
pub(crate) struct Remote {
    /// The launcher's command, before the worker's.
    argv: Vec<String>,
    /// The program on the other side.
    path: PathBuf,
    /// The worker's command goes through a remote shell (ssh), so it is quoted and may use `$HOME`.
    shell: bool,
    /// SHA-256 of this program, hex: what the nanny must prove.
    hash: String,
    /// The host (or command) named in errors and in front of the worker's stderr.
    pub(crate) label: Arc<str>,
    /// Why `build` could not put the program there: no worker is started there.
    unusable: Option<String>,
    /// How often the nanny sends a heartbeat.
    beat: Duration,
}

impl Target {
    /// The host (or launcher command) workers started here are named by.
    pub(crate) fn label(&self) -> &str {
        match self {
            Target::Local => "local",
            Target::Remote(r) => &r.label,
        }
    }

    /// How long a worker here may stay silent before it is taken for dead; `None`: local.
    pub(crate) fn silence_limit(&self) -> Option<Duration> {
        match self {
            Target::Local => None,
            Target::Remote(r) => Some(r.beat * BEATS_MISSED),
        }
    }

    /// Why no worker can be started here, if `build` found out.
    pub(crate) fn unusable(&self) -> Option<&str> {
        match self {
            Target::Local => None,
            Target::Remote(r) => r.unusable.as_deref(),
        }
    }
}

/// Starts one worker at `target`; `env_value` is the worker marker's value without its flags.
pub(crate) fn start(target: &Target, env_value: &str) -> io::Result<Spawned> {
    match target {
        Target::Local => spawn::spawn_worker(env_value),
        #[cfg(unix)]
        Target::Remote(r) => start_remote(r, env_value),
        #[cfg(windows)]
        Target::Remote(_) => {
            Err(io::Error::new(io::ErrorKind::Unsupported, "remote launchers need a Unix host"))
        }
    }
}

#[cfg(unix)]
fn start_remote(r: &Remote, env_value: &str) -> io::Result<Spawned> {
    let nanny = format!("{env_value}:{}:{}", r.hash, r.beat.as_millis().max(1));
    let mut cmd = Command::new(&r.argv[0]);
    cmd.args(&r.argv[1..]);
    if r.shell {
        let path = shell_path(&r.path);
        cmd.arg(format!("exec env {NANNY_ENV}={nanny} {path}"));
    } else {
        cmd.arg("env").arg(format!("{NANNY_ENV}={nanny}")).arg(&r.path);
    }
    spawn_with_pipes(cmd, r.label.clone())
}

/// The remote shell's word for `path`: quoted, with a leading `~/` as `"$HOME"/`.
#[cfg(unix)]
fn shell_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    match s.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None => quote(&s),
    }
}

/// Single-quotes `s` for a POSIX shell.
#[cfg(unix)]
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `cmd` with the pool's socket as its stdin and a pipe as its stdout, in a process group of
/// its own; its stderr is relayed line by line, prefixed with `label`.
#[cfg(unix)]
fn spawn_with_pipes(mut cmd: Command, label: Arc<str>) -> io::Result<Spawned> {
    let (down_r, down_w) = super::channel::socket_pair()?;
    let to_worker = super::channel::WorkerInput::new(down_w)?;
    let (up_r, up_w) = super::channel::pipe()?;
    cmd.stdin(Stdio::from(down_r)).stdout(Stdio::from(up_w)).stderr(Stdio::piped()).process_group(0);
    cmd.env_remove(spawn::ENV).env_remove(NANNY_ENV);
    let mut std_child = cmd.spawn()?;
    let child = Child::new(std_child.id() as libc::pid_t);
    if let Some(err) = std_child.stderr.take() {
        let label = label.clone();
        let relay = move || relay_stderr(err, &label);
        if let Err(e) = std::thread::Builder::new().name("tulip-remote-stderr".into()).spawn(relay) {
            child.kill_and_reap();
            return Err(e);
        }
    }
    let ready = spawn::set_nonblocking(&to_worker).and_then(|()| spawn::set_nonblocking(&up_r));
    if let Err(e) = ready {
        child.kill_and_reap();
        return Err(e);
    }
    let from_worker = std::fs::File::from(up_r);
    Ok(Spawned { child, to_worker, from_worker, page: None, host: Some(label) })
}

/// Copies a remote worker's stderr to ours, each line prefixed with its host.
#[cfg(unix)]
fn relay_stderr(err: impl Read, label: &str) {
    for line in BufReader::new(err).split(b'\n') {
        let Ok(line) = line else { return };
        eprintln!("[{label}] {}", String::from_utf8_lossy(&line));
    }
}

/// SHA-256 of this program's file, hex (computed once).
pub(crate) fn program_hash() -> Result<String, BuildError> {
    static HASH: OnceLock<Result<String, String>> = OnceLock::new();
    let r = HASH.get_or_init(|| {
        let path = spawn::program().map_err(|e| e.to_string())?;
        file_hash(&path).map_err(|e| format!("cannot read this program's file to hash it: {e}"))
    });
    r.clone().map_err(BuildError::Spawn)
}

/// SHA-256 of the file at `path`, hex.
pub(crate) fn file_hash(path: &Path) -> io::Result<String> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(super::wire::hex(&hasher.finalize()))
}

/// Makes sure `~/.cache/tulip/<hash>` exists on `host` (uploading this program under a temporary
/// name, then renaming it, if not); returns that path.
fn upload(ssh: &[String], host: &str, hash: &str) -> Result<PathBuf, String> {
    let failed = |why: String| format!("could not put the program on {host}: {why}");
    let script = format!(
        "mkdir -p \"$HOME/.cache/tulip\" && cd \"$HOME/.cache/tulip\" && if [ -x {hash} ]; then \
         echo tulip-have; else cat > {hash}.tmp.$$ && chmod 755 {hash}.tmp.$$ && mv -f {hash}.tmp.$$ \
         {hash} && echo tulip-sent; fi"
    );
    // Data is sent only if the file is missing; `cat` reads it then, and ssh discards the rest.
    let program = spawn::program().map_err(|e| failed(e.to_string()))?;
    let file = std::fs::File::open(program).map_err(|e| failed(e.to_string()))?;
    let out = Command::new(&ssh[0])
        .args(&ssh[1..])
        .arg(script)
        .stdin(Stdio::from(file))
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| failed(format!("`ssh` did not start: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !(stdout.contains("tulip-have") || stdout.contains("tulip-sent")) {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(failed(format!("ssh {}: {}", out.status, why.trim())));
    }
    Ok(PathBuf::from(format!("~/.cache/tulip/{hash}")))
}
