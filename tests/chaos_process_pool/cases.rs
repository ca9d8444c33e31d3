#[path = "../support/census.rs"]
mod census;
#[path = "../support/process_harness.rs"]
mod harness;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::Case;
use tulip::{JobError, ProcessPool};

const TASKS: u32 = 10_000;
const WORKERS: usize = 2;

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "every_task_ends_exactly_once_while_workers_are_killed",
            run: || every_task_ends_exactly_once_while_workers_are_killed(false),
        },
        Case {
            name: "every_task_ends_exactly_once_while_starting_workers_are_killed_too",
            run: || every_task_ends_exactly_once_while_workers_are_killed(true),
        },
    ]);
}

/// Bytes per side-file record: a divisor of the page size, so no record straddles a page.
const RECORD: usize = 32;

/// The task: note that it ran, and where, spin a little so that kills land on running tasks, return
/// the id. One `write` on an `O_APPEND` file is atomic with respect to the other workers' writes, and
/// records of a fixed size that divides the page size never straddle a page, so a `SIGKILL` in the
/// middle of the `write` cannot leave half a record either (the kernel stops a killed writer only
/// between pages).
fn record((id, path): (u32, PathBuf)) -> u32 {
    let mut f = std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(path).unwrap();
    let line = format!("{id:>10} {:>10}", std::process::id());
    f.write_all(format!("{line:<width$}\n", width = RECORD - 1).as_bytes()).unwrap();
    let until = Instant::now() + Duration::from_micros(50);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    id
}

/// Reads what was appended to a file since the last call, line by line.
#[derive(Default)]
struct Tail {
    file: Option<std::fs::File>,
    partial: String,
}

impl Tail {
    fn read_new(&mut self, path: &std::path::Path, mut line: impl FnMut(&str)) {
        if self.file.is_none() {
            self.file = std::fs::File::open(path).ok();
        }
        let Some(f) = self.file.as_mut() else { return };
        let mut buf = String::new();
        if f.read_to_string(&mut buf).is_err() {
            return;
        }
        self.partial.push_str(&buf);
        while let Some(at) = self.partial.find('\n') {
            let l: String = self.partial.drain(..=at).collect();
            line(l.trim_end());
        }
    }
}

