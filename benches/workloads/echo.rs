//! W7: TCP echo on one loop.
//!
//! An echo server runs on one loop (one task per connection: read up to 1 KiB, write it all back).
//! 64 client connections, driven by one other thread with `poll(2)`, each send a 1 KiB message and
//! wait for its echo, again and again, until 200,000 messages in all were echoed or 5 s passed (one
//! client thread, not one per connection: 64 client threads on a small machine measure the OS
//! scheduler's choice of which client runs more than the server). Figures:
//! requests/s, and the p99 (beside it p50 and max) of the round trips of every connection; each the
//! median of 5 rounds, the systems taking turns round by round. A slow
//! p99 next to a fast p50 means some connections wait while others are served again and again.
//!
//! The peers, each with the same server written its own way:
//!
//! - tokio: a `current_thread` runtime with `enable_all()`, `tokio::net`, one `tokio::spawn`ed task
//!   per connection.
//! - smol: an `async_executor::LocalExecutor` run under `smol::block_on`, `smol::net` (async-io).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{median, take_turns, Report};

pub const CONNECTIONS: usize = 64;
const MESSAGES: usize = 200_000;
const MESSAGE: usize = 1024;
const LIMIT: Duration = Duration::from_secs(5);

pub fn run(report: &mut Report) {
    if !report.wants("W7") {
        return;
    }
    let total = report.scale(MESSAGES, 10);
    let systems = [("tulip", serve_tulip as Server), ("tokio", serve_tokio), ("smol", serve_smol)];
    measure::<Client>(report, "W7", total, &systems);
}

/// Runs each system's server on a thread of its own, drives it with `CONNECTIONS` clients of type
/// `C` until `total` round trips or `LIMIT`, and reports `workload`'s rate and its p50, p99 and max
/// round trip (W7 and W7h share it).
///
/// The systems take turns, round after round (5 rounds, 1 under `--quick`), and each figure is the
/// median of a system's rounds: one run each, in a fixed order, let a slow stretch of the machine
/// fall on whichever system ran in it. Under `--control`, tokio's server takes a second turn in
/// each round as `tokio-control`.
pub fn measure<C: Conn>(report: &mut Report, workload: &str, total: usize, systems: &[(&str, Server)]) {
    let rounds = report.scale(5, 5);
    let control = systems.iter().find(|&&(system, _)| report.control && system == "tokio");
    let systems: Vec<_> =
        systems.iter().copied().chain(control.map(|&(_, serve)| ("tokio-control", serve))).collect();
    let servers: Vec<_> =
        systems.iter().map(|&(system, serve)| move || serve_once::<C>(system, serve, total)).collect();
    for (&(system, _), runs) in systems.iter().zip(&take_turns(rounds, &servers)) {
        let done = runs.iter().map(|r| r.done).sum();
        let rate = median(runs.iter().map(|r| r.done as f64 / r.took.as_secs_f64()).collect());
        report.emit(system, workload, rate, "requests/s", done);
        for (q, name) in [(0.5, "p50"), (0.99, "p99"), (1.0, "max")] {
            let lat = median(runs.iter().map(|r| quantile(&r.latencies, q)).collect());
            report.emit(system, &format!("{workload} {name}"), lat, "µs", done);
        }
    }
}

/// One round of one system: its server on a thread of its own, driven until `total` or `LIMIT`.
fn serve_once<C: Conn>(system: &str, serve: Server, total: usize) -> Run {
    let (addr_tx, addr_rx) = mpsc::channel();
    let server = std::thread::spawn(move || serve(addr_tx));
    let Ok(addr) = addr_rx.recv() else { panic!("the {system} server did not start") };
    let run = drive::<C>(addr, total);
    if server.join().is_err() {
        panic!("the {system} server panicked");
    }
    run
}

/// A server: binds 127.0.0.1:0, sends its address, serves `CONNECTIONS` connections until each
/// closes, then returns.
pub type Server = fn(mpsc::Sender<SocketAddr>);

struct Run {
    done: usize,
    took: Duration,
    /// Round trips in µs, every connection's.
    latencies: Vec<f64>,
}

