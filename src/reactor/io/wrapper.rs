//! [`Async`]: an I/O object registered with a loop, its readiness futures and the futures-io traits.

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::source::Source;
use super::sys::{self, AsSource as AsFd, RawSource};
use super::{Dir, IO_BUDGET};
use crate::error::LoopClosed;
use crate::reactor::{try_get_running_loop, EventLoop};

/// An [`Async`] (or a [`TcpStream`](crate::net::TcpStream) or listener) was polled while its event
/// loop was not running, so nothing would ever wake it.
///
/// It comes back as the inner error of an [`io::Error`] (`e.get_ref()` and downcast).
///
/// # Examples
///
/// ```
/// # #[cfg(windows)] fn main() {} // Unix socket pairs; see tests/io_readiness.rs
/// # #[cfg(unix)] fn main() {
/// use std::io::Read;
/// let lp = tulip::EventLoop::new().unwrap();
/// let (_a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let b = tulip::Async::with_loop(&lp, b).unwrap();
/// // Not inside `lp.run_until_complete`: the loop is not running.
/// let e = futures_lite::future::block_on(b.readable()).unwrap_err();
/// assert!(e.get_ref().unwrap().is::<tulip::LoopNotRunning>());
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopNotRunning {
    /// Where the waiting future was made (`readable()`, `read_with(..)`, ...), when known.
    pub caller: Option<&'static Location<'static>>,
}

impl fmt::Display for LoopNotRunning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an I/O object was polled while its tulip event loop is not running")?;
        if let Some(l) = self.caller {
            write!(f, " (waiting at {l})")?;
        }
        f.write_str("; it would never be woken: await it in a task or future of the loop it was created on")
    }
}

impl Error for LoopNotRunning {}

/// An I/O object registered with a loop: async readiness for anything with a file descriptor.
///
/// It puts the fd in non-blocking mode and registers it with the loop; dropping it deregisters the
/// fd before the object (and its fd) is dropped. It implements `futures-io`'s `AsyncRead` and
/// `AsyncWrite` when `&T` implements `Read` and `Write`.
///
/// # Examples
///
/// ```
/// # #[cfg(windows)] fn main() {} // Unix socket pairs; see tests/io_readiness.rs
/// # #[cfg(unix)] fn main() {
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// tulip::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (a, b) = (tulip::Async::new(a).unwrap(), tulip::Async::new(b).unwrap());
///     a.write_with(|s| (&*s).write(b"ping")).await.unwrap();
///     let mut buf = [0; 4];
///     let n = b.read_with(|s| (&*s).read(&mut buf)).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// # }
/// ```
///
/// # Caveats
///
/// An `Async` belongs to the loop it was created on and must be used from that loop's thread, while
/// that loop runs: polled otherwise, it fails with [`LoopNotRunning`] instead of waiting forever. Two
/// `Async` wrappers of the same fd (and a reader or writer added for it) share one registration.
///
/// On Windows the bound is `T: AsSocket` instead of `T: AsFd`: only sockets have readiness there
/// (`polling`'s IOCP backend), and `Async<T>` implements `AsRawSocket` instead of `AsRawFd`.
pub struct Async<T: AsFd> {
    /// `None` only inside `into_inner`/`drop`, after deregistration.
    io: Option<T>,
    source: Rc<Source>,
    lp: EventLoop,
    /// The tick each direction's futures-io poll saw when it began to wait.
    seen: [Cell<Option<u64>>; 2],
    /// Per direction: the last operation was a short one of a stream (`poll_stream`), which found
    /// the fd not ready at the tick in `seen`, so the next poll waits before it tries.
    short: [Cell<bool>; 2],
    /// The waker slot of each direction's futures-io polls (one waiter per direction, as async-io).
    slots: [Cell<Option<usize>>; 2],
    /// Operations completed since this object last had to wait; at [`IO_BUDGET`] the next one
    /// yields first.
    unwaited: Cell<u32>,
}

