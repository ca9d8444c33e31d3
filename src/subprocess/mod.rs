//! Subprocesses on the loop: legacy programs as awaitable children (asyncio's
//! `create_subprocess_exec`, `tokio::process`, `async-process`).
//!
//! [`Command`] builds and starts a program (no shell unless you run one); the [`Child`] it gives
//! has its pipes as `futures-io` objects on the loop ([`ChildStdin`], [`ChildStdout`],
//! [`ChildStderr`]) and waits for its end without a thread: [`wait`](Child::wait),
//! [`try_wait`](Child::try_wait), [`wait_with_output`](Child::wait_with_output),
//! [`Command::output`] (both pipes read at once: no deadlock on a full pipe), [`kill`](Child::kill).
//! A spawn that cannot start fails with a typed [`SpawnError`].
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use tulip::subprocess::{Command, Stdio};
//!
//! tulip::run(async {
//!     let mut child = Command::new("sh")
//!         .args(["-c", "tr a-z A-Z"])
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .spawn()
//!         .unwrap();
//!     let mut stdin = child.stdin.take().unwrap();
//!     stdin.write_all(b"tulip").await.unwrap();
//!     drop(stdin);
//!     let out = child.wait_with_output().await.unwrap();
//!     assert_eq!(out.stdout, b"TULIP");
//! });
//! ```
//!
//! # Implementation
//!
//! On Linux with glibc 2.34 or later the child is started with `posix_spawn` (a `vfork`-style
//! clone, see `spawn`), whose file actions place its three streams and close every other
//! descriptor. A command that needs a hook in the child ([`Command::die_with_parent`]), a working
//! directory or a changed `PATH`, and other systems, go through Rust's standard library (`fork` +
//! `exec`), with a hook that marks every descriptor from 3 up close-on-exec
//! (`close_range(CLOSE_RANGE_CLOEXEC)` on Linux 5.11+, one `fcntl` per descriptor number
//! elsewhere). Either way a child inherits the three streams it is given and nothing else, not
//! even what a C library opened without `O_CLOEXEC`. Pipes are created close-on-exec; the
//! parent's ends are made non-blocking and registered with the loop's poller.
//!
//! A child is then held like a process-pool worker (the pool's pidfd handle, shared): a pidfd
//! names it and no other process, signals go through `pidfd_send_signal`, and waits through
//! `waitid(P_PIDFD)`. A copy of the pidfd is registered with the loop, which makes `wait` one
//! readiness wait. Without pidfds (Linux before 5.3, other systems; or forced with the
//! environment variable `TULIP_PIDFD=0`, read once, to exercise this path) the loop is woken by
//! `SIGCHLD`: tulip's signal handler writes to a pipe the loop reads (see `sigchld`), and each
//! wait then looks at its own child with `waitpid(pid, WNOHANG)`. Nothing ever waits for "any
//! child": the process pool's workers and the program's own children are left alone. The
//! handler is in while a loop that waited this way lives (it calls the handler it replaced, see
//! [`signal`](crate::signal)); if `SIGCHLD` is ignored (`SIG_IGN`: the kernel reaps every child,
//! and `wait` reports that) or 64 loops already wait this way, a wait looks at growing intervals
//! (1 ms to 50 ms) instead.
//!
//! [`Command::status`] and [`Command::output`] make their `posix_spawn` on the *spawn lane*, a
//! pool of its own of four threads per CPU (see `lane`), and await it: a spawn blocks its thread until
//! the child has called `exec`, which amid a fan-out is most of a millisecond, and the loop goes
//! on meanwhile (the exits of earlier children among what it does), with several children starting
//! at once. [`Command::spawn`] returns the [`Child`] at once, so its spawn is made on the loop
//! thread, as are those that need the `fork` path.
//!
//! A child dropped unwaited goes to one background thread for the whole program (see `reaper`),
//! which sleeps on the pidfds of such orphans (or on `SIGCHLD`, without pidfds) and reaps each
//! when it ends.
//!
//! # Caveats
//!
//! - A [`Child`] and its pipes belong to the loop that spawned them, and are used on its thread.
//! - The spawn lane costs CPU for its hand-offs: in W9 (200 `true`, 50 at a time, 2 CPUs) tulip's
//!   process spent 79–85 µs of CPU per child against tokio's 72–77 µs (tokio spawns on its loop
//!   thread), for 0.78–0.85× tokio's wall time (README, Subprocesses). Its threads exit after 10 s
//!   idle.
//! - On Linux a pipe that has carried 1 MiB through tulip's end is raised from 64 KiB to 256 KiB
//!   (`F_SETPIPE_SZ`, once; see `pipe`): a stream through a child moves about 1.3× as many bytes
//!   per second, and each such pipe counts 256 KiB against the user's pipe budget
//!   (`/proc/sys/fs/pipe-user-pages-soft`) while it is open. Pipes that carry less keep the default.
//! - A command that changes no variable gives its child the C library's `environ` as it is, read
//!   without std's environment lock: a `std::env::set_var` on another thread during a spawn breaks
//!   `set_var`'s own contract (no other thread may read the environment meanwhile), as it does for
//!   any C code that reads it.
//! - Without pidfds, a `SIGCHLD` handler the program installs *after* tulip's replaces it, and
//!   waits no longer wake: install yours before spawning (tulip's handler then calls it too).

mod child;
mod command;
mod error;
mod lane;
mod pipe;
mod reaper;
mod sigchld;
mod spawn;

pub use child::Child;
pub use command::{Command, Stdio};
pub use error::SpawnError;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