/// Connects the clients and drives them from one thread (the caller's) until `total` messages were
/// echoed or `LIMIT` passed: each connection has one message in flight at a time, sent again as soon
/// as its echo is complete.
fn drive<C: Conn>(addr: SocketAddr, total: usize) -> Run {
    let mut conns: Vec<C> = (0..CONNECTIONS).map(|_| C::connect(addr)).collect();
    let mut fds: Vec<libc::pollfd> =
        conns.iter().map(|c| libc::pollfd { fd: c.fd(), events: libc::POLLIN, revents: 0 }).collect();
    let (mut sent, mut latencies) = (0, Vec::with_capacity(total));
    let start = Instant::now();
    for c in &mut conns {
        c.send();
        sent += 1;
    }
    while latencies.len() < sent {
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd entries for open sockets.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
        assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
        for (c, fd) in conns.iter_mut().zip(&mut fds) {
            if fd.revents == 0 {
                continue;
            }
            fd.revents = 0;
            let Some(rtt) = c.receive() else { continue };
            latencies.push(rtt.as_secs_f64() * 1e6);
            if sent < total && start.elapsed() < LIMIT {
                c.send();
                sent += 1;
            }
        }
    }
    Run { done: latencies.len(), took: start.elapsed(), latencies }
}

/// A client connection that keeps one request in flight: the driver's view of W7's and W7h's
/// clients.
pub trait Conn: Sized {
    /// Connects to `addr`, non-blocking, without Nagle.
    fn connect(addr: SocketAddr) -> Self;
    /// The socket, for `poll(2)`.
    fn fd(&self) -> RawFd;
    /// Sends one request.
    fn send(&mut self);
    /// Reads what is there; the round trip once the whole answer is back.
    fn receive(&mut self) -> Option<Duration>;
}

/// One client connection: a 1 KiB message in flight, and how much of its echo has come back.
struct Client {
    stream: TcpStream,
    sent_at: Instant,
    received: usize,
}

impl Conn for Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("nonblocking");
        Client { stream, sent_at: Instant::now(), received: 0 }
    }

    fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    /// Sends one message; 1 KiB always fits the socket buffer, empty since the last echo came back.
    fn send(&mut self) {
        self.sent_at = Instant::now();
        self.stream.write_all(&[7u8; MESSAGE]).expect("send");
        self.received = 0;
    }

    /// Reads what is there; the round trip once the whole echo is back.
    fn receive(&mut self) -> Option<Duration> {
        let mut buf = [0u8; MESSAGE];
        match self.stream.read(&mut buf[..MESSAGE - self.received]) {
            Ok(0) => panic!("the server closed a connection"),
            Ok(n) => self.received += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("echo: {e}"),
        }
        (self.received == MESSAGE).then(|| self.sent_at.elapsed())
    }
}

pub fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut xs = xs.to_vec();
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[((xs.len() - 1) as f64 * q) as usize]
}

fn serve_tulip(addr_tx: mpsc::Sender<SocketAddr>) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    tulip::run(async move {
        let lp = tulip::get_running_loop();
        let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.expect("bind");
        addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
        let mut conns = Vec::new();
        for _ in 0..CONNECTIONS {
            let (mut c, _) = listener.accept().await.expect("accept");
            conns.push(lp.spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while let Ok(n @ 1..) = c.read(&mut buf).await {
                    c.write_all(&buf[..n]).await.expect("write");
                }
            }));
        }
        for c in conns {
            c.await.expect("connection task");
        }
    })
}

fn serve_tokio(addr_tx: mpsc::Sender<SocketAddr>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
        let mut conns = Vec::new();
        for _ in 0..CONNECTIONS {
            let (c, _) = listener.accept().await.expect("accept");
            conns.push(tokio::spawn(tokio_echo(c)));
        }
        for c in conns {
            c.await.expect("connection task");
        }
    })
}

/// What `read` and `write_all` of tokio's `io-util` do (a feature this crate does not enable):
/// wait for readiness, then try.
async fn tokio_echo(c: tokio::net::TcpStream) {
    let mut buf = [0u8; MESSAGE];
    loop {
        c.readable().await.expect("readable");
        let n = match c.try_read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        };
        let mut sent = 0;
        while sent < n {
            c.writable().await.expect("writable");
            match c.try_write(&buf[sent..n]) {
                Ok(k) => sent += k,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("write: {e}"),
            }
        }
    }
}

fn serve_smol(addr_tx: mpsc::Sender<SocketAddr>) {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
        let mut conns = Vec::new();
        for _ in 0..CONNECTIONS {
            let (mut c, _) = listener.accept().await.expect("accept");
            conns.push(ex.spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while let Ok(n @ 1..) = c.read(&mut buf).await {
                    c.write_all(&buf[..n]).await.expect("write");
                }
            }));
        }
        for c in conns {
            c.await;
        }
    }))
}
