//! The byte streams between the pool and a worker, on Windows: two loopback TCP connections, one
//! for tasks going down and one for results coming up (the Unix twin is a socket and a pipe).
//!
//! # Implementation
//!
//! For each worker the pool listens on `127.0.0.1:0` and tells the worker the port and a fresh
//! random link token in its environment ([`LINK_ENV`]); the worker connects twice and sends the
//! token and a direction byte first. The pool accepts until it has both ends, dropping any
//! connection whose first bytes are not the token (another local program that found the port).
//!
//! Why connect back rather than hand the worker inherited socket handles: a socket handle is only
//! reliably usable in another process through `WSADuplicateSocketW`, which needs the child's pid
//! before it runs, and inheriting handles means every other inheritable handle of the program
//! leaks into the worker too. Connecting back needs no handle to cross at all; the pool's own
//! sockets are created non-inheritable by `std`.
//!
//! Both ends are sockets, so the driver's poller (`polling`, on Windows) waits on them as on the Unix
//! socket and pipe (`polling`'s IOCP backend polls sockets only). Nagle's algorithm is off: a task
//! frame or a result must go out at once, not wait for the peer's acknowledgement.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::windows::io::{AsRawSocket, AsSocket, BorrowedSocket, RawSocket};
use std::time::{Duration, Instant};

use super::wire;

/// The environment variable that tells a worker where to connect: `<port>:<link token hex>`.
pub(crate) const LINK_ENV: &str = "TULIP_PROCESS_LINK";

/// The direction byte of the connection that carries tasks to the worker.
const DOWN: u8 = b'd';
/// The direction byte of the connection that carries results to the pool.
const UP: u8 = b'u';

/// The pool's end of a worker's results (the worker writes, the pool reads).
pub(crate) type WorkerOutput = TcpStream;
/// The worker's end of its input (tasks from the pool).
pub(crate) type FromPool = TcpStream;
/// The worker's end of its output (results to the pool).
pub(crate) type ToPool = TcpStream;

/// The pool's end of a worker's input.
#[derive(Debug)]
pub(crate) struct WorkerInput {
    sock: TcpStream,
}

impl io::Write for WorkerInput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsSocket for WorkerInput {
    fn as_socket(&self) -> BorrowedSocket<'_> {
        self.sock.as_socket()
    }
}

impl AsRawSocket for WorkerInput {
    fn as_raw_socket(&self) -> RawSocket {
        self.sock.as_raw_socket()
    }
}

/// Where one worker connects back to: a loopback listener and the token it must present.
pub(crate) struct Rendezvous {
    listener: TcpListener,
    token: [u8; 16],
}

impl Rendezvous {
    /// Listens on a fresh loopback port for the worker that will present `token`.
    pub(crate) fn new(token: [u8; 16]) -> io::Result<Rendezvous> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        Ok(Rendezvous { listener, token })
    }

    /// The value of [`LINK_ENV`] for the worker.
    pub(crate) fn env_value(&self) -> io::Result<String> {
        let port = self.listener.local_addr()?.port();
        Ok(format!("{port}:{}", wire::hex(&self.token)))
    }

    /// Accepts the worker's two connections, until `deadline`, as long as `alive()` says the worker
    /// runs. Returns the pool's ends, non-blocking: its input and its output. If the worker ended
    /// or the deadline passed first, the ends returned are already closed on the far side: the
    /// driver then finds the worker gone or silent at its handshake and says why, exactly as on
    /// Unix (a worker that never calls `init` is reported the same way everywhere).
    pub(crate) fn accept(
        &self,
        deadline: Instant,
        mut alive: impl FnMut() -> bool,
    ) -> io::Result<(WorkerInput, WorkerOutput)> {
        let (mut down, mut up) = (None, None);
        let (down, up) = loop {
            match (down.take(), up.take()) {
                (Some(d), Some(u)) => break (d, u),
                (d, u) => (down, up) = (d, u),
            }
            match self.listener.accept() {
                Ok((sock, _)) => match self.greeting(&sock, deadline) {
                    Some(DOWN) => down = Some(sock),
                    Some(UP) => up = Some(sock),
                    _ => {}
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline || !alive() {
                        break (closed_socket()?, closed_socket()?);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        for s in [&down, &up] {
            s.set_nodelay(true)?;
            s.set_nonblocking(true)?;
        }
        Ok((WorkerInput { sock: down }, up))
    }

    /// Reads a new connection's token and direction byte; `None` if they are not this worker's.
    fn greeting(&self, sock: &TcpStream, deadline: Instant) -> Option<u8> {
        let wait = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        sock.set_nonblocking(false).ok()?;
        sock.set_read_timeout(Some(wait)).ok()?;
        let mut got = [0u8; 17];
        (&*sock).read_exact(&mut got).ok()?;
        sock.set_read_timeout(None).ok()?;
        (got[..16] == self.token).then_some(got[16])
    }
}

/// A connected socket whose peer has closed: reads find its end at once, writes fail.
fn closed_socket() -> io::Result<TcpStream> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let far = TcpStream::connect(listener.local_addr()?)?;
    let (near, _) = listener.accept()?;
    drop(far);
    Ok(near)
}

/// The worker's side: connects to the pool named by the value of [`LINK_ENV`]; its input and
/// output, blocking (the worker switches its input to non-blocking itself).
pub(crate) fn connect(link: &str) -> io::Result<(FromPool, ToPool)> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, format!("{LINK_ENV} is not `<port>:<token>`"));
    let (port, token_hex) = link.split_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let token = wire::token_from_hex(token_hex).ok_or_else(bad)?;
    let open = |direction: u8| -> io::Result<TcpStream> {
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
        s.set_nodelay(true)?;
        let mut hello = [0u8; 17];
        hello[..16].copy_from_slice(&token);
        hello[16] = direction;
        s.write_all(&hello)?;
        Ok(s)
    };
    Ok((open(DOWN)?, open(UP)?))
}

/// Blocks until `input` has bytes (or its end) to read.
pub(crate) fn wait_readable(input: &FromPool) {
    use windows_sys::Win32::Networking::WinSock::{WSAPoll, POLLRDNORM, SOCKET, WSAPOLLFD};
    let mut pfd = WSAPOLLFD { fd: input.as_raw_socket() as SOCKET, events: POLLRDNORM, revents: 0 };
    // SAFETY: one valid WSAPOLLFD for a socket this process owns; an error returns at once and the
    // caller reads again.
    unsafe { WSAPoll(&mut pfd, 1, -1) };
}
