//! Process pool: dropping the future of a task that was sent to a worker but has not started (or a
//! `ProcessMap` with such chunks) skips it, as the docs say; before, it ran anyway (issue 11,
//! "dropping a ProcessMap or a future does not skip tasks already sent").

#[path = "support/process_harness.rs"]
mod harness;
#[path = "support/pp_tasks.rs"]
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

/// A pool of one worker (frames up to 64 KiB) that pipelines (tiny tasks measured), so tasks are sent ahead.
fn pipelining_pool() -> ProcessPool {
    let pool = ProcessPool::builder().max_workers(1).max_frame_size(1 << 16).build().unwrap();
    let warm: Vec<_> = (0..200).map(|i| pool.try_submit(one, i).unwrap()).collect();
    for f in warm {
        f.wait().unwrap();
    }
    pool
}

fn a_dropped_future_skips_its_sent_task() {
    let pool = pipelining_pool();
    let (m1, m2) = (marker("first"), marker("second"));
    let first = pool.try_submit(mark_then_nap, (m1.clone(), 300)).unwrap();
    let second = pool.try_submit(mark_then_nap, (m2.clone(), 0)).unwrap();
    eventually(LIVE, "both tasks are sent", || pool.stats().in_flight == 2);
    drop(second);
    assert_eq!(first.wait(), Ok(300));
    assert_eq!(pool.try_submit(one, 1).unwrap().wait(), Ok(2));
    assert!(m1.exists());
    assert!(!m2.exists(), "the task whose future was dropped ran");
    assert_eq!(pool.stats().cancelled, 1);
    let _ = std::fs::remove_file(m1);
}

fn a_dropped_map_skips_its_sent_chunks() {
    let pool = pipelining_pool();
    let (busy_mark, m1) = (marker("busy"), marker("map"));
    let busy = pool.try_submit(mark_then_nap, (busy_mark.clone(), 300)).unwrap();
    // The first item is over `max_frame_size`: `next` yields its error at once, with the second
    // chunk sent behind the busy task.
    let huge = PathBuf::from("x".repeat(1 << 20));
    let mut map = pool.map(mark_then_nap, [(huge, 0), (m1.clone(), 0)], 1).unwrap();
    assert!(matches!(map.next(), Some(Err(tulip::JobError::Codec(_)))));
    eventually(LIVE, "the chunk is sent", || pool.stats().in_flight == 2);
    drop(map);
    assert_eq!(busy.wait(), Ok(300));
    assert_eq!(pool.try_submit(one, 1).unwrap().wait(), Ok(2));
    assert!(!m1.exists(), "a chunk of the dropped map ran");
    let _ = std::fs::remove_file(busy_mark);
}
