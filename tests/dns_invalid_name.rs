//! A `.invalid` name (RFC 6761: never resolves) fails with a typed resolver error, whichever `EAI_*`
//! code the resolver picks, and carries gai_strerror's text.

use tulip::dns::{self, Hints};
use tulip::DnsError;

#[test]
fn invalid_tld_is_a_typed_resolver_error() {
    let err = tulip::run(async {
        let lp = tulip::get_running_loop();
        lp.getaddrinfo("no-such-host.invalid", 80, Hints::default()).await
    })
    .unwrap_err();
    match &err {
        DnsError::Resolver { code, message, errno } => {
            assert!(!message.is_empty());
            assert_eq!(errno.is_some(), *code == dns::EaiCode::System);
            assert!(err.to_string().contains(code.name()), "{err}");
        }
        other => panic!("expected a resolver error, got {other:?}"),
    }
}

#[test]
fn connect_to_an_invalid_name_carries_the_dns_error() {
    let err = tulip::run(tulip::net::TcpStream::connect("no-such-host.invalid", 80)).unwrap_err();
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<DnsError>());
    assert!(matches!(inner, Some(DnsError::Resolver { .. })), "{err:?}");
}