impl<T: AsFd> Async<T> {
    /// Registers `io` with the loop running on this thread.
    ///
    /// Fails when no loop runs here, or when the fd cannot be made non-blocking or registered.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let l = tulip::Async::new(std::net::TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     assert!(l.get_ref().local_addr().is_ok());
    /// });
    /// ```
    pub fn new(io: T) -> io::Result<Self> {
        match try_get_running_loop() {
            Some(lp) => Self::with_loop(&lp, io),
            None => {
                Err(io::Error::new(io::ErrorKind::NotFound, "tulip::Async::new needs a running event loop"))
            }
        }
    }

    /// Registers `io` with `lp`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(windows)] fn main() {} // Unix socket pairs; see tests/io_readiness.rs
    /// # #[cfg(unix)] fn main() {
    /// let lp = tulip::EventLoop::new().unwrap();
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = tulip::Async::with_loop(&lp, a).unwrap();
    /// # drop(a);
    /// # }
    /// ```
    pub fn with_loop(lp: &EventLoop, io: T) -> io::Result<Self> {
        if lp.is_closed() {
            return Err(io::Error::other(LoopClosed));
        }
        let fd = sys::raw_of(&io);
        sys::set_nonblocking(&io)?;
        let source = lp.inner.io.acquire(&lp.inner.shared.poller, fd)?;
        Ok(Async {
            io: Some(io),
            source,
            lp: lp.clone(),
            seen: Default::default(),
            short: Default::default(),
            slots: Default::default(),
            unwaited: Cell::new(0),
        })
    }

    /// The inner I/O object.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let s = tulip::Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     s.get_ref().local_addr().unwrap();
    /// });
    /// ```
    pub fn get_ref(&self) -> &T {
        match &self.io {
            Some(io) => io,
            None => unreachable!("the I/O object is present until into_inner or drop"),
        }
    }

    /// The inner I/O object, mutably.
    ///
    /// # Safety
    ///
    /// The object must keep its fd open: replacing it (`*a.get_mut() = other`, `mem::swap`) or
    /// closing its fd would leave the loop's registration on a closed fd, whose number an unrelated
    /// file may reuse. [`get_ref`](Self::get_ref) is enough for most calls, through `&T`.
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let mut s = tulip::Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     // SAFETY: setting an option neither replaces the socket nor closes its fd.
    ///     unsafe { s.get_mut() }.set_ttl(10).unwrap();
    /// });
    /// ```
    pub unsafe fn get_mut(&mut self) -> &mut T {
        match &mut self.io {
            Some(io) => io,
            None => unreachable!("the I/O object is present until into_inner or drop"),
        }
    }

    /// Deregisters the fd and returns the I/O object (still in non-blocking mode).
    ///
    /// # Examples
    ///
    /// ```
    /// tulip::run(async {
    ///     let s = tulip::Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    ///     let s: std::net::UdpSocket = s.into_inner();
    /// });
    /// ```
    pub fn into_inner(mut self) -> T {
        self.deregister();
        match self.io.take() {
            Some(io) => io,
            None => unreachable!("the I/O object is present until into_inner or drop"),
        }
    }

    fn deregister(&mut self) {
        if self.io.is_some() {
            let wakers = [
                self.source.free_slot(Dir::Read, &self.slots[0]),
                self.source.free_slot(Dir::Write, &self.slots[1]),
            ];
            self.lp.inner.io.release(&self.lp.inner.shared.poller, &self.source);
            drop(wakers);
        }
    }

    /// Waits in `dir`, with the tick seen, the waker's slot and whether an operation just reported
    /// `WouldBlock` in `wait` (see [`Source::poll_ready`]); fails at once if nothing could wake it.
    fn poll_wait(
        &self,
        dir: Dir,
        wait: (&Cell<Option<u64>>, &Cell<Option<usize>>, bool),
        caller: Option<&'static Location<'static>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if self.lp.is_closed() {
            return Poll::Ready(Err(io::Error::other(LoopClosed)));
        }
        if !self.lp.is_running() {
            return Poll::Ready(Err(io::Error::other(LoopNotRunning { caller })));
        }
        let (poll, replaced) = self.source.poll_ready(&self.lp.inner.shared.poller, dir, wait, cx);
        drop(replaced);
        poll
    }

