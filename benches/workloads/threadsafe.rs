//! W3a and W3b: the thread-safe way into a loop.
//!
//! - W3a, throughput: 2 producer threads each post 200,000 callbacks that increment a loop-local
//!   counter; the loop stops when the counter reaches 400,000. Figure: callbacks/s, measured from the
//!   moment the producers are released to the moment the loop has run the last callback.
//! - W3b, latency: a foreign thread posts a callback; the callback sends a reply over a channel the
//!   thread blocks on; 20,000 sequential round trips. Figure: µs per round trip, the median of 5
//!   such runs per system, the systems taking turns (one run is at the mercy of the scheduler on a
//!   shared machine, and load drifts over a whole run).
//!
//! The peers, each with its closest equivalent of `call_soon_threadsafe`:
//!
//! - tokio: a `current_thread` runtime built with `enable_all()` (what `#[tokio::main(flavor =
//!   "current_thread")]` gives; tulip's loop always has its I/O poller too), driven by `block_on` on
//!   the measuring thread. Producers call `Handle::spawn` with a tiny task: tokio has no callback
//!   queue, and a spawned task is how foreign threads hand it work.
//! - smol: an `async_executor::Executor` (the `Send` one: a `LocalExecutor` cannot be reached from
//!   other threads) driven by `async_io::block_on(ex.run(..))` on the measuring thread, so that
//!   thread runs every task and parks in async-io's reactor. Producers call `Executor::spawn(..)`
//!   and detach the task.
//!
//! In every system the counter is a thread-local of the loop's thread, so only that thread touches it.

use std::cell::{Cell, RefCell};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::{median, Report};

const PRODUCERS: usize = 2;
const PER_PRODUCER: usize = 200_000;
const ROUND_TRIPS: usize = 20_000;
/// W3b runs this many times per system, interleaved; the median is reported.
const REPETITIONS: usize = 5;

thread_local! {
    /// The loop-local counter of W3a (touched only on the loop's thread).
    static COUNT: Cell<usize> = const { Cell::new(0) };
    /// What the last callback does to end the run; set on the loop's thread before it runs, so
    /// every system's callbacks have the same body and capture nothing.
    static ON_LAST: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
}

/// The body of every W3a callback: count, and end the run at `total`.
fn count_one(total: usize) {
    let n = COUNT.with(|c| {
        let n = c.get() + 1;
        c.set(n);
        n
    });
    if n == total {
        if let Some(f) = ON_LAST.with(|f| f.borrow_mut().take()) {
            f();
        }
    }
}

fn reset_count(on_last: impl FnOnce() + 'static) {
    COUNT.with(|c| c.set(0));
    ON_LAST.with(|f| *f.borrow_mut() = Some(Box::new(on_last)));
}

/// Starts `PRODUCERS` threads that wait on the returned barrier, then call `post` `per` times each.
fn producers<P>(per: usize, post: P) -> (Arc<Barrier>, Vec<std::thread::JoinHandle<()>>)
where
    P: Fn() + Send + Sync + Clone + 'static,
{
    let go = Arc::new(Barrier::new(PRODUCERS + 1));
    let threads = (0..PRODUCERS)
        .map(|_| {
            let (go, post) = (go.clone(), post.clone());
            std::thread::spawn(move || {
                go.wait();
                for _ in 0..per {
                    post();
                }
            })
        })
        .collect();
    (go, threads)
}

pub fn run(report: &mut Report) {
    if report.wants("W3a") {
        let per = report.scale(PER_PRODUCER, 20);
        let total = per * PRODUCERS;
        report.emit("tulip", "W3a", total as f64 / w3a_tulip(per).as_secs_f64(), "callbacks/s", total);
        report.emit("tokio", "W3a", total as f64 / w3a_tokio(per).as_secs_f64(), "callbacks/s", total);
        report.emit("smol", "W3a", total as f64 / w3a_smol(per).as_secs_f64(), "callbacks/s", total);
    }
    if report.wants("W3b") {
        let n = report.scale(ROUND_TRIPS, 20);
        let us = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        // Latency is at the mercy of the scheduler on a shared machine: the systems take turns, and
        // each one's median over the repetitions is reported.
        let (mut tulip, mut tokio, mut smol) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..report.scale(REPETITIONS, REPETITIONS) {
            tulip.push(us(w3b_tulip(n)));
            tokio.push(us(w3b_tokio(n)));
            smol.push(us(w3b_smol(n)));
        }
        report.emit("tulip", "W3b", median(tulip), "us/roundtrip", n);
        report.emit("tokio", "W3b", median(tokio), "us/roundtrip", n);
        report.emit("smol", "W3b", median(smol), "us/roundtrip", n);
    }
}

