//! One set of errors (issue 13): every error type is a plain value (`Clone + PartialEq + Eq + Error +
//! Send + Sync`), a task's outcome is a `JobError` like every other job's, and "timed out" is said
//! once per meaning: `JobError::TimedOut(limit)` for a run-time limit, `Elapsed` for a deadline.

use std::time::Duration;

use tulip::dns::DnsError;
use tulip::{BuildError, Elapsed, EventLoop, JobError, LoopClosed, RunError, SubmitError};

fn is_value_error<E: Clone + PartialEq + Eq + std::error::Error + Send + Sync + 'static>(e: E) {
    assert_eq!(e.clone(), e);
    assert!(!e.to_string().is_empty());
}

#[test]
fn every_error_type_is_a_comparable_clonable_error() {
    is_value_error(BuildError::InvalidConfig("x".into()));
    is_value_error(SubmitError::QueueFull);
    is_value_error(JobError::TimedOut(Duration::from_secs(1)));
    is_value_error(LoopClosed);
    is_value_error(RunError::Closed);
    is_value_error(Elapsed);
    is_value_error(DnsError::Elapsed(Elapsed));
}

#[test]
fn a_run_time_limit_names_itself_and_says_queue_time_is_not_counted() {
    let msg = JobError::TimedOut(Duration::from_millis(1500)).to_string();
    assert!(msg.contains("1.5s"), "{msg}");
    assert!(msg.contains("queue"), "{msg}");
}

#[test]
fn a_deadline_says_that_queue_time_counted() {
    let msg = Elapsed.to_string();
    assert!(msg.contains("queue"), "{msg}");
}

#[test]
fn a_task_ends_with_the_job_error_of_a_pool_job() {
    let lp = EventLoop::new().unwrap();
    let task = lp.spawn(std::future::pending::<()>());
    task.cancel();
    let out: Result<(), JobError> = lp.run_until_complete(task).unwrap();
    assert_eq!(out, Err(JobError::Cancelled));
    let boom = lp.spawn(async { panic!("task boom") });
    assert_eq!(lp.run_until_complete(boom).unwrap(), Err::<(), _>(JobError::Panicked("task boom".into())));
}

#[test]
fn dns_errors_wrap_the_shared_types_and_map_to_io_kinds() {
    use std::io::ErrorKind;
    let kind = |e: DnsError| std::io::Error::from(e).kind();
    assert_eq!(kind(DnsError::Elapsed(Elapsed)), ErrorKind::TimedOut);
    assert_eq!(kind(DnsError::Job(JobError::Cancelled)), ErrorKind::Interrupted);
    assert_eq!(kind(DnsError::Job(JobError::Spawn("no threads".into()))), ErrorKind::Other);
    assert_eq!(DnsError::from(Elapsed), DnsError::Elapsed(Elapsed));
    assert_eq!(DnsError::from(JobError::ShutDown), DnsError::Job(JobError::ShutDown));
}