    fn wait(
        &self,
        dir: Dir,
        after_would_block: bool,
        caller: &'static Location<'static>,
    ) -> Readiness<'_, T> {
        Readiness { io: self, dir, seen: Cell::new(None), slot: Cell::new(None), after_would_block, caller }
    }

    /// Waits until the fd is readable (or a read would report an error or end of file).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(windows)] fn main() {} // Unix socket pairs; see tests/io_readiness.rs
    /// # #[cfg(unix)] fn main() {
    /// use std::io::Write;
    /// tulip::run(async {
    ///     let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let b = tulip::Async::new(b).unwrap();
    ///     a.write_all(b"x").unwrap();
    ///     b.readable().await.unwrap();
    /// });
    /// # }
    /// ```
    #[track_caller]
    pub fn readable(&self) -> Readiness<'_, T> {
        self.wait(Dir::Read, false, Location::caller())
    }

    /// Waits until the fd is writable.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(windows)] fn main() {} // Unix socket pairs; see tests/io_readiness.rs
    /// # #[cfg(unix)] fn main() {
    /// tulip::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     tulip::Async::new(a).unwrap().writable().await.unwrap();
    /// });
    /// # }
    /// ```
    #[track_caller]
    pub fn writable(&self) -> Readiness<'_, T> {
        self.wait(Dir::Write, false, Location::caller())
    }

    /// Runs the non-blocking operation `op` until it does not report `WouldBlock`, waiting for
    /// readability in between.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(windows)] fn main() {} // Unix socket pairs; see tests/io_readiness.rs
    /// # #[cfg(unix)] fn main() {
    /// use std::io::{Read, Write};
    /// tulip::run(async {
    ///     let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let b = tulip::Async::new(b).unwrap();
    ///     a.write_all(b"hi").unwrap();
    ///     let mut buf = [0; 2];
    ///     b.read_with(|s| (&*s).read_exact(&mut buf)).await.unwrap();
    /// });
    /// # }
    /// ```
    #[track_caller]
    pub fn read_with<'a, R, F: FnMut(&T) -> io::Result<R> + 'a>(
        &'a self,
        op: F,
    ) -> impl Future<Output = io::Result<R>> + use<'a, T, R, F> {
        self.retry(Dir::Read, Location::caller(), op)
    }

    /// Runs the non-blocking operation `op` until it does not report `WouldBlock`, waiting for
    /// writability in between.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(windows)] fn main() {} // Unix socket pairs; see tests/io_readiness.rs
    /// # #[cfg(unix)] fn main() {
    /// use std::io::Write;
    /// tulip::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = tulip::Async::new(a).unwrap();
    ///     a.write_with(|s| (&*s).write_all(b"hi")).await.unwrap();
    /// });
    /// # }
    /// ```
    #[track_caller]
    pub fn write_with<'a, R, F: FnMut(&T) -> io::Result<R> + 'a>(
        &'a self,
        op: F,
    ) -> impl Future<Output = io::Result<R>> + use<'a, T, R, F> {
        self.retry(Dir::Write, Location::caller(), op)
    }

    async fn retry<R>(
        &self,
        dir: Dir,
        caller: &'static Location<'static>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            if self.over_budget() {
                futures_lite::future::yield_now().await;
            }
            match self.counted(op(self.get_ref())) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(dir, true, caller).await?,
                res => return res,
            }
        }
    }

    /// Polls the non-blocking operation `op`, waiting for readability while it reports
    /// `WouldBlock` (what `AsyncRead` does with `read`), for types that wait on several objects;
    /// `caller` is where the user made the waiting future.
    pub(crate) fn poll_read_with<R>(
        &self,
        caller: &'static Location<'static>,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        poll_io(self, Dir::Read, Some(caller), cx, op)
    }

    /// Whether the next operation must yield first (see [`IO_BUDGET`]); if so the count restarts.
    fn over_budget(&self) -> bool {
        let spent = self.unwaited.get() >= IO_BUDGET;
        if spent {
            self.unwaited.set(0);
        }
        spent
    }

    /// Counts an operation's outcome against the budget: a `WouldBlock` means a wait follows.
    fn counted<R>(&self, res: io::Result<R>) -> io::Result<R> {
        match &res {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.unwaited.set(0),
            _ => self.unwaited.set(self.unwaited.get() + 1),
        }
        res
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        // Deregister first: the poller must forget the fd before `io` closes it.
        self.deregister();
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: AsFd> Async<T> {
    /// The registered fd (socket on Windows), for the platform's `AsRaw*` impl.
    pub(super) fn raw_source(&self) -> RawSource {
        self.source.fd
    }
}

/// A future that completes when an [`Async`]'s fd is ready; from [`Async::readable`] or
/// [`Async::writable`].
#[must_use = "futures do nothing unless polled"]
pub struct Readiness<'a, T: AsFd> {
    io: &'a Async<T>,
    dir: Dir,
    seen: Cell<Option<u64>>,
    /// This future's waker slot in the source, freed on drop.
    slot: Cell<Option<usize>>,
    /// Made right after an operation reported `WouldBlock`: readiness comes as a new event.
    after_would_block: bool,
    /// Where the future was made, for [`LoopNotRunning`].
    caller: &'static Location<'static>,
}

