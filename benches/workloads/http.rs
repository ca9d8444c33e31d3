//! W7h: HTTP/1.1 keep-alive GETs on one loop (feature `hyper`).
//!
//! A hyper HTTP/1.1 server runs on one loop (one task per connection) and answers every `GET` with
//! a 1 KiB body. 64 keep-alive client connections, driven by one other thread with `poll(2)` as in
//! W7, each send a `GET` and wait for the whole response, again and again, until 100,000 requests in
//! all were answered or 5 s passed. Figures: requests/s, and the p99 (beside it p50 and max) of the
//! round trips of every connection.
//!
//! The peers, each with the same hyper server on its own runtime:
//!
//! - tulip: hyper natively on the loop (`tulip::compat`: `rt::Read`/`rt::Write` for `net::TcpStream`).
//! - tokio: hyper on a `current_thread` runtime, through `hyper_util::rt::TokioIo`, one
//!   `tokio::spawn`ed task per connection.
//! - smol: hyper on an `async_executor::LocalExecutor` run under `smol::block_on`, `smol::net`
//!   (async-io) through `smol_hyper::rt::FuturesIo`, one spawned task per connection.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

use crate::echo::{measure, Conn, Server, CONNECTIONS};
use crate::Report;

const REQUESTS: usize = 100_000;
const BODY: [u8; 1024] = [b'x'; 1024];
const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: bench\r\n\r\n";

pub fn run(report: &mut Report) {
    if !report.wants("W7h") {
        return;
    }
    let total = report.scale(REQUESTS, 10);
    let systems = [("tulip", serve_tulip as Server), ("tokio", serve_tokio), ("smol", serve_smol)];
    measure::<Client>(report, "W7h", total, &systems);
}

/// One keep-alive client connection: a `GET` in flight and what of its response came back.
struct Client {
    stream: TcpStream,
    sent_at: Instant,
    response: Vec<u8>,
}

impl Conn for Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_nonblocking(true).expect("nonblocking");
        Client { stream, sent_at: Instant::now(), response: Vec::with_capacity(2048) }
    }

    fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    fn send(&mut self) {
        self.sent_at = Instant::now();
        self.stream.write_all(GET).expect("send");
        self.response.clear();
    }

    /// Reads what is there; the round trip once the whole response is back.
    fn receive(&mut self) -> Option<Duration> {
        let mut buf = [0u8; 4096];
        match self.stream.read(&mut buf) {
            Ok(0) => panic!("the server closed a connection"),
            Ok(n) => self.response.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("response: {e}"),
        }
        complete(&self.response).then(|| self.sent_at.elapsed())
    }
}

/// Whether `r` holds a whole response: its head and `content-length` bytes of body.
fn complete(r: &[u8]) -> bool {
    let Some(head_end) = r.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&r[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .expect("a content-length header");
    r.len() >= head_end + 4 + len
}

async fn answer(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(&BODY))))
}

fn serve_tulip(addr_tx: mpsc::Sender<SocketAddr>) {
    tulip::run(async move {
        let lp = tulip::get_running_loop();
        let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.expect("bind");
        addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
        let mut conns = Vec::new();
        for _ in 0..CONNECTIONS {
            let (c, _) = listener.accept().await.expect("accept");
            let http = hyper::server::conn::http1::Builder::new();
            conns.push(
                lp.spawn(async move { http.serve_connection(c, hyper::service::service_fn(answer)).await }),
            );
        }
        for c in conns {
            let _ = c.await.expect("connection task");
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
            let io = hyper_util::rt::TokioIo::new(c);
            let http = hyper::server::conn::http1::Builder::new();
            conns.push(tokio::spawn(async move {
                http.serve_connection(io, hyper::service::service_fn(answer)).await
            }));
        }
        for c in conns {
            let _ = c.await.expect("connection task");
        }
    })
}

fn serve_smol(addr_tx: mpsc::Sender<SocketAddr>) {
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
        let mut conns = Vec::new();
        for _ in 0..CONNECTIONS {
            let (c, _) = listener.accept().await.expect("accept");
            let io = smol_hyper::rt::FuturesIo::new(c);
            let http = hyper::server::conn::http1::Builder::new();
            conns.push(
                ex.spawn(async move { http.serve_connection(io, hyper::service::service_fn(answer)).await }),
            );
        }
        for c in conns {
            let _ = c.await;
        }
    }))
}
