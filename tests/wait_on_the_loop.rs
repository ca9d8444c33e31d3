//! `tulip::tasks::wait` returns as soon as its condition holds and leaves the rest pending;
//! `tulip::tasks::as_completed` yields in completion order and honours its timeout.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_lite::StreamExt;
use tulip::tasks::{as_completed, wait};
use tulip::{Completed, Elapsed, JobError, ReturnWhen};

type Boxed = Pin<Box<dyn Future<Output = Result<u64, JobError>>>>;

fn after(ms: u64, out: Result<u64, JobError>) -> Boxed {
    Box::pin(async move {
        tulip::sleep(Duration::from_millis(ms)).await;
        out
    })
}

const HOUR: u64 = 3_600_000;

#[test]
fn first_completed_returns_at_once_and_the_rest_run_on() {
    tulip::run(async {
        let Completed { done, pending } = wait(
            vec![after(HOUR, Ok(1)), after(1, Ok(2)), after(20, Ok(3))],
            ReturnWhen::FirstCompleted,
            None,
        )
        .await;
        assert_eq!(done.len(), 1);
        assert_eq!(pending.len(), 2);
        assert_eq!(done.into_iter().next().unwrap().await, Ok(Ok(2)));
        let mut pending = pending.into_iter();
        let first = pending.next().unwrap();
        assert_eq!(pending.next().unwrap().await, Ok(Ok(3)), "a pending one runs on");
        assert!(first.cancel());
    });
}

#[test]
fn first_error_returns_at_the_error() {
    tulip::run(async {
        let futs = vec![after(1, Ok(1)), after(10, Err(JobError::ShutDown)), after(HOUR, Ok(3))];
        let c = wait(futs, ReturnWhen::FirstError, None).await;
        assert_eq!((c.done.len(), c.pending.len()), (2, 1));
        assert_eq!(c.done.into_iter().nth(1).unwrap().await, Ok(Err(JobError::ShutDown)));
        assert!(c.pending[0].cancel());
    });
}

#[test]
fn all_completed_with_a_timeout_returns_what_is_done() {
    tulip::run(async {
        let futs = vec![after(HOUR, Ok(1)), after(1, Ok(2))];
        let c = wait(futs, ReturnWhen::AllCompleted, Some(Duration::from_millis(30))).await;
        assert_eq!((c.done.len(), c.pending.len()), (1, 1));
        assert!(!c.pending[0].is_done(), "the timeout cancels nothing");
        assert!(c.pending[0].cancel());
    });
}

#[test]
fn as_completed_yields_in_completion_order() {
    let order: Vec<u64> = tulip::run(async {
        let futs = [30, 1, 15].map(|ms| after(ms, Ok(ms)));
        as_completed(futs, None).map(|r| r.unwrap().unwrap()).collect().await
    });
    assert_eq!(order, [1, 15, 30]);
}

#[test]
fn as_completed_honours_its_timeout() {
    tulip::run(async {
        let futs = vec![after(HOUR, Ok(1)), after(1, Ok(2))];
        let mut s = as_completed(futs, Some(Duration::from_millis(20)));
        assert_eq!(s.next().await, Some(Ok(Ok(2))));
        assert_eq!(s.next().await, Some(Err(Elapsed)));
        assert_eq!(s.next().await, None);
    });
}

#[test]
fn as_completed_reports_panics_as_errors() {
    tulip::run(async {
        let futs: Vec<Boxed> = vec![Box::pin(async { panic!("p") })];
        let out: Vec<_> = as_completed(futs, None).collect().await;
        assert_eq!(out, [Ok(Err(JobError::Panicked("p".into())))]);
    });
}