impl<T: AsFd> Future for Readiness<'_, T> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_wait(self.dir, (&self.seen, &self.slot, self.after_would_block), Some(self.caller), cx)
    }
}

impl<T: AsFd> Drop for Readiness<'_, T> {
    fn drop(&mut self) {
        drop(self.io.source.free_slot(self.dir, &self.slot));
    }
}

impl<T: AsFd> fmt::Debug for Readiness<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness").field("fd", &self.io.source.fd).field("dir", &self.dir).finish()
    }
}

/// Retries `op` on `WouldBlock`, waiting for readiness in `dir` (the body of the poll-based traits).
///
/// Only right after a short stream operation does it wait before trying. A poll again after a
/// `WouldBlock` tries first even when no event came: the task may have been woken by readiness of
/// the other direction that the loop has not collected yet (a pipe through `cat`: reading its
/// output frees room for our input), and waiting for the event would cost a pass of the loop.
fn poll_io<T: AsFd, R>(
    a: &Async<T>,
    dir: Dir,
    caller: Option<&'static Location<'static>>,
    cx: &mut Context<'_>,
    mut op: impl FnMut(&T) -> io::Result<R>,
) -> Poll<io::Result<R>> {
    let i = dir as usize;
    if a.over_budget() {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    let wait = (&a.seen[i], &a.slots[i], true);
    // A short stream operation found the fd not ready at the tick in `seen`: wait for an event.
    if a.short[i].replace(false) && a.poll_wait(dir, wait, caller, cx).is_pending() {
        a.unwaited.set(0);
        return Poll::Pending;
    }
    loop {
        match a.counted(op(a.get_ref())) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => match a.poll_wait(dir, wait, caller, cx) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            },
            res => {
                // Done waiting: the next `WouldBlock` registers at once instead of taking the tick
                // that moved for this wait as a new event (which would cost a failing retry).
                a.seen[i].set(None);
                return Poll::Ready(res);
            }
        }
    }
}

/// Whether an operation on a byte stream that moves less than asked for proves the stream not
/// ready (a read: drained; a write: its buffer full), so that the next one can wait for an event
/// instead of trying first: true where the poller is our epoll, as tokio assumes for epoll and
/// kqueue. A TCP, Unix-stream or pipe read stops early only on an empty queue, a write only on a
/// full buffer, and every later arrival or freed space raises a new event. Not once a hang-up was
/// reported: end of file or the error stays to be seen, with no new event to announce it.
const SHORT_MEANS_NOT_READY: bool = cfg!(any(target_os = "linux", target_os = "android"));

