//! Connecting to a closed port fails promptly with a typed error (`ConnectionRefused`), by name and by
//! address.

use std::io::ErrorKind;
use std::time::Duration;

use tulip::net::TcpStream;

fn closed_port() -> u16 {
    // Bind then drop: the port is free and nothing listens on it.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn closed_port_is_refused_promptly() {
    let port = closed_port();
    tulip::run(async {
        // Liveness bound only: a refused connection must not wait for any connect timeout.
        let by_name = tulip::timeout(Duration::from_secs(10), TcpStream::connect("localhost", port))
            .await
            .expect("connect must fail promptly");
        let err = by_name.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        assert!(err.to_string().contains(&port.to_string()), "the message names the address: {err}");

        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        let by_addr = tulip::timeout(Duration::from_secs(10), TcpStream::connect_addr(addr)).await.unwrap();
        assert_eq!(by_addr.unwrap_err().kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn connect_outside_a_loop_is_an_error_not_a_panic() {
    let err = futures_lite::future::block_on(TcpStream::connect("localhost", 80)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}
