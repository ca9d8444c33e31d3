#[path = "../support/process_harness.rs"]
mod harness;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};

use harness::Case;
use tulip::{BuildError, ProcessPool};

const FAKE: &str = "TULIP_TEST_FAKE_WORKER";
const WORKER_ENV: &str = "TULIP_PROCESS_WORKER";

// Frame kinds and sizes, as in src/process_pool/wire.rs.
const KIND_HELLO: u8 = 0x01;
/// The frame protocol's version (`wire::PROTOCOL_VERSION`), the first field of the worker marker.
const PROTOCOL: u32 = 3;
const KIND_TASK: u8 = 0x02;
const KIND_READY: u8 = 0x81;
const KIND_REFUSED: u8 = 0x82;
const KIND_RESULT: u8 = 0x83;
const HELLO_LEN: usize = 1 + 16 + (4 + 8 * 5) + 4 + 8;
/// Exit status of a worker that failed the handshake (src/process_pool/worker.rs).
const EXIT_HANDSHAKE: i32 = 121;

fn main() {
    // A hostile worker: the pool started this program with the fake role set.
    if let (Some(mode), Some(env)) = (std::env::var_os(FAKE), std::env::var_os(WORKER_ENV)) {
        return fake_worker(mode.to_str().unwrap_or(""), env.to_str().unwrap_or(""));
    }
    tulip::process::init();
    harness::run(&[
        Case { name: "workers_start_without_a_shell", run: workers_start_without_a_shell },
        Case { name: "workers_get_no_stray_descriptors", run: workers_get_no_stray_descriptors },
        Case { name: "pool_refuses_a_reply_without_its_token", run: pool_refuses_a_reply_without_its_token },
        Case {
            name: "worker_refuses_a_pool_without_its_token",
            run: worker_refuses_a_pool_without_its_token,
        },
        Case {
            name: "worker_runs_nothing_before_the_handshake",
            run: worker_runs_nothing_before_the_handshake,
        },
        Case { name: "worker_refuses_an_oversize_frame", run: worker_refuses_an_oversize_frame },
        Case {
            name: "pool_refuses_an_oversize_frame_unallocated",
            run: pool_refuses_an_oversize_frame_unallocated,
        },
        Case { name: "worker_cannot_settle_another_task", run: worker_cannot_settle_another_task },
    ]);
}

// ----- frames -----------------------------------------------------------------------------------

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_le_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

fn read_frame(r: &mut impl Read) -> Option<Vec<u8>> {
    let mut len = [0; 4];
    r.read_exact(&mut len).ok()?;
    let mut body = vec![0; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

fn ready(token: &[u8; 16], pid: u32) -> Vec<u8> {
    let mut b = vec![KIND_READY];
    b.extend_from_slice(token);
    b.extend_from_slice(&pid.to_le_bytes());
    frame(&b)
}

fn hello(token: &[u8; 16]) -> Vec<u8> {
    let mut b = vec![KIND_HELLO];
    b.extend_from_slice(token);
    b.resize(HELLO_LEN - 4 - 8, 0); // a fingerprint that matches nothing
    b.extend_from_slice(&(1u32 << 20).to_le_bytes());
    b.extend_from_slice(&0i64.to_le_bytes()); // no initializer
    frame(&b)
}

fn task(id: u64) -> Vec<u8> {
    let mut b = vec![KIND_TASK];
    b.extend_from_slice(&id.to_le_bytes());
    b.extend_from_slice(&0i64.to_le_bytes()); // "the base symbol": code, if it were ever called
    b.extend_from_slice(&0i64.to_le_bytes());
    frame(&b)
}

/// The token in a worker's environment value `version:ppid:hex:flags`.
fn token_of(env: &str) -> [u8; 16] {
    let hex = env.split(':').nth(2).unwrap_or("");
    let mut t = [0; 16];
    for (i, b) in t.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
    }
    t
}

// ----- the hostile worker -----------------------------------------------------------------------

fn fake_worker(mode: &str, env: &str) {
    // SAFETY: the pool placed its pipes on fds 3 and 4 of this process; nothing else owns them.
    let (mut input, mut output) = unsafe { (File::from_raw_fd(3), File::from_raw_fd(4)) };
    let mut token = token_of(env);
    let Some(_hello) = read_frame(&mut input) else { return };
    if mode == "wrong-token" {
        token[0] ^= 0xff;
    }
    let _ = output.write_all(&ready(&token, std::process::id()));
    if let Some(t) = read_frame(&mut input) {
        let id = u64::from_le_bytes(t[1..9].try_into().unwrap_or([0; 8]));
        match mode {
            // A length prefix announcing nearly 4 GiB, and nothing behind it.
            "oversize" => {
                let _ = output.write_all(&0xFFFF_FF00u32.to_le_bytes());
            }
            // A well-formed result, for a task this worker was not given.
            "foreign-result" => {
                let mut b = vec![KIND_RESULT];
                b.extend_from_slice(&(id + 1000).to_le_bytes());
                b.extend_from_slice(&0u64.to_le_bytes());
                b.push(0); // a value...
                b.push(99); // ...the postcard encoding of 99u8
                let _ = output.write_all(&frame(&b));
            }
            _ => {}
        }
    }
    // Wait to be killed, or for the pool to close the pipe.
    let mut sink = [0; 4096];
    while matches!(input.read(&mut sink), Ok(n) if n > 0) {}
}

// ----- real workers -----------------------------------------------------------------------------

/// What a worker can see of how it was started.
fn whoami(_: ()) -> (u32, (u64, u64), Vec<String>, String) {
    let exe = std::fs::metadata("/proc/self/exe").unwrap();
    let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
    let args =
        cmdline.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned());
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap().trim().to_string();
    // SAFETY: getppid has no preconditions.
    (unsafe { libc::getppid() } as u32, (exe.dev(), exe.ino()), args.collect(), comm)
}

