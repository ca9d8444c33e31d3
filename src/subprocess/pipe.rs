//! The parent's ends of a child's standard streams, as `futures-io` objects on the loop.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::reactor::Async;

/// Registers a pipe end with the running loop (non-blocking from here on).
pub(super) fn on_loop(fd: OwnedFd) -> io::Result<Async<File>> {
    Async::new(File::from(fd))
}

macro_rules! pipe_end {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub(super) Async<File>);

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.get_ref().as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
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
        self.0.poll_write_stream(cx, buf.len(), |mut f| f.write(buf))
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

impl AsyncRead for ChildStdout {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.0.poll_read_stream(cx, len, |mut f| f.read(buf))
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.0.poll_read_stream(cx, len, |mut f| f.read(buf))
    }
}
