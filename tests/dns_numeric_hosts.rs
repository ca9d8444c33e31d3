//! IP literals (IPv4, IPv6, IPv6 with a zone) are answered on the caller's thread: the future is
//! done when returned and the DNS lane is never started.

use std::net::{IpAddr, SocketAddr};

use tulip::dns::{self, Hints};

fn answers(host: &str, hints: Hints) -> Vec<tulip::AddrInfo> {
    let fut = dns::getaddrinfo(host, 8080, hints);
    assert!(fut.is_done(), "{host}: an IP literal must be answered without a thread");
    fut.wait().unwrap()
}

#[test]
fn literals_need_no_thread() {
    let stream = Hints::default().socktype(dns::SOCK_STREAM);
    let before = dns::stats();

    let v4 = answers("192.0.2.7", stream);
    assert_eq!(v4.len(), 1);
    assert_eq!(v4[0].addr, "192.0.2.7:8080".parse::<SocketAddr>().unwrap());
    assert_eq!(
        (v4[0].family, v4[0].socktype, v4[0].protocol),
        (dns::AF_INET, dns::SOCK_STREAM, dns::IPPROTO_TCP)
    );

    let v6 = answers("2001:db8::1", stream);
    assert_eq!(v6[0].addr, "[2001:db8::1]:8080".parse::<SocketAddr>().unwrap());
    assert_eq!(v6[0].family, dns::AF_INET6);

    // A zone given by number, and by interface name (the loopback interface exists everywhere).
    let scoped = answers("fe80::1%1", stream);
    let SocketAddr::V6(a) = scoped[0].addr else { panic!("not IPv6: {scoped:?}") };
    assert_eq!((a.ip().to_string().as_str(), a.scope_id()), ("fe80::1", 1));
    // Windows has no interface named like Unix's loopback (and Wine resolves with the host's names).
    if cfg!(unix) {
        let lo = if cfg!(target_os = "linux") { "lo" } else { "lo0" };
        let named = answers(&format!("fe80::1%{lo}"), stream);
        let SocketAddr::V6(b) = named[0].addr else { panic!("not IPv6: {named:?}") };
        assert_ne!(b.scope_id(), 0, "the zone name must become an interface index");
    }

    // No hints: one answer per socket type, as getaddrinfo gives (Winsock gives one, of type 0).
    let all = answers("127.0.0.1", Hints::default());
    let per_type = if cfg!(windows) { 1 } else { 2 };
    assert!(all.len() >= per_type && all.iter().all(|a| a.addr.ip() == IpAddr::from([127, 0, 0, 1])));

    let after = dns::stats();
    assert_eq!(after.resolver_calls, before.resolver_calls);
    // `>=`: the other tests of this file answer literals in parallel.
    assert!(after.inline >= before.inline + if cfg!(unix) { 5 } else { 4 });
    assert!(after.lane.is_none(), "the DNS lane must not have been started: {after:?}");
}

#[test]
fn a_literal_of_the_wrong_family_is_a_typed_error() {
    let err = dns::getaddrinfo("127.0.0.1", 80, Hints::default().family(dns::AF_INET6)).wait().unwrap_err();
    assert!(err.code().is_some(), "{err:?}");
    assert!(err.is_not_found() || err.code() == Some(dns::EaiCode::Family), "{err:?}");
}

#[test]
fn numeric_host_flag_rejects_names_without_a_thread() {
    let fut = dns::getaddrinfo("localhost", 80, Hints::default().flags(dns::AI_NUMERICHOST));
    assert!(fut.is_done());
    let err = fut.wait().unwrap_err();
    assert_eq!(err.code(), Some(dns::EaiCode::NoName), "{err:?}");
}
