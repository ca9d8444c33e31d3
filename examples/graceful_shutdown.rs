//! A service that stops gracefully on SIGTERM (asyncio's advice for production, in tulip).
//!
//! A TCP server on 127.0.0.1 answers one request per connection: a number `n` on a line, first
//! acknowledged with `ok`, then answered with `n + 1` (from a thread pool: a slow blocking call) and
//! `n * n` (from a process pool). On SIGTERM it stops accepting, lets the requests in flight finish
//! within a deadline, shuts both pools down (their workers are reaped), and exits 0.
//!
//! ```text
//! cargo run --example graceful_shutdown          # prints "listening on 127.0.0.1:PORT"
//! printf '7\n' | nc 127.0.0.1 PORT               # ok, then 8 49
//! kill -TERM <pid>                               # "drained N requests", exit 0
//! ```
//!
//! `tests/graceful_shutdown.rs` runs this service, sends SIGTERM mid-load, and checks that every
//! request in flight got its answer and that no worker or child is left.

#[cfg(windows)]
fn main() {
    println!("skipped on Windows: SIGTERM and the process pool are Unix-only (README, Platforms)");
}

#[cfg(unix)]
use std::cell::Cell;
#[cfg(unix)]
use std::io::Write;
#[cfg(unix)]
use std::rc::Rc;
#[cfg(unix)]
use std::time::Duration;

#[cfg(unix)]
use futures_lite::future::or;
#[cfg(unix)]
use futures_lite::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
#[cfg(unix)]
use futures_lite::StreamExt;
#[cfg(unix)]
use tulip::net::{TcpListener, TcpStream};
#[cfg(unix)]
use tulip::{ProcessPool, ThreadPool};

/// How long requests in flight get to finish once SIGTERM arrived.
#[cfg(unix)]
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

#[cfg(unix)]
#[allow(dead_code)] // `tests/graceful_shutdown.rs` includes this file and has its own `main`
fn main() {
    tulip::process::init();
    std::process::exit(service());
}

/// Runs the service until SIGTERM; returns the exit code.
#[cfg(unix)]
pub fn service() -> i32 {
    let threads = ThreadPool::builder().max_workers(4).build().expect("thread pool");
    let procs = ProcessPool::builder().max_workers(2).build().expect("process pool");
    // A first task starts a worker before the first request (and shows the pool works).
    let warm =
        procs.submit(square, 0).map_err(|e| e.to_string()).and_then(|f| f.wait().map_err(|e| e.to_string()));
    if let Err(e) = warm {
        eprintln!("graceful_shutdown: the process pool does not work: {e}");
        return 1;
    }
    let pools = Rc::new((threads.clone(), procs.clone()));
    let drained = tulip::run(serve(pools));
    // Both pools have no work left: these return once their threads and workers are gone.
    let reports = (threads.shutdown_timeout(DRAIN_DEADLINE), procs.shutdown_timeout(DRAIN_DEADLINE));
    match drained {
        Ok(n) => {
            println!("drained {n} requests; pools: {reports:?}");
            0
        }
        Err(e) => {
            eprintln!("graceful_shutdown: {e}");
            1
        }
    }
}

/// Accepts until SIGTERM, then waits for the connections in flight; returns how many were served.
#[cfg(unix)]
async fn serve(pools: Rc<(ThreadPool, ProcessPool)>) -> std::io::Result<usize> {
    let lp = tulip::get_running_loop();
    let mut term = tulip::signal::Signals::new(libc::SIGTERM).map_err(std::io::Error::other)?;
    let listener = TcpListener::bind("127.0.0.1", 0).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let served = Rc::new(Cell::new(0));
    let mut in_flight = Vec::new();
    loop {
        let accepted = or(async { Some(listener.accept().await) }, async {
            term.next().await;
            None
        })
        .await;
        let Some(accepted) = accepted else { break };
        let (conn, _peer) = accepted?;
        let (pools, served) = (pools.clone(), served.clone());
        in_flight.push(lp.spawn(async move {
            if let Err(e) = answer(conn, &pools).await {
                eprintln!("graceful_shutdown: a request failed: {e}");
            } else {
                served.set(served.get() + 1);
            }
        }));
    }
    // Stop accepting: connections not yet accepted are refused from here on.
    drop(listener);
    let all = async {
        for task in in_flight {
            let _ = task.await;
        }
    };
    if tulip::timeout(DRAIN_DEADLINE, all).await.is_err() {
        eprintln!("graceful_shutdown: requests still running at the deadline were dropped");
    }
    Ok(served.get())
}

#[cfg(unix)]
fn square(n: u64) -> u64 {
    n * n
}

/// One request: a number in, `ok` at once, then the two answers.
#[cfg(unix)]
async fn answer(conn: TcpStream, pools: &(ThreadPool, ProcessPool)) -> std::io::Result<()> {
    let mut conn = BufReader::new(conn);
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let n: u64 = line.trim().parse().map_err(std::io::Error::other)?;
    conn.get_mut().write_all(b"ok\n").await?;
    let slow = pools.0.submit(move || {
        std::thread::sleep(Duration::from_millis(200));
        n + 1
    });
    let plus_one = slow.map_err(std::io::Error::other)?.await.map_err(std::io::Error::other)?;
    let sq =
        pools.1.submit(square, n).map_err(std::io::Error::other)?.await.map_err(std::io::Error::other)?;
    conn.get_mut().write_all(format!("{plus_one} {sq}\n").as_bytes()).await
}
