//! getnameinfo of 127.0.0.1 names the loopback host; numeric flags answer without a thread.

use tulip::dns;

#[test]
fn loopback_has_a_name() {
    let (host, service) =
        tulip::run(async { tulip::get_running_loop().getnameinfo("127.0.0.1:80".parse().unwrap(), 0).await })
            .unwrap();
    // /etc/hosts maps 127.0.0.1 to localhost; other systems may add a domain.
    assert!(host.starts_with("localhost") || host == "127.0.0.1", "{host}");
    assert!(service == "http" || service == "80", "{service}");
}

#[test]
fn name_required_gives_the_name() {
    let (host, port) =
        dns::getnameinfo("127.0.0.1:8080".parse().unwrap(), dns::NI_NAMEREQD | dns::NI_NUMERICSERV)
            .wait()
            .unwrap();
    assert!(host.starts_with("localhost"), "{host}");
    assert_eq!(port, "8080");
}

#[test]
fn numeric_flags_answer_inline() {
    let before = dns::stats();
    let fut = dns::getnameinfo("[::1]:443".parse().unwrap(), dns::NI_NUMERICHOST | dns::NI_NUMERICSERV);
    assert!(fut.is_done());
    assert_eq!(fut.wait().unwrap(), ("::1".to_string(), "443".to_string()));
    assert_eq!(dns::stats().inline, before.inline + 1);
}