impl<T: AsFd> Async<T> {
    /// Polls the read `op` of a byte stream (TCP, a Unix stream socket, a pipe) into a buffer of
    /// `len` bytes, as `AsyncRead::poll_read` does; a short read saves the read that would report
    /// `WouldBlock` next (see [`SHORT_MEANS_NOT_READY`]).
    ///
    /// Only for streams: a datagram, a terminal in canonical mode or an inotify fd can return less
    /// than asked for with more queued behind it.
    pub(crate) fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_stream(Dir::Read, cx, len, op)
    }

    /// Polls the write `op` of `len` bytes to a byte stream, as `AsyncWrite::poll_write` does; a
    /// short write saves the write that would report `WouldBlock` next.
    pub(crate) fn poll_write_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_stream(Dir::Write, cx, len, op)
    }

    fn poll_stream(
        &self,
        dir: Dir,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let polled = poll_io(self, dir, None, cx, op);
        if let Poll::Ready(Ok(n)) = polled {
            if SHORT_MEANS_NOT_READY && 0 < n && n < len && !self.source.hung_up() {
                self.seen[dir as usize].set(Some(self.source.tick(dir)));
                self.short[dir as usize].set(true);
            }
        }
        polled
    }
}

impl<T: AsFd> futures_io::AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        poll_io(&self, Dir::Read, None, cx, |mut io| io.read(buf))
    }
}

