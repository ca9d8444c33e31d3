//! `TcpListener::bind` listens on every address the host resolves to, as asyncio's `create_server`:
//! all local addresses for an empty host (`0.0.0.0` and `::` side by side, on one port), and each
//! loopback address of "localhost"; `accept` serves every socket.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};

use tulip::net::TcpListener;

/// Whether this machine has IPv6 loopback.
fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

#[test]
fn an_empty_host_binds_every_family_on_one_port() {
    tulip::run(async {
        let l = TcpListener::bind("", 0).await.unwrap();
        let addrs = l.local_addrs().unwrap();
        let port = addrs[0].port();
        assert!(addrs.iter().all(|a| a.port() == port && a.ip().is_unspecified()), "{addrs:?}");
        let mut targets = vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)];
        if ipv6_loopback() {
            assert!(addrs.iter().any(|a| a.is_ipv6()), "IPv6 is available but was not bound: {addrs:?}");
            assert!(addrs.iter().any(|a| a.is_ipv4()), "{addrs:?}");
            targets.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port));
        }
        // Each family reaches its own socket, and accept serves both.
        for target in targets {
            let client = TcpStream::connect(target).unwrap();
            let (conn, peer) = l.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            assert_eq!(conn.local_addr().unwrap().is_ipv6(), target.is_ipv6());
        }
    });
}

#[test]
fn localhost_binds_each_loopback_address_the_resolver_gives() {
    tulip::run(async {
        let resolved: Vec<SocketAddr> =
            std::net::ToSocketAddrs::to_socket_addrs("localhost:1").unwrap().collect();
        let l = TcpListener::bind("localhost", 0).await.unwrap();
        let addrs = l.local_addrs().unwrap();
        let port = addrs[0].port();
        for r in &resolved {
            assert!(addrs.iter().any(|a| a.ip() == r.ip()), "{r} resolved but not bound: {addrs:?}");
        }
        for a in &addrs {
            assert!(a.ip().is_loopback() && a.port() == port, "{addrs:?}");
            let client = TcpStream::connect(a).unwrap();
            let (_conn, peer) = l.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
        }
    });
}

#[test]
fn an_address_that_cannot_be_bound_fails_the_whole_bind_and_is_named() {
    tulip::run(async {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = TcpListener::bind("127.0.0.1", port).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    });
}
