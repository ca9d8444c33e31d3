//! W1c, W3bc, W5ac and their light-load variants: what the sequential round trips of W1, W3b and W5a
//! cost in CPU time, next to their wall time.
//!
//! - `W1c`, `W3bc`, `W5ac`: the round trips back to back, as in W1, W3b and W5a.
//! - `W1g50`, `W1g200`, `W3bg50`, `W3bg200`, `W5ag50`, `W5ag200`: 50 µs (200 µs) of other work on the
//!   loop thread (W1) or the caller thread (W3b, W5a) between two round trips. The work is a busy
//!   loop, like a parser or a hash that holds the thread; its own CPU time (read from the thread's
//!   CPU clock around it) is taken out of the figure, which is the cost of the machinery alone.
//!
//! Figures, per system and workload, two JSON lines: `cpu_us/job` (user + system time of every thread
//! of the process, and for W5a also of the pool's worker processes, per round trip) and `us/job`
//! (wall time per round trip). Each is the median over `REPS` runs in which the systems take turns,
//! so that all see the same load on a shared machine. Each run builds its runtime and pool afresh and
//! warms it with `WARM_UP` untimed round trips; the measuring thread sleeps 5 ms before and after
//! the timed part, so that the other threads stop and their CPU clocks are up to date.
//!
//! The peers are those of W1 (tokio's `spawn_blocking` on a current-thread runtime, smol's
//! `blocking::unblock`), W3b (a tokio current-thread runtime and an `async_executor::Executor`
//! reached with `spawn` from the foreign thread) and W5a (procspawn's pool of 2).
//!
//! Worker processes' CPU comes from `/proc/<pid>/task/*/schedstat` (nanoseconds on CPU per thread),
//! or from the clock ticks of `/proc/<pid>/stat` where schedstat is missing; it is read for every
//! child of this process before and after the timed part, before the pool shuts down.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{median, Report};

/// Runs per system and workload, the systems taking turns.
const REPS: usize = 3;
/// Untimed round trips before each timed part.
const WARM_UP: usize = 200;

/// The variants: workload-id suffix and the other work between two round trips.
const VARIANTS: [(&str, u64); 3] = [("c", 0), ("g50", 50), ("g200", 200)];

pub fn run(report: &mut Report) {
    for (suffix, gap_us) in VARIANTS {
        let gap = Duration::from_micros(gap_us);
        // Back to back, the round trips are short: more of them for a stable figure.
        let scale = |n: usize| if gap_us == 0 { report.scale(n, 10) } else { report.scale(n / 5, 10) };
        let id = format!("W1{suffix}");
        if report.wants(&id) {
            let n = scale(20_000);
            let systems: [(&str, &dyn Fn() -> Cost); 3] = [
                ("tulip", &|| w1_tulip(n, gap)),
                ("tokio", &|| w1_tokio(n, gap)),
                ("smol", &|| w1_smol(n, gap)),
            ];
            compare(report, &id, n, &systems);
        }
        let id = format!("W3b{suffix}");
        if report.wants(&id) {
            let n = scale(20_000);
            let systems: [(&str, &dyn Fn() -> Cost); 3] = [
                ("tulip", &|| w3b_tulip(n, gap)),
                ("tokio", &|| w3b_tokio(n, gap)),
                ("smol", &|| w3b_smol(n, gap)),
            ];
            compare(report, &id, n, &systems);
        }
        let id = format!("W5a{suffix}");
        if report.wants(&id) {
            let n = scale(5_000);
            let systems: [(&str, &dyn Fn() -> Cost); 2] =
                [("tulip", &|| w5a_tulip(n, gap)), ("procspawn", &|| w5a_procspawn(n, gap))];
            compare(report, &id, n, &systems);
        }
    }
}