fn workers_start_without_a_shell() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let (ppid, exe, args, comm) = pool.submit(whoami, ()).unwrap().wait().unwrap();
    let (_, my_exe, my_args, _) = whoami(());
    assert_eq!(ppid, std::process::id(), "the worker's parent is this process, not a shell");
    assert_eq!(exe, my_exe, "the worker runs this very executable");
    assert_eq!(args, my_args[..1], "argv[0] only, no shell command line");
    // The kernel names the process after the path it executed (`/proc/self/exe`): "exe".
    assert!(!["sh", "bash", "dash", "zsh"].contains(&comm.as_str()), "{comm}");
}

/// `(fd, target)` of every open descriptor.
fn list_fds(_: ()) -> Vec<(i32, String)> {
    let mut v: Vec<(i32, String)> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let fd = e.file_name().to_str()?.parse().ok()?;
            Some((fd, std::fs::read_link(e.path()).ok()?.to_string_lossy().into_owned()))
        })
        .collect();
    v.sort();
    v
}

fn workers_get_no_stray_descriptors() {
    // A listening socket and a high-numbered descriptor, both without close-on-exec.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: descriptor calls on descriptors we own; both strays are closed at the end.
    let strays = unsafe {
        let sock = libc::dup(std::os::fd::AsRawFd::as_raw_fd(&listener));
        let high = libc::dup2(2, 1000);
        [sock, high]
    };
    assert!(strays.iter().all(|fd| *fd > 2));
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let fds = pool.submit(list_fds, ()).unwrap().wait().unwrap();
    let numbers: Vec<i32> = fds.iter().map(|(fd, _)| *fd).collect();
    // 0-2 stdio, 3-4 the pool's sockets, and the listing's own descriptor.
    assert_eq!(&numbers[..5], &[0, 1, 2, 3, 4], "{fds:?}");
    assert_eq!(numbers.len(), 6, "{fds:?}");
    assert!(fds.iter().filter(|(fd, _)| *fd > 4).all(|(_, t)| !t.starts_with("socket:")), "{fds:?}");
    drop(pool);
    for fd in strays {
        // SAFETY: closes the descriptors made above.
        unsafe { libc::close(fd) };
    }
}

fn pool_refuses_a_reply_without_its_token() {
    std::env::set_var(FAKE, "wrong-token");
    let built = ProcessPool::builder().max_workers(1).build();
    std::env::remove_var(FAKE);
    match built {
        Err(BuildError::Handshake(msg)) => assert!(msg.contains("token"), "{msg}"),
        other => panic!("expected a handshake error, got {other:?}"),
    }
    // Without the impostor, a pool starts.
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    assert_eq!(pool.submit(double, 4).unwrap().wait(), Ok(8));
}

/// A worker started by hand, as a hostile pool would: our pipes on its fds 3 and 4.
struct HandStarted {
    child: std::process::Child,
    to: File,
    from: File,
}

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors; they are moved above 10 so that placing them on 3 and 4
    // in the child can never clobber each other.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        let moved = fds.map(|fd| {
            let m = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10);
            libc::close(fd);
            m
        });
        (moved[0], moved[1])
    }
}

