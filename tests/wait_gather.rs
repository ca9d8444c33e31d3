//! `tulip::gather`: outputs in the order given whatever the completion order; the first error is
//! returned and the others are cancelled; `gather_settled` returns every outcome.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulip::{gather, tasks::gather_settled, JobError, ThreadPool};

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, JobError>>>>;

fn after(ms: u64, out: Result<u64, JobError>) -> Boxed<u64> {
    Box::pin(async move {
        tulip::sleep(Duration::from_millis(ms)).await;
        out
    })
}

#[test]
fn outputs_in_the_order_given() {
    let v = tulip::run(gather(vec![after(30, Ok(1)), after(1, Ok(2)), after(15, Ok(3))]));
    assert_eq!(v, Ok(vec![1, 2, 3]));
}

#[test]
fn the_first_error_is_returned_and_the_rest_cancelled() {
    tulip::run(async {
        let finished = Rc::new(Cell::new(false));
        let f = finished.clone();
        let slow: Boxed<u64> = Box::pin(async move {
            tulip::sleep(Duration::from_secs(3600)).await;
            f.set(true);
            Ok(0)
        });
        let r = gather(vec![slow, after(1, Err(JobError::ShutDown))]).await;
        assert_eq!(r, Err(JobError::ShutDown));
        tulip::sleep(Duration::from_millis(5)).await;
        assert!(!finished.get());
    });
}

#[test]
fn pool_jobs_queued_behind_an_error_are_removed() {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let ran = Arc::new(AtomicBool::new(false));
    tulip::run(async move {
        let held = pool.submit(move || rx.recv().map(|_| ()).map_err(|_| ())).unwrap();
        let r = ran.clone();
        let queued = pool
            .submit(move || {
                r.store(true, Ordering::SeqCst);
                Ok(())
            })
            .unwrap();
        let fails = async { Err::<Result<(), ()>, _>(JobError::ShutDown) };
        let futs: Vec<Pin<Box<dyn Future<Output = _>>>> =
            vec![Box::pin(held), Box::pin(queued), Box::pin(fails)];
        assert_eq!(gather(futs).await, Err(JobError::ShutDown));
        tulip::sleep(Duration::from_millis(5)).await;
        // The held job may have been removed before it started: then nobody receives.
        let _ = tx.send(());
        assert!(pool.shutdown_timeout(Duration::from_secs(10)).is_complete());
        assert!(!ran.load(Ordering::SeqCst), "the queued job ran");
    });
}

#[test]
fn gather_settled_returns_every_outcome() {
    let all = tulip::run(gather_settled(vec![
        after(10, Ok(1)),
        after(1, Err(JobError::Cancelled)),
        after(5, Ok(3)),
    ]));
    assert_eq!(all, [Ok(1), Err(JobError::Cancelled), Ok(3)]);
}

#[test]
fn a_panicking_child_is_an_error() {
    let futs: Vec<Boxed<u8>> = vec![Box::pin(async { panic!("child") })];
    assert_eq!(tulip::run(gather(futs)), Err(JobError::Panicked("child".into())));
}