/// Runs each system `REPS` times, taking turns, and emits the medians.
fn compare(report: &Report, id: &str, n: usize, systems: &[(&str, &dyn Fn() -> Cost)]) {
    let mut costs: Vec<Vec<Cost>> = vec![Vec::new(); systems.len()];
    for rep in 0..report.scale(REPS, REPS) {
        // Each run starts with another system, so that none always follows the same one.
        for i in 0..systems.len() {
            let k = (rep + i) % systems.len();
            costs[k].push((systems[k].1)());
        }
    }
    for ((name, _), runs) in systems.iter().zip(costs) {
        let cpu = median(runs.iter().map(|c| c.cpu_us).collect());
        let wall = median(runs.iter().map(|c| c.wall_us).collect());
        report.emit(name, id, cpu, "cpu_us/job", n);
        report.emit(name, id, wall, "us/job", n);
    }
}

/// One timed run: CPU and wall time per round trip.
#[derive(Clone, Copy)]
struct Cost {
    cpu_us: f64,
    wall_us: f64,
}

/// Measures one timed part: wall time, this process's CPU time, and optionally its children's.
struct Meter {
    wall: Instant,
    cpu: Duration,
    /// CPU time of each child at the start (`None`: children not counted).
    children: Option<HashMap<u32, Duration>>,
    /// CPU time of the other work between round trips, taken out of the figure.
    other: Duration,
}

impl Meter {
    fn start(with_children: bool) -> Meter {
        settle();
        let children = with_children.then(children_cpu);
        Meter {
            wall: Instant::now(),
            cpu: clock(libc::CLOCK_PROCESS_CPUTIME_ID),
            children,
            other: Duration::ZERO,
        }
    }

    /// The other work between two round trips: busy for `gap` on this thread.
    fn other_work(&mut self, gap: Duration) {
        if gap.is_zero() {
            return;
        }
        let cpu = clock(libc::CLOCK_THREAD_CPUTIME_ID);
        let start = Instant::now();
        while start.elapsed() < gap {
            std::hint::spin_loop();
        }
        self.other += clock(libc::CLOCK_THREAD_CPUTIME_ID).saturating_sub(cpu);
    }

    fn stop(self, n: usize) -> Cost {
        let wall = self.wall.elapsed();
        settle();
        let mut cpu = clock(libc::CLOCK_PROCESS_CPUTIME_ID).saturating_sub(self.cpu);
        if let Some(before) = self.children {
            for (pid, now) in children_cpu() {
                cpu += now.saturating_sub(before.get(&pid).copied().unwrap_or_default());
            }
        }
        let per_job = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        Cost { cpu_us: per_job(cpu.saturating_sub(self.other)), wall_us: per_job(wall) }
    }
}

/// Lets every other thread of the system measured go to sleep: the kernel brings a thread's CPU
/// time up to date when it stops running (or at a tick), so a spinning thread's count lags behind.
/// The spins after the last round trip (at most 40 µs per thread by default) are counted, as their
/// cost.
fn settle() {
    std::thread::sleep(Duration::from_millis(5));
}

/// Reads a CPU clock of this process or thread.
fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write into.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time so far of every child process of this one.
fn children_cpu() -> HashMap<u32, Duration> {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else { return HashMap::new() };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // After the command name (which may hold spaces and parentheses): state, ppid, ...
            let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
            if fields.get(1) != Some(&me.as_str()) {
                return None;
            }
            Some((pid, schedstat_cpu(pid).or_else(|| stat_cpu(&fields))?))
        })
        .collect()
}

/// Time on CPU of every thread of `pid`, in ns precision.
fn schedstat_cpu(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = Duration::ZERO;
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += Duration::from_nanos(text.split_ascii_whitespace().next()?.parse().ok()?);
    }
    Some(total)
}

/// utime + stime from the fields of `/proc/<pid>/stat` after the command name, in clock ticks.
fn stat_cpu(fields: &[&str]) -> Option<Duration> {
    // Fields 14 and 15 of the whole line are the 12th and 13th after the command name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / per_sec))
}

async fn w1_loop<F, Fut>(n: usize, gap: Duration, job: F) -> Cost
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    for i in 0..WARM_UP {
        assert_eq!(job(i).await, i);
    }
    let mut meter = Meter::start(false);
    for i in 0..n {
        meter.other_work(gap);
        assert_eq!(job(i).await, i);
    }
    meter.stop(n)
}

fn w1_tulip(n: usize, gap: Duration) -> Cost {
    tulip::run(async move {
        let lp = tulip::get_running_loop();
        w1_loop(n, gap, |i| {
            let fut = lp.run_in_executor(None, move || i);
            async move { fut.await.expect("tulip job") }
        })
        .await
    })
}

