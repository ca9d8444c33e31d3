//! A host name with a NUL byte is refused with a typed error before any resolver call, on every path.

use tulip::dns::{self, Hints};
use tulip::DnsError;

#[test]
fn nul_byte_is_a_typed_error_everywhere() {
    let before = dns::stats();
    let fut = dns::getaddrinfo("local\0host", 80, Hints::default());
    assert!(fut.is_done(), "refused at once");
    let err = fut.wait().unwrap_err();
    assert!(matches!(err, DnsError::InvalidHost { reason, .. } if reason.contains("NUL")), "{err:?}");

    let on_loop =
        tulip::run(async { tulip::get_running_loop().getaddrinfo("\0", 80, Hints::default()).await });
    assert!(matches!(on_loop, Err(DnsError::InvalidHost { .. })), "{on_loop:?}");

    let io_err = tulip::run(tulip::net::TcpStream::connect("a\0b", 80)).unwrap_err();
    assert_eq!(io_err.kind(), std::io::ErrorKind::InvalidInput);

    assert_eq!(dns::stats().resolver_calls, before.resolver_calls);
}
