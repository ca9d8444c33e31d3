#[path = "../support/process_harness.rs"]
mod harness;
#[path = "../support/pp_tasks.rs"]
mod tasks;

use std::path::PathBuf;
use std::time::Duration;

use harness::{eventually, Case};
use tasks::{mark_then_nap, marker, one};
use tulip::ProcessPool;

const LIVE: Duration = Duration::from_secs(10);

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "a_dropped_future_skips_its_sent_task", run: a_dropped_future_skips_its_sent_task },
        Case { name: "a_dropped_map_skips_its_sent_chunks", run: a_dropped_map_skips_its_sent_chunks },
    ]);
}

/// How long the first task runs: the dropped task's `Cancel` reaches the worker well before it ends.
const FIRST_MS: u64 = 1000;

fn pid(_: ()) -> u32 {
    std::process::id()
}

/// A pool of one worker (frames up to 64 KiB) that pipelines (tiny tasks measured), so tasks are
/// sent ahead; and that worker, stopped (`SIGSTOP`) so that what is sent to it does not start yet.
fn stopped_pipelining_pool() -> (ProcessPool, libc::pid_t) {
    let pool = ProcessPool::builder().max_workers(1).max_frame_size(1 << 16).build().unwrap();
    let warm: Vec<_> = (0..200).map(|i| pool.submit(one, i).unwrap()).collect();
    for f in warm {
        f.wait().unwrap();
    }
    let worker = pool.submit(pid, ()).unwrap().wait().unwrap() as libc::pid_t;
    // SAFETY: signals the worker process this test just learned the pid of.
    unsafe { libc::kill(worker, libc::SIGSTOP) };
    (pool, worker)
}

fn resume(worker: libc::pid_t) {
    // SAFETY: as above.
    unsafe { libc::kill(worker, libc::SIGCONT) };
}

fn a_dropped_future_skips_its_sent_task() {
    let (pool, worker) = stopped_pipelining_pool();
    let (m1, m2) = (marker("first"), marker("second"));
    let first = pool.submit(mark_then_nap, (m1.clone(), FIRST_MS)).unwrap();
    let second = pool.submit(mark_then_nap, (m2.clone(), 0)).unwrap();
    eventually(LIVE, "both tasks are sent", || pool.stats().running == 2);
    drop(second);
    resume(worker);
    assert_eq!(first.wait(), Ok(FIRST_MS));
    assert_eq!(pool.submit(one, 1).unwrap().wait(), Ok(2));
    assert!(m1.exists());
    assert!(!m2.exists(), "the task whose future was dropped ran");
    assert_eq!(pool.stats().cancelled, 1);
    let _ = std::fs::remove_file(m1);
}

fn a_dropped_map_skips_its_sent_chunks() {
    let (pool, worker) = stopped_pipelining_pool();
    let (busy_mark, m1) = (marker("busy"), marker("map"));
    let busy = pool.submit(mark_then_nap, (busy_mark.clone(), FIRST_MS)).unwrap();
    // The first item is over `max_frame_size`: `next` yields its error at once, with the second
    // chunk sent behind the busy task.
    let huge = PathBuf::from("x".repeat(1 << 20));
    let mut map = pool.map(mark_then_nap, [(huge, 0), (m1.clone(), 0)]).chunksize(1);
    assert!(matches!(map.next(), Some(Err(tulip::JobError::Codec(_)))));
    eventually(LIVE, "the chunk is sent", || pool.stats().running == 2);
    drop(map);
    resume(worker);
    assert_eq!(busy.wait(), Ok(FIRST_MS));
    assert_eq!(pool.submit(one, 1).unwrap().wait(), Ok(2));
    assert!(!m1.exists(), "a chunk of the dropped map ran");
    let _ = std::fs::remove_file(busy_mark);
}
