//! One migration step on a small sync program: before and after, side by side.
//!
//! The program: worker threads each handle "requests"; handling one makes two blocking calls to slow
//! backends (simulated with `thread::sleep`). The migration step rewrites the backend client as async
//! code, which can run both calls of a request concurrently, and lets the old threads call it through a
//! `BlockingPortal`, unchanged otherwise: same thread structure, same function signature.
//!
//! `cargo run --release --example legacy_migration [-- requests]`

use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

const BACKEND_LATENCY: Duration = Duration::from_millis(20);

/// The old client: blocking calls, one after the other.
mod before {
    use super::*;

    fn price(item: u32) -> u32 {
        thread::sleep(BACKEND_LATENCY); // a blocking network call
        item * 3
    }

    fn stock(item: u32) -> u32 {
        thread::sleep(BACKEND_LATENCY);
        item % 7
    }

    /// Called by the legacy worker threads.
    pub fn handle_request(item: u32) -> (u32, u32) {
        (price(item), stock(item))
    }
}

/// After one step: the client is async; the request handler keeps its blocking signature.
mod after {
    use super::*;

    async fn price(item: u32) -> u32 {
        tulip::sleep(BACKEND_LATENCY).await; // an async network call
        item * 3
    }

    async fn stock(item: u32) -> u32 {
        tulip::sleep(BACKEND_LATENCY).await;
        item % 7
    }

    /// The one portal of the process: a tulip loop on its own thread.
    fn portal() -> &'static tulip::BlockingPortal {
        static PORTAL: OnceLock<tulip::BlockingPortal> = OnceLock::new();
        PORTAL.get_or_init(|| tulip::BlockingPortal::start().expect("could not start the portal thread"))
    }

    /// Same signature as before: the legacy threads call it unchanged.
    pub fn handle_request(item: u32) -> (u32, u32) {
        portal()
            .call(move || async move {
                // Both backend calls run concurrently on the loop.
                let lp = tulip::get_running_loop();
                let p = lp.spawn(price(item));
                let s = stock(item).await;
                (p.await.expect("price task"), s)
            })
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
    println!("{requests} requests on 4 legacy threads, two {BACKEND_LATENCY:?} backend calls each");

    let (t_before, sum_before) = serve(requests, before::handle_request);
    println!("before: blocking client        {t_before:>10.1?}  checksum {sum_before}");

    let (t_after, sum_after) = serve(requests, after::handle_request);
    println!("after:  async client via portal {t_after:>10.1?}  checksum {sum_after}");

    assert_eq!(sum_before, sum_after, "the migration must not change results");
    println!("same results; {:.1}x faster per request", t_before.as_secs_f64() / t_after.as_secs_f64());
}