impl<T: AsFd> futures_io::AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        poll_io(&self, Dir::Write, None, cx, |mut io| io.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_io(&self, Dir::Write, None, cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

// Unix socket pairs; on Windows the same path is covered by the TCP tests.
#[cfg(all(test, unix))]
mod tests {
    use super::super::source::REARMS;
    use super::*;
    use std::os::unix::net::UnixStream;

    /// Ping-pong of one byte between two `Async` ends for `ROUNDS` rounds, every read waiting:
    /// returns the waits of the ponging side and the `epoll_ctl` calls that changed an interest.
    fn ping_pong() -> (usize, usize) {
        let waits = Rc::new(Cell::new(0));
        let w = waits.clone();
        let rearms = crate::run(async move {
            let (a, b) = UnixStream::pair().unwrap();
            let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
            let counted_read = move |s: &UnixStream| {
                let r = (&*s).read(&mut [0; 1]);
                if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                    w.set(w.get() + 1);
                }
                r
            };
            let pong = crate::get_running_loop().spawn(async move {
                for _ in 0..ROUNDS {
                    b.read_with(counted_read.clone()).await.unwrap();
                    b.write_with(|s| (&*s).write(b"o")).await.unwrap();
                }
            });
            let before = REARMS.with(Cell::get);
            for _ in 0..ROUNDS {
                a.write_with(|s| (&*s).write(b"i")).await.unwrap();
                a.read_with(|s| (&*s).read(&mut [0; 1])).await.unwrap();
            }
            pong.await.unwrap();
            REARMS.with(Cell::get) - before
        });
        // The pinging side waits as often as the ponging side; only the latter is counted.
        let waits = 2 * waits.get();
        assert!(waits >= ROUNDS, "the test did not make the reads wait ({waits} waits)");
        (waits, rearms)
    }

    /// Reads `b` into a 64-byte buffer through `poll_read_stream`, counting the `read` calls.
    async fn read_stream(b: &Async<UnixStream>, calls: &Cell<usize>) -> usize {
        let mut buf = [0; 64];
        std::future::poll_fn(|cx| {
            b.poll_read_stream(cx, buf.len(), |mut s| {
                calls.set(calls.get() + 1);
                s.read(&mut buf)
            })
        })
        .await
        .unwrap()
    }

    /// A stream read that returns less than asked for leaves the stream drained: the next read waits
    /// for an event without trying first, and still gets what arrives later.
    #[test]
    fn short_stream_read_waits_without_a_failing_read() {
        crate::run(async {
            let (a, b) = UnixStream::pair().unwrap();
            let b = Async::new(b).unwrap();
            let calls = Cell::new(0);
            (&a).write_all(b"first").unwrap();
            assert_eq!(read_stream(&b, &calls).await, 5);
            let lp = crate::get_running_loop();
            lp.call_soon(move || drop((&a).write_all(b"second")));
            assert_eq!(read_stream(&b, &calls).await, 6);
            let expected = if SHORT_MEANS_NOT_READY { 2 } else { 3 };
            assert_eq!(calls.get(), expected, "read calls for two short reads");
        });
    }

    /// The budget counts operations since the last wait, and a wait that follows a short read
    /// is one: a connection that waits for every request is never made to yield (it was, once in
    /// every 16 requests of hyper's 8 KiB reads, which put 6% of W7h's requests a pass behind).
    #[test]
    fn waiting_after_a_short_read_restarts_the_budget() {
        crate::run(async {
            let (a, b) = UnixStream::pair().unwrap();
            let b = Async::new(b).unwrap();
            let a = Rc::new(a);
            let polls = Cell::new(0);
            let rounds = 3 * IO_BUDGET as usize;
            for _ in 0..rounds {
                let a = a.clone();
                crate::get_running_loop().call_soon(move || drop((&*a).write_all(b"request")));
                let mut buf = [0; 64];
                let n = std::future::poll_fn(|cx| {
                    polls.set(polls.get() + 1);
                    b.poll_read_stream(cx, buf.len(), |mut s| s.read(&mut buf))
                })
                .await
                .unwrap();
                assert_eq!(n, 7);
            }
            // Each round: one poll that waits for the write, one that reads.
            assert_eq!(polls.get(), 2 * rounds, "polls for {rounds} requests, each waited for");
        });
    }

    /// A stream write that takes less than it was given leaves the stream full: the next write
    /// waits for an event without trying first, and goes on once the peer has read.
    #[test]
    fn short_stream_write_waits_without_a_failing_write() {
        crate::run(async {
            let (a, b) = UnixStream::pair().unwrap();
            let (a, b) = (Rc::new(a), Async::new(b).unwrap());
            let (calls, big) = (Cell::new(0), vec![7u8; 16 << 20]);
            let write = || {
                std::future::poll_fn(|cx| {
                    b.poll_write_stream(cx, big.len(), |mut s| {
                        calls.set(calls.get() + 1);
                        s.write(&big)
                    })
                })
            };
            assert!(write().await.unwrap() < big.len(), "16 MiB fit a socket buffer");
            a.set_nonblocking(true).unwrap();
            let reader = a.clone();
            crate::get_running_loop().call_soon(move || while (&*reader).read(&mut [0; 1 << 16]).is_ok() {});
            assert!(write().await.unwrap() > 0);
            let expected = if SHORT_MEANS_NOT_READY { 2 } else { 3 };
            assert_eq!(calls.get(), expected, "write calls for a short write and the next one");
        });
    }

    /// A short read after the peer closed its end does not wait for an event that will not come:
    /// the end of file comes next (the event that reported the data reported the close too).
    #[test]
    fn short_read_after_the_peer_closed_reads_the_end() {
        crate::run(async {
            let (a, b) = UnixStream::pair().unwrap();
            let b = Async::new(b).unwrap();
            (&a).write_all(b"last").unwrap();
            drop(a);
            b.readable().await.unwrap();
            let calls = Cell::new(0);
            assert_eq!(read_stream(&b, &calls).await, 4);
            let end = crate::timeout(std::time::Duration::from_secs(10), read_stream(&b, &calls)).await;
            assert_eq!(end.ok(), Some(0), "end of file after the short read");
        });
    }

    const ROUNDS: usize = 200;

    /// Each wait costs at most one `epoll_ctl` (arming when the future waits), not a second one to
    /// re-arm after the event.
    #[test]
    fn at_most_one_rearm_per_wait() {
        let (waits, rearms) = ping_pong();
        assert!(rearms <= waits + 2, "{rearms} epoll_ctl calls for {waits} waits");
    }

    /// Where the poller has edge-triggered mode, a wait that follows `WouldBlock` costs no
    /// `epoll_ctl` at all: each source is switched to edge mode once.
    #[test]
    fn waits_after_would_block_cost_no_rearm_with_edges() {
        if !crate::poller::Poller::new().unwrap().supports_edge() {
            return;
        }
        let (waits, rearms) = ping_pong();
        assert!(rearms <= 2, "{rearms} epoll_ctl calls for {waits} waits (two sources)");
    }
}
