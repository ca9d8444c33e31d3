//! Chaos: 10,000 thread-pool jobs, about half of which panic (with a `&str`, a `String` or a
//! non-string payload) while another thread cancels random futures. Every job ends exactly once:
//! its value, `Panicked` with its own message, or `Cancelled` (and then it never ran); the pool's
//! counters agree, and it keeps serving with its threads intact.
//!
//! One test function on purpose: the pool's thread count is checked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tulip::{ConcurrentFuture, JobError, ThreadPool};

const JOBS: usize = 10_000;
const WORKERS: usize = 4;

/// A reproducible stream of pseudo-random numbers (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Value,
    PanicStr,
    PanicString,
    PanicOther,
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

#[test]
fn every_job_ends_exactly_once_while_jobs_panic_and_get_cancelled() {
    // Panics are expected by the hundreds; keep the output readable.
    std::panic::set_hook(Box::new(|_| {}));
    let pool = ThreadPool::builder().max_workers(WORKERS).build().unwrap();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let fates: Vec<Fate> = (0..JOBS)
        .map(|_| match rng.next() % 6 {
            0 => Fate::PanicStr,
            1 => Fate::PanicString,
            2 => Fate::PanicOther,
            _ => Fate::Value,
        })
        .collect();

    // The workers are held until the canceller is halfway through, so the first cancellations find
    // queued jobs (and must win) and the later ones race jobs that start, run and end.
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let blockers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let gate = gate.clone();
            pool.submit(move || {
                let mut open = gate.0.lock().unwrap();
                while !*open {
                    open = gate.1.wait(open).unwrap();
                }
            })
            .unwrap()
        })
        .collect();

    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..JOBS).map(|_| AtomicUsize::new(0)).collect());
    let endings: Arc<Vec<AtomicUsize>> = Arc::new((0..JOBS).map(|_| AtomicUsize::new(0)).collect());
    let (cancel_tx, cancel_rx) = mpsc::channel::<(usize, Arc<ConcurrentFuture<usize>>)>();

    // The canceller: cancels about one future in eight, whatever state its job is in.
    let canceller = {
        let gate = gate.clone();
        std::thread::spawn(move || {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
            let mut accepted = Vec::new();
            for (id, fut) in cancel_rx {
                if id == JOBS / 2 {
                    *gate.0.lock().unwrap() = true;
                    gate.1.notify_all();
                }
                if rng.next() % 8 == 0 && fut.cancel() {
                    accepted.push(id);
                }
            }
            accepted
        })
    };

    let mut futures = Vec::with_capacity(JOBS);
    for (id, fate) in fates.iter().copied().enumerate() {
        let runs = runs.clone();
        let fut = pool
            .submit(move || {
                runs[id].fetch_add(1, Ordering::SeqCst);
                match fate {
                    Fate::Value => id,
                    Fate::PanicStr => panic!("static job panic"),
                    Fate::PanicString => panic!("job {id} panicked"),
                    Fate::PanicOther => std::panic::panic_any(id),
                }
            })
            .unwrap();
        let endings = endings.clone();
        fut.add_done_callback(move |_| {
            endings[id].fetch_add(1, Ordering::SeqCst);
        });
        let fut = Arc::new(fut);
        cancel_tx.send((id, fut.clone())).unwrap();
        futures.push(fut);
    }
    drop(cancel_tx);
    let cancelled_ok: std::collections::HashSet<usize> = canceller.join().unwrap().into_iter().collect();
    for b in blockers {
        assert_eq!(b.wait(), Ok(()));
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut values, mut panics, mut cancels) = (0u64, 0u64, 0u64);
    for (id, fut) in futures.into_iter().enumerate() {
        let mut fut = Arc::into_inner(fut).expect("the canceller dropped its clones");
        let left = deadline.saturating_duration_since(Instant::now());
        let outcome = fut.wait_timeout(left).unwrap_or_else(|| panic!("job {id} was lost"));
        let ran = runs[id].load(Ordering::SeqCst);
        match outcome {
            Ok(v) => {
                assert_eq!(v, id);
                assert_eq!(fates[id], Fate::Value, "job {id}");
                values += 1;
            }
            Err(JobError::Panicked(msg)) => {
                let expected = match fates[id] {
                    Fate::PanicStr => "static job panic".to_string(),
                    Fate::PanicString => format!("job {id} panicked"),
                    Fate::PanicOther => "panic with a non-string payload".to_string(),
                    Fate::Value => panic!("job {id} returned normally but reported Panicked({msg})"),
                };
                assert_eq!(msg, expected, "job {id} got another job's panic");
                panics += 1;
            }
            Err(JobError::Cancelled) => {
                assert!(cancelled_ok.contains(&id), "job {id} reported Cancelled but cancel() said false");
                assert_eq!(ran, 0, "job {id} was cancelled, so it must never have run");
                cancels += 1;
                continue;
            }
            Err(e) => panic!("job {id}: unexpected {e:?}"),
        }
        assert!(!cancelled_ok.contains(&id), "cancel() said true for job {id}, which then ended");
        assert_eq!(ran, 1, "job {id} ran {ran} times");
    }
    let _ = std::panic::take_hook();
    for (id, n) in endings.iter().enumerate() {
        assert_eq!(n.load(Ordering::SeqCst), 1, "job {id} ended {} times", n.load(Ordering::SeqCst));
    }
    assert_eq!(values + panics + cancels, JOBS as u64);
    assert!(panics > 1000 && cancels > 100, "the chaos was too mild: {panics} panics, {cancels} cancels");

    let s = pool.stats();
    assert_eq!(s.completed, values + WORKERS as u64, "{s:?}");
    assert_eq!(s.failed, panics, "{s:?}");
    assert_eq!(s.cancelled, cancels, "{s:?}");
    assert!(s.workers <= WORKERS, "{s:?}");

    // The panics cost no thread: the pool still runs WORKERS jobs at once.
    let before = threads();
    let barrier = Arc::new(std::sync::Barrier::new(WORKERS));
    let all: Vec<_> = (0..WORKERS)
        .map(|i| {
            let b = barrier.clone();
            pool.submit(move || {
                b.wait();
                i
            })
            .unwrap()
        })
        .collect();
    for (i, f) in all.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(i));
    }
    assert!(threads() <= before + WORKERS);
    pool.shutdown_timeout(std::time::Duration::MAX);
    println!("thread chaos: {JOBS} jobs: {values} values, {panics} panics, {cancels} cancelled");
}