fn w3a_tulip(per: usize) -> Duration {
    let total = per * PRODUCERS;
    let lp = tulip::EventLoop::new().expect("event loop");
    let lp2 = lp.clone();
    reset_count(move || lp2.stop());
    let h = lp.handle();
    let (go, threads) = producers(per, move || {
        h.call_soon_threadsafe(move || count_one(total)).expect("loop open");
    });
    go.wait();
    let start = Instant::now();
    lp.run_forever().expect("run");
    let took = start.elapsed();
    threads.into_iter().for_each(|t| t.join().expect("producer"));
    assert_eq!(COUNT.with(Cell::get), total);
    lp.close().expect("close");
    took
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

fn w3a_tokio(per: usize) -> Duration {
    let total = per * PRODUCERS;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    reset_count(move || {
        let _ = done_tx.send(());
    });
    let rt = tokio_rt();
    let h = rt.handle().clone();
    let (go, threads) = producers(per, move || {
        drop(h.spawn(async move { count_one(total) }));
    });
    go.wait();
    let start = Instant::now();
    rt.block_on(done_rx).expect("done signal");
    let took = start.elapsed();
    threads.into_iter().for_each(|t| t.join().expect("producer"));
    assert_eq!(COUNT.with(Cell::get), total);
    took
}

fn w3a_smol(per: usize) -> Duration {
    let total = per * PRODUCERS;
    let (done_tx, done_rx) = smol::channel::bounded::<()>(1);
    reset_count(move || {
        let _ = done_tx.try_send(());
    });
    let ex = Arc::new(async_executor::Executor::new());
    let ex2 = ex.clone();
    let (go, threads) = producers(per, move || {
        ex2.spawn(async move { count_one(total) }).detach();
    });
    go.wait();
    let start = Instant::now();
    async_io::block_on(ex.run(done_rx.recv())).expect("done signal");
    let took = start.elapsed();
    threads.into_iter().for_each(|t| t.join().expect("producer"));
    assert_eq!(COUNT.with(Cell::get), total);
    took
}

/// The foreign thread of W3b: `n` sequential round trips through `post`, which must make the loop
/// send `()` on the given channel.
fn ping_pong<P>(n: usize, post: P) -> std::thread::JoinHandle<Duration>
where
    P: Fn(mpsc::SyncSender<()>) + Send + 'static,
{
    std::thread::spawn(move || {
        let (tx, rx) = mpsc::sync_channel(1);
        // Warm up: the first round trip also pays for thread and loop start-up.
        post(tx.clone());
        rx.recv().expect("reply");
        let start = Instant::now();
        for _ in 0..n {
            post(tx.clone());
            rx.recv().expect("reply");
        }
        start.elapsed()
    })
}

fn w3b_tulip(n: usize) -> Duration {
    let lp = tulip::EventLoop::new().expect("event loop");
    let h = lp.handle();
    let stop = lp.handle();
    let t = ping_pong(n, move |tx| {
        h.call_soon_threadsafe(move || tx.send(()).expect("pinger waits")).expect("loop open");
    });
    // The loop stops when the pinger is done (it posts the stop through the same inbox).
    let waiter = std::thread::spawn(move || {
        let took = t.join().expect("pinger");
        stop.stop();
        took
    });
    lp.run_forever().expect("run");
    let took = waiter.join().expect("waiter");
    lp.close().expect("close");
    took
}

fn w3b_tokio(n: usize) -> Duration {
    let rt = tokio_rt();
    let h = rt.handle().clone();
    let t = ping_pong(n, move |tx| {
        drop(h.spawn(async move { tx.send(()).expect("pinger waits") }));
    });
    // Drive the runtime until the pinger is done.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let waiter = std::thread::spawn(move || {
        let took = t.join().expect("pinger");
        let _ = done_tx.send(());
        took
    });
    rt.block_on(done_rx).expect("done signal");
    waiter.join().expect("waiter")
}

fn w3b_smol(n: usize) -> Duration {
    let ex = Arc::new(async_executor::Executor::new());
    let ex2 = ex.clone();
    let t = ping_pong(n, move |tx| {
        ex2.spawn(async move { tx.send(()).expect("pinger waits") }).detach();
    });
    let (done_tx, done_rx) = smol::channel::bounded::<Duration>(1);
    let waiter = std::thread::spawn(move || {
        let took = t.join().expect("pinger");
        let _ = done_tx.try_send(took);
    });
    let took = async_io::block_on(ex.run(done_rx.recv())).expect("done signal");
    waiter.join().expect("waiter");
    took
}
