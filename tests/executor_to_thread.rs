//! `tulip::to_thread`, `set_default_executor` and `shutdown_default_executor`.

use std::time::Duration;

use tulip::{JobError, ThreadPool};

#[test]
fn to_thread_on_the_loop_uses_the_default_executor() {
    let name =
        tulip::run(async { tulip::to_thread(|| std::thread::current().name().map(String::from)).await });
    assert!(name.unwrap().unwrap().starts_with("tulip-executor-"));
}

#[test]
fn to_thread_without_a_loop_works_on_any_runtime() {
    assert_eq!(futures_lite::future::block_on(tulip::to_thread(|| 1)), Ok(1));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let name =
        rt.block_on(async { tulip::to_thread(|| std::thread::current().name().map(String::from)).await });
    assert!(name.unwrap().unwrap().starts_with("tulip-to-thread-"));
    assert_eq!(tulip::to_thread(|| 3).wait(), Ok(3));
}

#[test]
fn set_default_executor_replaces_the_pool() {
    let mine = ThreadPool::builder().max_workers(1).thread_name_prefix("mine").build().unwrap();
    let keep = mine.clone();
    tulip::run(async move {
        let lp = tulip::get_running_loop();
        let first = tulip::to_thread(|| std::thread::current().name().map(String::from)).await.unwrap();
        assert!(first.unwrap().starts_with("tulip-executor-"));
        let created = lp.default_executor().unwrap();
        lp.set_default_executor(mine);
        assert!(created.is_shut_down(), "the loop's own previous executor is shut down");
        let second = tulip::to_thread(|| std::thread::current().name().map(String::from)).await.unwrap();
        assert_eq!(second.as_deref(), Some("mine-0"));
    });
    assert!(keep.is_shut_down(), "the loop shuts its default executor down when it ends");
}

#[test]
fn shutdown_default_executor_waits_for_jobs_and_refuses_new_ones() {
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let slow = lp.run_in_executor(None, || {
            std::thread::sleep(Duration::from_millis(30));
            7
        });
        let queued: Vec<_> = (0..20).map(|i| lp.run_in_executor(None, move || i)).collect();
        // The loop keeps running while the shutdown waits on its own thread.
        let ticker = lp.spawn(async {
            let mut ticks = 0;
            loop {
                tulip::sleep(Duration::from_millis(1)).await;
                ticks += 1;
                if ticks == 3 {
                    return ticks;
                }
            }
        });
        assert_eq!(lp.shutdown_default_executor(None).await, Ok(tulip::ShutdownReport::default()));
        assert_eq!(ticker.await, Ok(3));
        assert_eq!(slow.await, Ok(7));
        for (i, q) in queued.into_iter().enumerate() {
            assert_eq!(q.await, Ok(i), "queued jobs still run");
        }
        assert_eq!(tulip::to_thread(|| 1).await, Err(JobError::ShutDown));
        assert!(matches!(lp.default_executor(), Err(tulip::SubmitError::ShutDown)));
    });
}

#[test]
fn shutdown_default_executor_reports_jobs_left_running() {
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let stuck = lp.run_in_executor(None, move || rx.recv().unwrap());
        let pool = lp.default_executor().unwrap();
        while pool.stats().running == 0 {
            tulip::sleep(Duration::from_millis(1)).await;
        }
        let report = lp.shutdown_default_executor(Some(Duration::from_millis(20))).await.unwrap();
        assert_eq!(report.still_running, 1);
        tx.send(()).unwrap();
        assert_eq!(stuck.await, Ok(()));
    });
}