fn start_by_hand(token: &[u8; 16]) -> HandStarted {
    let (child_in, to) = pipe();
    let (from, child_out) = pipe();
    let hex: String = token.iter().map(|b| format!("{b:02x}")).collect();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(WORKER_ENV, format!("{PROTOCOL}:{}:{hex}:0", std::process::id()))
        .env_remove(FAKE)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only dup2, which is async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(child_in, 3) < 0 || libc::dup2(child_out, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    // SAFETY: closing our copies of the child's ends; the other two are ours alone.
    let (to, from) = unsafe {
        libc::close(child_in);
        libc::close(child_out);
        (File::from_raw_fd(to), File::from_raw_fd(from))
    };
    HandStarted { child, to, from }
}

impl HandStarted {
    /// Sends `bytes`, then reads every frame until the worker exits; returns them, its exit code and
    /// its stderr.
    fn talk(mut self, bytes: &[u8]) -> (Vec<Vec<u8>>, Option<i32>, String) {
        let _ = self.to.write_all(bytes);
        let mut frames = Vec::new();
        while let Some(f) = read_frame(&mut self.from) {
            frames.push(f);
        }
        let out = self.child.wait_with_output().unwrap();
        assert!(out.status.signal().is_none(), "the worker crashed: {:?}", out.status);
        (frames, out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn worker_refuses_a_pool_without_its_token() {
    let token = [0x5a; 16];
    let mut wrong = token;
    wrong[15] ^= 1;
    let mut bytes = hello(&wrong);
    bytes.extend(task(1));
    let (frames, code, stderr) = start_by_hand(&token).talk(&bytes);
    assert_eq!(code, Some(EXIT_HANDSHAKE), "{stderr}");
    assert_eq!(frames.len(), 1, "one refusal, no result: {frames:?}");
    assert_eq!(frames[0][0], KIND_REFUSED);
    assert!(String::from_utf8_lossy(&frames[0][1..]).contains("token does not match"), "{stderr}");
}

fn worker_runs_nothing_before_the_handshake() {
    let token = [0x33; 16];
    // Work first, then a handshake that would pass the token check.
    let mut bytes = task(7);
    bytes.extend(hello(&token));
    let (frames, code, stderr) = start_by_hand(&token).talk(&bytes);
    assert_eq!(code, Some(EXIT_HANDSHAKE), "{stderr}");
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0][0], KIND_REFUSED);
    assert!(String::from_utf8_lossy(&frames[0][1..]).contains("before the handshake"), "{stderr}");
    // The right token with a foreign fingerprint: refused too, and the task behind it never runs.
    let mut bytes = hello(&token);
    bytes.extend(task(8));
    let (frames, code, stderr) = start_by_hand(&token).talk(&bytes);
    assert_eq!(code, Some(EXIT_HANDSHAKE), "{stderr}");
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0][0], KIND_REFUSED);
}

fn worker_refuses_an_oversize_frame() {
    // A first frame announcing nearly 4 GiB: refused at once, nothing allocated, no crash.
    let (frames, code, stderr) = start_by_hand(&[1; 16]).talk(&0xFFFF_FFF0u32.to_le_bytes());
    assert_eq!(code, Some(EXIT_HANDSHAKE), "{stderr}");
    assert!(stderr.contains("over the limit"), "{stderr}");
    assert!(frames.iter().all(|f| f[0] == KIND_REFUSED), "{frames:?}");
}

/// Peak resident set size of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn double(x: u32) -> u32 {
    x * 2
}

fn pool_refuses_an_oversize_frame_unallocated() {
    let peak = peak_rss_kib();
    // Only the first worker is hostile: it passes the handshake, then announces a ~4 GiB frame.
    std::env::set_var(FAKE, "oversize");
    let pool = ProcessPool::builder().max_workers(1).build();
    std::env::remove_var(FAKE);
    let pool = pool.unwrap();
    // The frame is refused, the worker killed; its task had not started (as far as the pool can
    // tell), so it goes to the (honest) replacement.
    assert_eq!(pool.submit(double, 21).unwrap().wait(), Ok(42));
    assert_eq!(pool.stats().worker_deaths, 1);
    let grown = peak_rss_kib().saturating_sub(peak);
    assert!(grown < 64 * 1024, "the pool's peak memory grew by {grown} KiB for a refused frame");
}

fn worker_cannot_settle_another_task() {
    std::env::set_var(FAKE, "foreign-result");
    let pool = ProcessPool::builder().max_workers(1).build();
    std::env::remove_var(FAKE);
    let pool = pool.unwrap();
    // The forged result (99 for some other task) is a protocol violation: the worker is killed, no
    // future receives the value, and the task is run by the replacement.
    let a = pool.submit(double, 5).unwrap();
    assert_eq!(a.wait(), Ok(10));
    assert_eq!(pool.stats().worker_deaths, 1);
    // The pool goes on.
    assert_eq!(pool.submit(double, 6).unwrap().wait(), Ok(12));
}
