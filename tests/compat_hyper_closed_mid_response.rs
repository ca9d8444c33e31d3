//! hyper natively on the loop: a server that closes the connection in the middle of a response
//! gives the client a clear error, not a hang and not a short body.
#![cfg(feature = "hyper")]

#[path = "support/http.rs"]
mod http;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;

#[test]
fn a_response_cut_short_is_an_unexpected_end_of_file() {
    tulip::run(async {
        let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let lp = tulip::get_running_loop();
        let server = lp.spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0; 1024];
            let _ = conn.read(&mut buf).await.unwrap();
            // Promises 100 bytes, sends 5, closes.
            conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello").await.unwrap();
        });
        let mut sender = http::connect(addr).await;
        let resp =
            sender.send_request(Request::get("/").body(Full::new(Bytes::new())).unwrap()).await.unwrap();
        server.await.unwrap();
        let err = resp.into_body().collect().await.expect_err("a body cut short must fail");
        let cause = std::error::Error::source(&err).and_then(|e| e.downcast_ref::<std::io::Error>());
        let kind = cause.map(|e| e.kind());
        assert_eq!(kind, Some(std::io::ErrorKind::UnexpectedEof), "unclear error: {err} ({cause:?})");
        assert!(err.to_string().contains("reading a body"), "unclear message: {err}");
    });
}
