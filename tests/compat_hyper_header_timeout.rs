//! hyper natively on the loop: with `LoopTimer`, a client that sends its headers too slowly hits
//! the server's header read timeout and the connection is closed.
#![cfg(feature = "hyper")]

use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};

#[test]
fn a_slow_client_hits_the_header_read_timeout() {
    tulip::run(async {
        let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let lp = tulip::get_running_loop();
        let server = lp.spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(|_req| async {
                Ok::<_, std::convert::Infallible>(hyper::Response::new(String::from("never")))
            });
            hyper::server::conn::http1::Builder::new()
                .timer(tulip::compat::LoopTimer)
                .header_read_timeout(Duration::from_millis(100))
                .serve_connection(stream, service)
                .await
        });
        let mut client = tulip::net::TcpStream::connect_addr(addr).await.unwrap();
        // Half a request, then nothing.
        client.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await.unwrap();
        let mut rest = Vec::new();
        // Liveness bound only: the timeout is 100 ms.
        let read = tulip::timeout(Duration::from_secs(10), client.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the server never closed the connection");
        let err = server.await.unwrap().expect_err("the connection must end in an error");
        assert!(err.is_timeout(), "not a timeout: {err}");
    });
}
