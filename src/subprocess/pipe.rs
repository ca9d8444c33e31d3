//! The parent's ends of a child's standard streams, as `futures-io` objects on the loop.
//!
//! # Pipe size
//!
//! A Linux pipe holds 64 KiB, so a stream through a child (`cat`, a converter, a compressor)
//! stops its writer every 64 KiB until the reader has run: each side then blocks and is woken
//! once per 64 KiB. Once an end has carried [`GROW_AFTER`] bytes, tulip raises its pipe to 256 KiB
//! (the process pool's `channel::raise_pipe`, the size of a worker's result pipe), once: W9p
//! (256 MiB through `cat`) moves about 1.3× as many bytes per second with no more CPU per byte
//! (README, Subprocesses). Pipes that carry little, as in a fan-out of a hundred children, keep the
//! default size: a larger pipe counts against the user's pipe budget
//! (`/proc/sys/fs/pipe-user-pages-soft`, 64 MiB by default), and a user over it gets small pipes in
//! every program. A refusal (that budget, or `/proc/sys/fs/pipe-max-size` below 256 KiB) leaves the
//! pipe as it was.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::process_pool::channel::raise_pipe;
use crate::reactor::Async;

/// Bytes an end carries before its pipe is raised to 256 KiB (`channel::STREAM_PIPE`).
const GROW_AFTER: usize = 1 << 20;

/// How much an end has carried, until it reaches [`GROW_AFTER`] and the pipe is raised.
#[derive(Debug, Default)]
struct Growth {
    /// Bytes carried so far; it stops counting at [`GROW_AFTER`], when the one raise is tried.
    carried: usize,
}

impl Growth {
    /// Counts the outcome of one read or write, and raises the pipe when this end crosses
    /// [`GROW_AFTER`].
    fn count(&mut self, fd: BorrowedFd<'_>, done: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = *done {
            if self.carried < GROW_AFTER {
                self.carried = self.carried.saturating_add(n);
                if self.carried >= GROW_AFTER {
                    raise_pipe(fd);
                }
            }
        }
    }
}

macro_rules! pipe_end {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            /// The pipe end, non-blocking and registered with the loop that spawned the child.
            io: Async<File>,
            /// What this end has carried, for the one raise of its pipe (module doc).
            growth: Growth,
        }

        impl $name {
            /// Registers a pipe end with the running loop (non-blocking from here on).
            pub(super) fn on_loop(fd: OwnedFd) -> io::Result<$name> {
                Ok($name { io: Async::new(File::from(fd))?, growth: Growth::default() })
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.io.as_raw_fd()
            }
        }
    };
}

pipe_end! {
    /// The write end of a child's stdin ([`Stdio::piped`](super::Stdio::piped)); dropping it
    /// closes the pipe, and the child reads end-of-file.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    /// use tulip::subprocess::{Command, Stdio};
    /// tulip::run(async {
    ///     let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    ///     let mut stdin = child.stdin.take().unwrap();
    ///     stdin.write_all(b"hi").await.unwrap();
    ///     drop(stdin);
    ///     let mut out = String::new();
    ///     child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
    ///     assert_eq!(out, "hi");
    ///     assert!(child.wait().await.unwrap().success());
    /// });
    /// ```
    ChildStdin
}

pipe_end! {
    /// The read end of a child's stdout ([`Stdio::piped`](super::Stdio::piped)).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    /// use tulip::subprocess::{Command, Stdio};
    /// tulip::run(async {
    ///     let mut child = Command::new("echo").arg("hello").stdout(Stdio::piped()).spawn().unwrap();
    ///     let mut out = String::new();
    ///     child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
    ///     assert_eq!(out, "hello\n");
    ///     child.wait().await.unwrap();
    /// });
    /// ```
    ChildStdout
}

pipe_end! {
    /// The read end of a child's stderr ([`Stdio::piped`](super::Stdio::piped)).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    /// use tulip::subprocess::{Command, Stdio};
    /// tulip::run(async {
    ///     let mut child =
    ///         Command::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::piped()).spawn().unwrap();
    ///     let mut err = String::new();
    ///     child.stderr.take().unwrap().read_to_string(&mut err).await.unwrap();
    ///     assert_eq!(err, "oops\n");
    ///     child.wait().await.unwrap();
    /// });
    /// ```
    ChildStderr
}

impl AsyncWrite for ChildStdin {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let done = this.io.poll_write_stream(cx, buf.len(), |mut f| f.write(buf));
        this.growth.count(this.io.get_ref().as_fd(), &done);
        done
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Nothing is buffered here, and a short write before must not make a flush wait.
        Poll::Ready(Ok(()))
    }

    /// Flushes, which is nothing: the pipe closes when the `ChildStdin` is dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

macro_rules! read_end {
    ($name:ident) => {
        impl AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let this = self.get_mut();
                let len = buf.len();
                let done = this.io.poll_read_stream(cx, len, |mut f| f.read(buf));
                this.growth.count(this.io.get_ref().as_fd(), &done);
                done
            }
        }
    };
}

read_end!(ChildStdout);
read_end!(ChildStderr);
