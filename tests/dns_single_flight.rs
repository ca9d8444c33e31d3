//! Identical lookups in flight at the same time share one resolver call; different ones do not; a
//! flight whose callers have all gone makes no call at all.
//!
//! `dns::hold_lookups()` (a test hook) keeps lane jobs from calling the resolver until released, so the
//! lookups overlap deterministically. The tests run one after another in one `#[test]`, because the
//! counters are process-wide.

use std::time::{Duration, Instant};

use tulip::dns::{self, Hints};

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn identical_lookups_share_one_call() {
    // 50 identical lookups from blocking code and 10 from a loop.
    let before = dns::stats();
    let hold = dns::hold_lookups();
    let hints = Hints::default().socktype(dns::SOCK_STREAM);
    let futs: Vec<_> = (0..50).map(|_| dns::getaddrinfo("localhost", 80, hints)).collect();
    let other_port = dns::getaddrinfo("localhost", 81, hints);
    assert_eq!(dns::stats().in_flight, 2);
    assert_eq!(dns::stats().joined, before.joined + 49);
    let waiter = std::thread::spawn(move || {
        tulip::run(async {
            let lp = tulip::get_running_loop();
            let mut answers = Vec::new();
            let pending: Vec<_> = (0..10).map(|_| lp.getaddrinfo("localhost", 80, hints)).collect();
            for p in pending {
                answers.push(p.await.unwrap());
            }
            answers
        })
    });
    wait_until("the loop's lookups to join", || dns::stats().joined == before.joined + 59);
    drop(hold);

    let first = futs.into_iter().map(|f| f.wait().unwrap()).collect::<Vec<_>>();
    let from_loop = waiter.join().unwrap();
    assert!(first.iter().chain(&from_loop).all(|a| *a == first[0]));
    assert_eq!(other_port.wait().unwrap()[0].addr.port(), 81);
    let after = dns::stats();
    assert_eq!(after.resolver_calls, before.resolver_calls + 2, "one call per distinct question");
    assert_eq!(after.in_flight, 0);

    // A later identical lookup is a new flight: nothing is cached.
    dns::getaddrinfo("localhost", 80, hints).wait().unwrap();
    assert_eq!(dns::stats().resolver_calls, after.resolver_calls + 1);

    cancelling_one_caller_leaves_the_others_answered();
    a_flight_nobody_waits_for_makes_no_call();
}

fn cancelling_one_caller_leaves_the_others_answered() {
    let hold = dns::hold_lookups();
    let a = dns::getaddrinfo("localhost", 82, Hints::default());
    let b = dns::getaddrinfo("localhost", 82, Hints::default());
    assert!(a.cancel(), "a caller can always give up its own lookup");
    assert_eq!(a.wait(), Err(tulip::DnsError::Job(tulip::JobError::Cancelled)));
    drop(hold);
    assert!(b.wait().is_ok());
}

fn a_flight_nobody_waits_for_makes_no_call() {
    let before = dns::stats();
    let hold = dns::hold_lookups();
    let f = dns::getaddrinfo("localhost", 83, Hints::default());
    drop(f);
    drop(hold);
    wait_until("the abandoned flight to end", || dns::stats().in_flight == 0);
    wait_until("the lane job to finish", || {
        dns::stats().lane.is_some_and(|l| l.running == 0 && l.queued == 0)
    });
    assert_eq!(dns::stats().resolver_calls, before.resolver_calls, "nobody wanted the answer");
}
