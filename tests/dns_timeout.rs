//! A per-call timeout ends the wait with `DnsError::Elapsed` (the crate's one "timed out" type); the
//! abandoned call still completes on the lane and later lookups are unaffected.

use std::time::Duration;

use tulip::dns::{self, Hints};
use tulip::{DnsError, Elapsed, JobError};

#[test]
fn timeout_gives_a_typed_error_and_abandons_the_call() {
    // Hold the lane so the lookup cannot answer before its deadline.
    let hold = dns::hold_lookups();
    let r = tulip::run(async {
        let lp = tulip::get_running_loop();
        lp.getaddrinfo_timeout("localhost", 80, Hints::default(), Duration::from_millis(20)).await
    });
    assert_eq!(r, Err(DnsError::Elapsed(Elapsed)));
    let n = tulip::run(async {
        let lp = tulip::get_running_loop();
        lp.getnameinfo_timeout("127.0.0.1:80".parse().unwrap(), 0, Duration::from_millis(20)).await
    });
    assert_eq!(n, Err(DnsError::Elapsed(Elapsed)));
    drop(hold);

    let ok = tulip::run(async {
        let lp = tulip::get_running_loop();
        lp.getaddrinfo_timeout("localhost", 80, Hints::default(), Duration::from_secs(10)).await
    });
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn blocking_callers_bound_their_wait_with_wait_timeout() {
    let hold = dns::hold_lookups();
    let mut lookup = dns::getaddrinfo("localhost", 90, Hints::default());
    assert_eq!(lookup.wait_timeout(Duration::from_millis(10)), Err(DnsError::Elapsed(Elapsed)));
    drop(hold);
    // The lookup went on: waiting again gets the answer, once.
    assert!(lookup.wait_timeout(Duration::from_secs(10)).is_ok());
    assert_eq!(lookup.wait_timeout(Duration::ZERO), Err(DnsError::Job(JobError::ResultTaken)));
}
