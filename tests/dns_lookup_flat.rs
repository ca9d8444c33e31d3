//! The DNS free functions return one flat future, `dns::Lookup<T>` (issue 13: no nested `Result`):
//! awaited, waited on, cancelled or bounded, every outcome is a `Result<T, DnsError>`.

use std::time::Duration;

use tulip::dns::{self, Hints, Lookup};
use tulip::{DnsError, JobError};

#[test]
fn a_lookup_is_one_result_however_it_is_awaited() {
    let blocking: Result<Vec<tulip::AddrInfo>, DnsError> =
        dns::getaddrinfo("::1", 80, Hints::default()).wait();
    assert!(blocking.unwrap()[0].addr.ip().is_loopback());
    let polled = futures_lite::future::block_on(dns::getaddrinfo("bad\0host", 80, Hints::default()));
    assert!(matches!(polled, Err(DnsError::InvalidHost { .. })), "{polled:?}");
    let on_loop = tulip::run(async {
        let lp = tulip::get_running_loop();
        let lookup: Lookup<(String, String)> =
            lp.getnameinfo("127.0.0.1:1".parse().unwrap(), dns::NI_NUMERICHOST | dns::NI_NUMERICSERV);
        lookup.await
    });
    assert_eq!(on_loop, Ok(("127.0.0.1".into(), "1".into())));
}

#[test]
fn a_cancelled_lookup_is_a_dns_error() {
    let hold = dns::hold_lookups();
    let lookup = dns::getaddrinfo("localhost", 7, Hints::default());
    assert!(!lookup.is_done());
    assert!(lookup.cancel());
    assert!(lookup.is_done());
    drop(hold);
    assert_eq!(lookup.wait(), Err(DnsError::Job(JobError::Cancelled)));
}

#[test]
fn a_bounded_wait_gives_elapsed_and_leaves_the_lookup_going() {
    let hold = dns::hold_lookups();
    let mut lookup = dns::getaddrinfo("localhost", 8, Hints::default());
    assert_eq!(lookup.wait_timeout(Duration::ZERO), Err(DnsError::Elapsed(tulip::Elapsed)));
    drop(hold);
    assert!(lookup.wait_timeout(Duration::MAX).is_ok());
}
