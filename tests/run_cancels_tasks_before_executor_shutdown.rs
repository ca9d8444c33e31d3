//! `tulip::run` and `BlockingPortal::stop` cancel the leftover tasks first, then shut the default
//! executor down, then close the loop (asyncio's order). A leftover task that owns what a running
//! executor job waits for is dropped first, so the job ends and the shutdown does not wait for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

/// Ends within this when the order is right; the executor's shutdown would otherwise wait its full
/// bound (`RUN_EXECUTOR_SHUTDOWN_TIMEOUT`, 10 s) for the job before closing the loop.
fn promptly(since: Instant) {
    let took = since.elapsed();
    assert!(
        took < tulip::RUN_EXECUTOR_SHUTDOWN_TIMEOUT / 2,
        "the executor's shutdown waited for the job ({took:?})"
    );
}

/// A job that runs until every sender of its channel is gone, and says when it ended.
fn job_until_disconnected(rx: mpsc::Receiver<()>, ended: Arc<AtomicBool>) -> impl FnOnce() + Send {
    move || {
        while rx.recv().is_ok() {}
        ended.store(true, Ordering::SeqCst);
    }
}

/// Spawns a task that keeps `tx` until it is cancelled, and starts the job waiting on it (abandoned
/// once it runs: a queued job whose future is dropped would never run).
async fn leave_a_task_and_a_job(ended: Arc<AtomicBool>) {
    let lp = tulip::get_running_loop();
    let (tx, rx) = mpsc::channel::<()>();
    drop(lp.spawn(async move {
        let _keep = tx;
        std::future::pending::<()>().await
    }));
    let job = lp.run_in_executor(None, job_until_disconnected(rx, ended));
    let pool = lp.default_executor().unwrap();
    while pool.stats().running == 0 {
        tulip::sleep(std::time::Duration::from_millis(1)).await;
    }
    drop(job);
}

#[test]
fn run_cancels_leftover_tasks_before_it_waits_for_the_executor() {
    let ended = Arc::new(AtomicBool::new(false));
    let e = ended.clone();
    let since = Instant::now();
    tulip::run(async move {
        leave_a_task_and_a_job(e).await;
    });
    // Cancelled first, the task dropped its sender, so the job ended within the executor's shutdown.
    promptly(since);
    assert!(ended.load(Ordering::SeqCst), "the job was still running when run() returned");
}

#[test]
fn portal_stop_cancels_leftover_tasks_before_it_waits_for_the_executor() {
    let portal = tulip::BlockingPortal::start().unwrap();
    let ended = Arc::new(AtomicBool::new(false));
    let e = ended.clone();
    portal.call(move || leave_a_task_and_a_job(e)).unwrap();
    let since = Instant::now();
    portal.stop();
    promptly(since);
    assert!(ended.load(Ordering::SeqCst), "the job was still running when stop() returned");
}