fn every_task_ends_exactly_once_while_workers_are_killed(kill_starting: bool) {
    let side = std::env::temp_dir().join(format!("tulip-chaos-{}", std::process::id()));
    let _ = std::fs::remove_file(&side);
    let pool = ProcessPool::builder().max_workers(WORKERS).min_workers(WORKERS).build().unwrap();

    // Every completion counted as it happens, independently of the values waited for below.
    let endings: Arc<Vec<AtomicUsize>> = Arc::new((0..TASKS).map(|_| AtomicUsize::new(0)).collect());
    let futures: Vec<_> = (0..TASKS)
        .map(|id| {
            let fut = pool.submit(record, (id, side.clone())).unwrap();
            let endings = endings.clone();
            fut.add_done_callback(move |_| {
                endings[id as usize].fetch_add(1, Ordering::SeqCst);
            });
            fut
        })
        .collect();

    // The killer: a random worker (in service, or any live one) every 3 ms until every task has ended.
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicU64::new(0));
    let killer = {
        let (stop, kills, side) = (stop.clone(), kills.clone(), side.clone());
        std::thread::spawn(move || {
            let mut seed = 0x9E37_79B9_7F4A_7C15u64;
            let mut in_service = HashSet::new();
            let mut log = Tail::default();
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(3));
                log.read_new(&side, |line| {
                    if let Some(pid) = line.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok()) {
                        in_service.insert(pid);
                    }
                });
                let mut pids = census::live_children();
                if !kill_starting {
                    pids.retain(|p| in_service.contains(p));
                }
                if pids.is_empty() {
                    continue;
                }
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let victim = pids[(seed % pids.len() as u64) as usize];
                // SAFETY: a signal to a child of ours, read from /proc a moment ago.
                if unsafe { libc::kill(victim, libc::SIGKILL) } == 0 {
                    kills.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };

    // Liveness bound only: on 2 cores the run takes a few seconds.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut outcomes = Vec::with_capacity(TASKS as usize);
    for (id, mut fut) in futures.into_iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        match fut.wait_timeout(left) {
            Some(r) => outcomes.push(r),
            None => panic!("task {id} was lost: no outcome within the liveness bound; {:?}", pool.stats()),
        }
    }
    stop.store(true, Ordering::SeqCst);
    killer.join().unwrap();
    let kills = kills.load(Ordering::SeqCst);

    // What ran, from the side file.
    let mut runs = vec![0u32; TASKS as usize];
    for line in std::fs::read_to_string(&side).unwrap_or_default().lines() {
        let id = line.split_whitespace().next().and_then(|id| id.parse::<usize>().ok());
        let id = id.unwrap_or_else(|| panic!("torn side-file line {line:?}"));
        runs[id] += 1;
    }
    let _ = std::fs::remove_file(&side);

    let (mut ok, mut died) = (0u64, 0u64);
    for (id, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(v) => {
                assert_eq!(*v as usize, id, "task {id} got another task's value");
                assert_eq!(runs[id], 1, "task {id} succeeded but ran {} times", runs[id]);
                ok += 1;
            }
            Err(JobError::WorkerDied(how)) => {
                assert!(how.contains("SIGKILL") || how.contains("signal 9"), "task {id}: {how}");
                assert!(runs[id] <= 1, "task {id} failed but ran {} times", runs[id]);
                died += 1;
            }
            Err(e) => panic!("task {id}: unexpected error {e:?}"),
        }
    }
    for (id, n) in endings.iter().enumerate() {
        assert_eq!(n.load(Ordering::SeqCst), 1, "task {id} ended {} times", n.load(Ordering::SeqCst));
    }
    assert_eq!(ok + died, u64::from(TASKS));

    let mut kinds = std::collections::BTreeMap::new();
    for o in &outcomes {
        if let Err(e) = o {
            *kinds.entry(e.to_string()).or_insert(0u32) += 1;
        }
    }
    for (k, n) in &kinds {
        println!("  {n:>6} x {k}");
    }
    let stats = pool.stats();
    println!(
        "chaos: {TASKS} tasks, {kills} kills: {ok} ok, {died} WorkerDied; stats: {} deaths, {} workers started",
        stats.worker_deaths, stats.workers_started
    );
    assert!(kills >= 20, "the killer hardly ran ({kills} kills): the test proved little");
    assert!(died > 0, "no kill landed on a running task in {kills} kills");
    // Each death fails at most the one task its worker was running; each kill makes at most one
    // death; every task a worker ran to the end is counted once.
    assert!(died <= stats.worker_deaths, "{died} tasks failed but {} workers died", stats.worker_deaths);
    assert!(stats.worker_deaths <= kills, "{} deaths from {kills} kills", stats.worker_deaths);
    assert_eq!(stats.completed, ok, "completed counter vs tasks that returned a value");

    // Back at full size, and serving. The killer's last victim may still be dying when the tasks
    // are all in, so this waits (a liveness bound) until the pool, the process table and the
    // counters agree: WORKERS ready workers, as many live children and no zombie, and exactly one
    // replacement per death.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (children, zombies) = census::children();
        let s = pool.stats();
        let settled = s.workers == WORKERS
            && s.idle == WORKERS
            && children == WORKERS
            && zombies == 0
            && s.workers_started == WORKERS as u64 + s.worker_deaths;
        if settled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pool did not get back to full size: {children} live children, {zombies} zombies, {s:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let side2 = side.with_extension("after");
    let after: Vec<_> = (0..100).map(|id| pool.submit(record, (id, side2.clone())).unwrap()).collect();
    for (id, f) in after.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(id as u32));
    }
    let _ = std::fs::remove_file(&side2);

    // Dropping the last handle lets the workers go without waiting; they are reaped soon after.
    drop(pool);
    let deadline = Instant::now() + Duration::from_secs(10);
    while census::children() != (0, 0) {
        assert!(Instant::now() < deadline, "a worker outlived its pool, or was not reaped");
        std::thread::sleep(Duration::from_millis(5));
    }
}