fn w1_tokio(n: usize, gap: Duration) -> Cost {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(w1_loop(n, gap, |i| async move {
        tokio::task::spawn_blocking(move || i).await.expect("tokio job")
    }))
}

fn w1_smol(n: usize, gap: Duration) -> Cost {
    futures_lite::future::block_on(w1_loop(n, gap, |i| blocking::unblock(move || i)))
}

/// The foreign thread of W3b: round trips through `post`, which must make the loop send `()` on the
/// given channel; the caller's other work goes between them.
fn w3b_pinger<P>(n: usize, gap: Duration, post: P) -> std::thread::JoinHandle<Cost>
where
    P: Fn(mpsc::SyncSender<()>) + Send + 'static,
{
    std::thread::spawn(move || {
        let (tx, rx) = mpsc::sync_channel(1);
        for _ in 0..WARM_UP {
            post(tx.clone());
            rx.recv().expect("reply");
        }
        let mut meter = Meter::start(false);
        for _ in 0..n {
            meter.other_work(gap);
            post(tx.clone());
            rx.recv().expect("reply");
        }
        meter.stop(n)
    })
}

fn w3b_tulip(n: usize, gap: Duration) -> Cost {
    let lp = tulip::EventLoop::new().expect("event loop");
    let h = lp.handle();
    let stop = lp.handle();
    let pinger = w3b_pinger(n, gap, move |tx| {
        h.call_soon_threadsafe(move || tx.send(()).expect("pinger waits")).expect("loop open");
    });
    let waiter = std::thread::spawn(move || {
        let cost = pinger.join().expect("pinger");
        stop.stop();
        cost
    });
    lp.run_forever().expect("run");
    lp.close().expect("close");
    waiter.join().expect("waiter")
}

fn w3b_tokio(n: usize, gap: Duration) -> Cost {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let h = rt.handle().clone();
    let pinger = w3b_pinger(n, gap, move |tx| {
        drop(h.spawn(async move { tx.send(()).expect("pinger waits") }));
    });
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let waiter = std::thread::spawn(move || {
        let cost = pinger.join().expect("pinger");
        let _ = done_tx.send(());
        cost
    });
    rt.block_on(done_rx).expect("done signal");
    waiter.join().expect("waiter")
}

fn w3b_smol(n: usize, gap: Duration) -> Cost {
    let ex = std::sync::Arc::new(async_executor::Executor::new());
    let ex2 = ex.clone();
    let pinger = w3b_pinger(n, gap, move |tx| {
        ex2.spawn(async move { tx.send(()).expect("pinger waits") }).detach();
    });
    let (done_tx, done_rx) = smol::channel::bounded::<Cost>(1);
    let waiter = std::thread::spawn(move || {
        let cost = pinger.join().expect("pinger");
        let _ = done_tx.try_send(cost);
    });
    let cost = async_io::block_on(ex.run(done_rx.recv())).expect("done signal");
    waiter.join().expect("waiter");
    cost
}

fn add_one(x: u64) -> u64 {
    x + 1
}

/// Sequential round trips through `call`, with the worker processes' CPU counted.
fn w5a_loop(n: usize, gap: Duration, call: impl Fn(u64) -> u64) -> Cost {
    for i in 0..WARM_UP as u64 {
        assert_eq!(call(i), i + 1);
    }
    let mut meter = Meter::start(true);
    for i in 0..n as u64 {
        meter.other_work(gap);
        assert_eq!(call(i), i + 1);
    }
    meter.stop(n)
}

fn w5a_tulip(n: usize, gap: Duration) -> Cost {
    let pool = tulip::ProcessPool::builder().max_workers(2).min_workers(2).build().expect("tulip pool");
    w5a_loop(n, gap, |i| pool.submit(add_one, i).expect("submit").wait().expect("tulip task"))
}

fn w5a_procspawn(n: usize, gap: Duration) -> Cost {
    let pool = procspawn::Pool::new(2).expect("procspawn pool");
    w5a_loop(n, gap, |i| pool.spawn(i, add_one).join().expect("procspawn task"))
}
