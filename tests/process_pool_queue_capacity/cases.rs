#[path = "../support/process_harness.rs"]
mod harness;

use std::path::PathBuf;
use std::time::Duration;

use harness::Case;
use tulip::{ProcessPool, SubmitError};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "try_submit_refuses_when_the_queue_is_full",
            run: try_submit_refuses_when_the_queue_is_full,
        },
        Case { name: "submit_waits_for_room", run: submit_waits_for_room },
        Case { name: "submit_async_waits_without_blocking", run: submit_async_waits_without_blocking },
        Case { name: "a_shutdown_releases_a_waiting_submit", run: a_shutdown_releases_a_waiting_submit },
    ]);
}

const LIVE: Duration = Duration::from_secs(10);

fn mark_then_wait_for(paths: (PathBuf, PathBuf)) -> u32 {
    std::fs::write(&paths.0, b"started").unwrap();
    while !paths.1.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    1
}

fn one(x: u32) -> u32 {
    x
}

fn marker(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tulip-qcap-{}-{name}", std::process::id()))
}

/// A pool of one worker, busy until `release` exists, with a queue of `cap` filled up.
fn full_pool(cap: usize, name: &str) -> (ProcessPool, PathBuf, Vec<tulip::ConcurrentFuture<u32>>) {
    let pool = ProcessPool::builder().max_workers(1).queue_capacity(cap).build().unwrap();
    let (started, release) = (marker(&format!("{name}-started")), marker(&format!("{name}-release")));
    let _ = std::fs::remove_file(&release);
    let mut futs = vec![pool.submit(mark_then_wait_for, (started.clone(), release.clone())).unwrap()];
    harness::eventually(LIVE, "the blocker starts", || started.exists());
    let _ = std::fs::remove_file(started);
    futs.extend((0..cap as u32).map(|i| pool.try_submit(one, i).unwrap()));
    (pool, release, futs)
}

fn try_submit_refuses_when_the_queue_is_full() {
    let (pool, release, futs) = full_pool(2, "try");
    assert_eq!(pool.stats().queued, 2);
    assert_eq!(pool.try_submit(one, 9).unwrap_err(), SubmitError::QueueFull);
    std::fs::write(&release, b"go").unwrap();
    assert_eq!(futs.into_iter().map(|f| f.wait().unwrap()).sum::<u32>(), 1 + 1);
    assert_eq!(pool.try_submit(one, 9).unwrap().wait(), Ok(9));
    let _ = std::fs::remove_file(release);
}

fn submit_waits_for_room() {
    let (pool, release, futs) = full_pool(1, "wait");
    let p = pool.clone();
    let waiter = std::thread::spawn(move || p.submit(one, 7).map(|f| f.wait()));
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished(), "submit did not wait for room");
    std::fs::write(&release, b"go").unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(Ok(7)));
    for f in futs {
        f.wait().unwrap();
    }
    let _ = std::fs::remove_file(release);
}

fn submit_async_waits_without_blocking() {
    let (pool, release, futs) = full_pool(1, "async");
    let got = tulip::run(async {
        let lp = tulip::get_running_loop();
        let p = pool.clone();
        let task = lp.spawn(async move { p.submit_async(one, 5).await });
        // The loop keeps running while the submit waits: this timer fires.
        tulip::sleep(Duration::from_millis(30)).await;
        assert!(!task.is_done(), "submit_async did not wait for room");
        std::fs::write(&release, b"go").unwrap();
        task.await.unwrap().unwrap().await
    });
    assert_eq!(got, Ok(5));
    for f in futs {
        f.wait().unwrap();
    }
    let _ = std::fs::remove_file(release);
}

fn a_shutdown_releases_a_waiting_submit() {
    let (pool, release, futs) = full_pool(1, "shut");
    let p = pool.clone();
    let waiter = std::thread::spawn(move || p.submit(one, 7).map(|_| ()));
    std::thread::sleep(Duration::from_millis(30));
    pool.shutdown();
    assert_eq!(waiter.join().unwrap(), Err(SubmitError::ShutDown));
    std::fs::write(&release, b"go").unwrap();
    for f in futs {
        f.wait().unwrap();
    }
    let _ = std::fs::remove_file(release);
}
