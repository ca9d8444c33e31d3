//! One migration step on a small sync program: before and after, side by side, over real HTTP.
//!
//! The program: worker threads each handle "requests"; handling one makes two calls to a slow HTTP
//! backend (a hyper server this example starts on 127.0.0.1, answering after 20 ms). Before, the
//! calls are blocking (`ureq`), one after the other. The migration step rewrites the backend client as
//! async code, which runs both calls of a request concurrently, and lets the old threads call it
//! through a `BlockingPortal`, unchanged otherwise: same thread structure, same function signature.
//! The async client is written twice: hyper natively on the tulip loop (feature `hyper`), and
//! reqwest, a tokio-based crate, through the tokio adapter (feature `tokio`).
//!
//! `cargo run --release --features tokio,hyper --example legacy_migration [-- requests]`

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future::zip;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

const BACKEND_LATENCY: Duration = Duration::from_millis(20);

/// The backend: `GET /price/N` answers `N * 3` and `GET /stock/N` answers `N % 7`, after
/// `BACKEND_LATENCY`. hyper natively on a tulip loop on its own thread.
mod backend {
    use super::*;

    pub fn start() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the backend");
        let addr = listener.local_addr().expect("backend address");
        thread::spawn(move || tulip::run(serve(listener)));
        addr
    }

    async fn serve(listener: std::net::TcpListener) {
        let listener = tulip::net::TcpListener::from_std(listener).expect("register the backend");
        let lp = tulip::get_running_loop();
        while let Ok((stream, _)) = listener.accept().await {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(tulip::compat::LoopTimer)
                .serve_connection(stream, hyper::service::service_fn(answer));
            drop(lp.spawn(conn));
        }
    }

    async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        tulip::sleep(BACKEND_LATENCY).await;
        let mut parts = req.uri().path().trim_start_matches('/').split('/');
        let (what, item) = (parts.next(), parts.next().and_then(|n| n.parse::<u32>().ok()));
        let value = match (what, item) {
            (Some("price"), Some(n)) => n * 3,
            (Some("stock"), Some(n)) => n % 7,
            _ => return Ok(Response::builder().status(404).body(Full::default()).unwrap_or_default()),
        };
        Ok(Response::new(Full::new(Bytes::from(value.to_string()))))
    }
}

fn url(path: &str, item: u32) -> String {
    format!("http://{}/{path}/{item}", backend_addr())
}

fn backend_addr() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(backend::start)
}

/// The old client: blocking calls (`ureq`), one after the other.
mod before {
    use super::*;

    fn get(path: &str, item: u32) -> u32 {
        static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
        let agent = AGENT.get_or_init(ureq::Agent::new_with_defaults);
        let mut resp = agent.get(url(path, item)).call().expect("backend call");
        resp.body_mut().read_to_string().expect("backend body").parse().expect("a number")
    }

    /// Called by the legacy worker threads.
    pub fn handle_request(item: u32) -> (u32, u32) {
        (get("price", item), get("stock", item))
    }
}

/// The one portal of the process: a tulip loop on its own thread, that the legacy threads call into.
fn portal() -> &'static tulip::BlockingPortal {
    static PORTAL: OnceLock<tulip::BlockingPortal> = OnceLock::new();
    PORTAL.get_or_init(|| tulip::BlockingPortal::start().expect("could not start the portal thread"))
}

/// After one step, natively: hyper's client on the tulip loop, one connection per call.
mod after_hyper {
    use super::*;

    async fn get(path: &str, item: u32) -> u32 {
        let stream = tulip::net::TcpStream::connect_addr(backend_addr()).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.expect("handshake");
        drop(tulip::get_running_loop().spawn(conn));
        let req = Request::get(url(path, item)).body(Empty::<Bytes>::new()).expect("a valid request");
        let body = sender.send_request(req).await.expect("backend call").into_body();
        let bytes = body.collect().await.expect("backend body").to_bytes();
        std::str::from_utf8(&bytes).expect("text").parse().expect("a number")
    }

    /// Same signature as before: the legacy threads call it unchanged.
    pub fn handle_request(item: u32) -> (u32, u32) {
        // Both backend calls run concurrently on the loop.
        portal().call(move || zip(get("price", item), get("stock", item))).expect("the portal is running")
    }
}

/// After one step, through the tokio adapter: reqwest, a tokio-based client, in tulip code.
mod after_reqwest {
    use super::*;

    async fn get(client: &reqwest::Client, path: &str, item: u32) -> u32 {
        let resp = client.get(url(path, item)).send().await.expect("backend call");
        resp.text().await.expect("backend body").parse().expect("a number")
    }

    /// Same signature as before: the legacy threads call it unchanged.
    pub fn handle_request(item: u32) -> (u32, u32) {
        static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
        let client = CLIENT.get_or_init(reqwest::Client::new);
        portal()
            .call(move || tulip::compat::tokio(zip(get(client, "price", item), get(client, "stock", item))))
            .expect("the portal is running")
    }
}

/// The legacy part of the program, untouched by the migration: threads, each handling requests.
fn serve(requests: u32, handler: fn(u32) -> (u32, u32)) -> (Duration, u64) {
    let start = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            thread::spawn(move || {
                (0..requests / 4).map(|i| handler(t * 1000 + i)).map(|(p, s)| u64::from(p + s)).sum::<u64>()
            })
        })
        .collect();
    let checksum = threads.into_iter().map(|t| t.join().expect("worker thread")).sum();
    (start.elapsed(), checksum)
}

fn main() {
    let requests: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    println!("{requests} requests on 4 legacy threads, two HTTP calls each to a {BACKEND_LATENCY:?} backend");
    backend_addr();

    let (t_before, sum_before) = serve(requests, before::handle_request);
    println!("before: blocking client (ureq)          {t_before:>10.1?}  checksum {sum_before}");

    let (t_hyper, sum_hyper) = serve(requests, after_hyper::handle_request);
    println!("after:  hyper on the loop, via portal   {t_hyper:>10.1?}  checksum {sum_hyper}");

    let (t_reqwest, sum_reqwest) = serve(requests, after_reqwest::handle_request);
    println!("after:  reqwest via the tokio adapter   {t_reqwest:>10.1?}  checksum {sum_reqwest}");

    assert_eq!(sum_before, sum_hyper, "the migration must not change results");
    assert_eq!(sum_before, sum_reqwest, "the migration must not change results");
    let speedup = |t: Duration| t_before.as_secs_f64() / t.as_secs_f64();
    println!(
        "same results; per request {:.1}x faster natively, {:.1}x through the adapter",
        speedup(t_hyper),
        speedup(t_reqwest)
    );
}
