//! Empty and over-long hosts, unknown flag bits, unsupported families and contradictory flags are
//! refused with typed errors before any resolver call.

use tulip::dns::{self, Hints};
use tulip::DnsError;

fn refused(host: &str, hints: Hints) -> DnsError {
    let fut = dns::getaddrinfo(host, 80, hints);
    assert!(fut.is_done(), "{host:?} {hints:?} must be refused at once");
    fut.wait().unwrap_err()
}

/// `AF_UNIX`: 1 on every platform, Windows included (where `libc` does not define it).
const AF_UNIX: i32 = 1;

#[test]
fn bad_hosts_and_hints_are_refused() {
    let d = Hints::default();
    assert!(matches!(refused("", d), DnsError::InvalidHost { .. }));
    assert!(matches!(refused(&"a".repeat(254), d), DnsError::InvalidHost { .. }));
    assert!(matches!(refused(&format!("{}.com", "a.".repeat(200)), d), DnsError::InvalidHost { .. }));
    assert!(matches!(refused("localhost", d.flags(0x4000_0000)), DnsError::InvalidArgument(_)));
    assert!(matches!(refused("localhost", d.family(AF_UNIX)), DnsError::InvalidArgument(_)));
    assert!(matches!(refused("localhost", d.socktype(-1)), DnsError::InvalidArgument(_)));
    assert!(matches!(
        refused("", d.flags(dns::AI_PASSIVE | dns::AI_CANONNAME)),
        DnsError::InvalidArgument(_)
    ));
}

#[test]
fn bad_getnameinfo_flags_are_refused() {
    let addr = "127.0.0.1:80".parse().unwrap();
    for flags in [0x4000_0000, dns::NI_NUMERICHOST | dns::NI_NAMEREQD] {
        let fut = dns::getnameinfo(addr, flags);
        assert!(fut.is_done());
        assert!(matches!(fut.wait(), Err(DnsError::InvalidArgument(_))), "{flags:#x}");
    }
}

#[test]
fn a_253_byte_name_is_accepted_for_lookup() {
    // Valid length (labels of 63 bytes at most): it reaches the resolver, which may say anything but
    // must not be refused as too long.
    let label = "a".repeat(60);
    let host = format!("{label}.{label}.{label}.{label}.invalid");
    assert!(host.len() <= 253);
    let r = dns::getaddrinfo(&host, 80, Hints::default()).wait();
    assert!(!matches!(r, Err(DnsError::InvalidHost { .. })), "{r:?}");
}
