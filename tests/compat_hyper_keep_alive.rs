//! hyper natively on the loop (feature `hyper`): a client and a server on one tulip loop, 1,000
//! requests over one keep-alive connection, no tokio runtime.
#![cfg(feature = "hyper")]

#[path = "support/http.rs"]
mod http;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;

#[test]
fn a_thousand_requests_on_one_keep_alive_connection() {
    tulip::run(async {
        let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = http::spawn_server(listener);
        let mut sender = http::connect(addr).await;
        for i in 0..1000 {
            sender.ready().await.unwrap();
            let req = if i % 2 == 0 {
                Request::get("/").body(Full::new(Bytes::new())).unwrap()
            } else {
                Request::post("/").body(Full::new(Bytes::from(format!("body {i}")))).unwrap()
            };
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.status(), 200);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let want = if i % 2 == 0 { "hello".to_string() } else { format!("body {i}") };
            assert_eq!(body, want.as_bytes(), "request {i}");
        }
        assert_eq!(accepted.get(), 1, "keep-alive: every request on one connection");
    });
}
