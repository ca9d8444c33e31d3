//! `EventLoop::run_in_executor`: the default executor or a given pool, results back on the loop, and a
//! loop that never blocks on a full bounded pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tulip::{JobError, ThreadPool};

#[test]
fn default_executor_runs_jobs_and_returns_results_to_the_loop() {
    let out = tulip::run(async {
        let lp = tulip::get_running_loop();
        let loop_thread = std::thread::current().id();
        let (v, worker_thread, name) = lp
            .run_in_executor(None, || {
                let t = std::thread::current();
                (21 * 2, t.id(), t.name().map(String::from))
            })
            .await
            .unwrap();
        assert_ne!(worker_thread, loop_thread);
        assert_eq!(std::thread::current().id(), loop_thread, "the task resumes on the loop");
        assert!(name.unwrap().starts_with("tulip-executor-"));
        v
    });
    assert_eq!(out, 42);
}

#[test]
fn many_jobs_at_once_all_complete() {
    let sum = tulip::run(async {
        let lp = tulip::get_running_loop();
        let futs: Vec<_> = (0..5_000u64).map(|i| lp.run_in_executor(None, move || i)).collect();
        let mut sum = 0;
        for f in futs {
            sum += f.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..5_000u64).sum());
}

#[test]
fn given_pool_is_used_and_errors_are_typed() {
    let db = ThreadPool::builder().max_workers(1).thread_name_prefix("db").build().unwrap();
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let name = lp.run_in_executor(Some(&db), || std::thread::current().name().map(String::from)).await;
        assert_eq!(name.unwrap().as_deref(), Some("db-0"));
        let r = lp.run_in_executor(Some(&db), || -> u8 { panic!("bad row") }).await;
        assert_eq!(r, Err(JobError::Panicked("bad row".into())));
        db.shutdown_timeout(std::time::Duration::MAX);
        assert_eq!(lp.run_in_executor(Some(&db), || 1).await, Err(JobError::ShutDown));
    });
}

#[test]
fn dropping_the_future_of_a_queued_job_removes_it() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let (tx, rx) = mpsc::channel::<()>();
        let blocker = lp.run_in_executor(Some(&pool), move || rx.recv().unwrap());
        while pool.stats().running == 0 {
            tulip::sleep(Duration::from_millis(1)).await;
        }
        drop(lp.run_in_executor(Some(&pool), move || r.store(true, Ordering::SeqCst)));
        tx.send(()).unwrap();
        blocker.await.unwrap();
        // A job behind the dropped one proves the worker went past it.
        lp.run_in_executor(Some(&pool), || ()).await.unwrap();
    });
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn a_full_bounded_pool_does_not_block_the_loop() {
    let pool = ThreadPool::builder().max_workers(1).queue_capacity(1).build().unwrap();
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let (tx, rx) = mpsc::channel::<()>();
        let blocker = lp.run_in_executor(Some(&pool), move || rx.recv().unwrap());
        while pool.stats().running == 0 {
            tulip::sleep(Duration::from_millis(1)).await;
        }
        let q1 = lp.run_in_executor(Some(&pool), || 1);
        // The queue is full: these wait for room in tasks on the loop, not by blocking it.
        let q2 = lp.run_in_executor(Some(&pool), || 2);
        let ran3 = Arc::new(AtomicBool::new(false));
        let r3 = ran3.clone();
        let q3 = lp.run_in_executor(Some(&pool), move || r3.store(true, Ordering::SeqCst));
        // The loop is alive: timers fire.
        tulip::sleep(Duration::from_millis(5)).await;
        assert!(!q2.is_done());
        // Cancelling a job still waiting for room removes it.
        assert!(q3.cancel());
        tx.send(()).unwrap();
        assert_eq!(blocker.await, Ok(()));
        assert_eq!(q1.await, Ok(1));
        assert_eq!(q2.await, Ok(2));
        assert_eq!(q3.await, Err(JobError::Cancelled));
        lp.run_in_executor(Some(&pool), || ()).await.unwrap();
        assert!(!ran3.load(Ordering::SeqCst));
    });
}

#[test]
fn completions_wake_a_sleeping_loop() {
    // The loop has nothing else to do: only the job's completion can wake it.
    let v = tulip::run(async {
        tulip::get_running_loop()
            .run_in_executor(None, || {
                std::thread::sleep(Duration::from_millis(30));
                "woke"
            })
            .await
    });
    assert_eq!(v, Ok("woke"));
}
