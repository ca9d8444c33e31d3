//! W6a and W6b: the loop's own scheduling, with no other thread involved.
//!
//! - W6a: 1,000,000 `call_soon` callbacks, each scheduling nothing (it bumps a counter, checked at the
//!   end). Figure: callbacks/s, from the first schedule to the end of the last callback.
//! - W6b: 100,000 `call_later` timers with delays spread uniformly over 0–100 ms (timer `i` waits
//!   `(i + 1) * 100 ms / N` past the common start instant); all fire. Figure: ms of wall time beyond
//!   100 ms, from that start to the last timer's callback; the median of 5 runs per system, the
//!   systems taking turns. Every system gets absolute deadlines from
//!   the same start (`call_at`, `sleep_until`, `Timer::at`), so none is charged for when its task
//!   first runs.
//!
//! The peers, each with its closest equivalent:
//!
//! - tokio (`current_thread` runtime with `enable_all()`): W6a spawns 1,000,000 trivial tasks on a
//!   `LocalSet` and runs the set to completion; W6b spawns 100,000 tasks on a `LocalSet`, each awaiting
//!   `tokio::time::sleep_until(deadline)`.
//! - smol: W6a spawns 1,000,000 trivial tasks on an `async_executor::LocalExecutor` and ticks it until
//!   it is empty (no reactor is needed: nothing waits); W6b spawns 100,000 tasks awaiting
//!   `async_io::Timer::at(deadline)` and runs the executor under `async_io::block_on` until the last
//!   task is done.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::{median, Report};

const CALLBACKS: usize = 1_000_000;
const TIMERS: usize = 100_000;
const SPREAD: Duration = Duration::from_millis(100);
/// W6b runs this many times per system, interleaved; the median is reported.
const REPETITIONS: usize = 5;

pub fn run(report: &mut Report) {
    if report.wants("W6a") {
        let n = report.scale(CALLBACKS, 10);
        let rate = |d: Duration| n as f64 / d.as_secs_f64();
        report.emit("tulip", "W6a", rate(w6a_tulip(n)), "callbacks/s", n);
        report.emit("tokio", "W6a", rate(w6a_tokio(n)), "callbacks/s", n);
        report.emit("smol", "W6a", rate(w6a_smol(n)), "callbacks/s", n);
    }
    if report.wants("W6b") {
        let n = report.scale(TIMERS, 10);
        let late = |d: Duration| d.saturating_sub(SPREAD).as_secs_f64() * 1e3;
        // A late wakeup of the last timer is the whole figure: the systems take turns, and each one's
        // median over the repetitions is reported.
        let (mut tulip, mut tokio, mut smol) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..report.scale(REPETITIONS, REPETITIONS) {
            tulip.push(late(w6b_tulip(n)));
            tokio.push(late(w6b_tokio(n)));
            smol.push(late(w6b_smol(n)));
        }
        report.emit("tulip", "W6b", median(tulip), "ms late", n);
        report.emit("tokio", "W6b", median(tokio), "ms late", n);
        report.emit("smol", "W6b", median(smol), "ms late", n);
    }
}

/// The delay of timer `i` of `n`: uniform over [0, SPREAD), the last one at (almost) SPREAD.
fn delay(i: usize, n: usize) -> Duration {
    SPREAD * (i + 1) as u32 / n as u32
}

fn w6a_tulip(n: usize) -> Duration {
    let lp = tulip::EventLoop::new().expect("event loop");
    let count = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    for _ in 0..n {
        let c = count.clone();
        lp.call_soon(move || c.set(c.get() + 1));
    }
    lp.run_until_complete(async {}).expect("run");
    let took = start.elapsed();
    assert_eq!(count.get(), n);
    lp.close().expect("close");
    took
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

fn w6a_tokio(n: usize) -> Duration {
    let rt = tokio_rt();
    let local = tokio::task::LocalSet::new();
    let count = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    for _ in 0..n {
        let c = count.clone();
        drop(local.spawn_local(async move { c.set(c.get() + 1) }));
    }
    // A LocalSet, awaited, completes once all its tasks have.
    rt.block_on(local);
    let took = start.elapsed();
    assert_eq!(count.get(), n);
    took
}

fn w6a_smol(n: usize) -> Duration {
    let ex = async_executor::LocalExecutor::new();
    let count = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    for _ in 0..n {
        let c = count.clone();
        ex.spawn(async move { c.set(c.get() + 1) }).detach();
    }
    while ex.try_tick() {}
    let took = start.elapsed();
    assert_eq!(count.get(), n);
    took
}

fn w6b_tulip(n: usize) -> Duration {
    let lp = tulip::EventLoop::new().expect("event loop");
    let count = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    for i in 0..n {
        let (c, lp2) = (count.clone(), lp.clone());
        lp.call_at(start + delay(i, n), move || {
            c.set(c.get() + 1);
            if c.get() == n {
                lp2.stop();
            }
        });
    }
    lp.run_forever().expect("run");
    let took = start.elapsed();
    assert_eq!(count.get(), n);
    lp.close().expect("close");
    took
}

fn w6b_tokio(n: usize) -> Duration {
    let rt = tokio_rt();
    let local = tokio::task::LocalSet::new();
    let count = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    for i in 0..n {
        let c = count.clone();
        let at = tokio::time::Instant::from_std(start + delay(i, n));
        drop(local.spawn_local(async move {
            tokio::time::sleep_until(at).await;
            c.set(c.get() + 1);
        }));
    }
    rt.block_on(local);
    let took = start.elapsed();
    assert_eq!(count.get(), n);
    took
}

fn w6b_smol(n: usize) -> Duration {
    let ex = async_executor::LocalExecutor::new();
    let count = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let c = count.clone();
            ex.spawn(async move {
                async_io::Timer::at(start + delay(i, n)).await;
                c.set(c.get() + 1);
            })
        })
        .collect();
    async_io::block_on(ex.run(async {
        // Delays grow with i: awaiting in order ends with the last timer.
        for t in tasks {
            t.await;
        }
    }));
    let took = start.elapsed();
    assert_eq!(count.get(), n);
    took
}
