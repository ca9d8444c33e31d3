//! A `Task` polled again after it gave its output reports `ResultTaken`, as a `ConcurrentFuture`
//! does (it used to claim `Cancelled`).

use tulip::{EventLoop, JobError};

#[test]
fn a_task_polled_after_its_output_was_taken_reports_result_taken() {
    let lp = EventLoop::new().unwrap();
    let mut task = lp.spawn(async { 1 });
    assert_eq!(lp.run_until_complete(&mut task), Ok(Ok(1)));
    assert_eq!(lp.run_until_complete(&mut task), Ok(Err(JobError::ResultTaken)));
    assert!(!task.cancel(), "a finished task cannot be cancelled");
    lp.close().unwrap();
}

#[test]
fn a_concurrent_future_agrees() {
    let mut fut = tulip::ConcurrentFuture::ready(Ok(1));
    assert_eq!(futures_lite::future::block_on(&mut fut), Ok(1));
    assert_eq!(futures_lite::future::block_on(&mut fut), Err(JobError::ResultTaken));
}
