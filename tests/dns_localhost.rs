//! `localhost` resolves (from /etc/hosts) to a loopback address, through the loop and the free
//! function alike, with the hints applied.

use tulip::dns::{self, Hints};

#[test]
fn localhost_resolves_on_the_loop() {
    let addrs = tulip::run(async {
        let lp = tulip::get_running_loop();
        lp.getaddrinfo("localhost", 80, Hints::default()).await
    })
    .unwrap();
    assert!(!addrs.is_empty());
    assert!(addrs.iter().any(|a| a.addr.ip().is_loopback()), "{addrs:?}");
    assert!(addrs.iter().all(|a| a.addr.port() == 80));
    assert!(addrs.iter().all(|a| a.family == dns::AF_INET || a.family == dns::AF_INET6));
}

#[test]
fn localhost_resolves_from_blocking_code_and_other_runtimes() {
    let hints = Hints::default().socktype(dns::SOCK_STREAM);
    let blocking = dns::getaddrinfo("localhost", 443, hints).wait().unwrap();
    let on_block_on = futures_lite::future::block_on(dns::getaddrinfo("localhost", 443, hints)).unwrap();
    let on_tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(dns::getaddrinfo("localhost", 443, hints))
        .unwrap();
    assert_eq!(blocking, on_block_on);
    assert_eq!(blocking, on_tokio);
    for a in &blocking {
        assert_eq!((a.socktype, a.protocol), (dns::SOCK_STREAM, dns::IPPROTO_TCP), "{a:?}");
        assert!(a.addr.ip().is_loopback());
    }
}

#[test]
fn family_hint_filters_and_canonname_is_on_the_first_answer() {
    let v4 = Hints::default().family(dns::AF_INET).flags(dns::AI_CANONNAME);
    let addrs = dns::getaddrinfo("localhost", 0, v4).wait().unwrap();
    assert!(addrs.iter().all(|a| a.addr.is_ipv4() && a.family == dns::AF_INET), "{addrs:?}");
    assert!(addrs[0].canonname.as_deref().is_some_and(|n| !n.is_empty()), "{addrs:?}");
    assert!(addrs[1..].iter().all(|a| a.canonname.is_none()));
}

#[test]
fn passive_with_an_empty_host_gives_the_wildcard() {
    let hints = Hints::default().socktype(dns::SOCK_STREAM).flags(dns::AI_PASSIVE);
    let addrs = dns::getaddrinfo("", 8080, hints).wait().unwrap();
    assert!(!addrs.is_empty());
    assert!(addrs.iter().all(|a| a.addr.ip().is_unspecified() && a.addr.port() == 8080), "{addrs:?}");
}
