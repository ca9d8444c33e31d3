//! The Rust async ecosystem on the loop: tokio-based crates (feature `tokio`) and hyper (feature
//! `hyper`).
//!
//! Anything written against `futures-io`, `futures` or the `async-channel` / `async-lock` /
//! `event-listener` family runs on a tulip loop as it is. Two kinds of crates need this module:
//!
//! - Crates built on tokio (reqwest, sqlx, tonic, anything that calls `tokio::spawn`, tokio timers or
//!   tokio I/O) panic outside a tokio runtime. [`tokio()`](fn@tokio) runs such a future inside a tulip
//!   task while a background tokio runtime drives its I/O and timers.
//! - hyper brings its own runtime traits. With the `hyper` feature, [`net::TcpStream`](crate::net::TcpStream)
//!   implements `hyper::rt::Read` and `hyper::rt::Write`, [`LoopTimer`] implements `hyper::rt::Timer`
//!   and [`EventLoop`](crate::EventLoop) implements `hyper::rt::Executor`, so an HTTP/1.1 client and
//!   server run on the loop itself, with no tokio runtime and no extra thread.
//!
//! ```
//! # #[cfg(all(feature = "tokio", feature = "hyper"))]
//! tulip::run(async {
//!     use http_body_util::Full;
//!     use hyper::body::Bytes;
//!
//!     // A hyper server on the loop, natively.
//!     let lp = tulip::get_running_loop();
//!     let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.unwrap();
//!     let url = format!("http://{}/", listener.local_addr().unwrap());
//!     lp.spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let hello = hyper::service::service_fn(|_req| async {
//!             Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from("hello"))))
//!         });
//!         let mut http = hyper::server::conn::http1::Builder::new();
//!         http.timer(tulip::compat::LoopTimer).serve_connection(stream, hello).await
//!     });
//!     // A tokio-based client through the adapter.
//!     let body = tulip::compat::tokio(async move {
//!         reqwest::get(url).await.unwrap().text().await.unwrap()
//!     });
//!     assert_eq!(body.await, "hello");
//! });
//! ```
//!
//! # When to prefer native I/O
//!
//! The tokio adapter costs one more thread (the runtime's, plus tokio's blocking threads when a crate
//! uses them, for DNS for one) and a cross-thread wakeup per I/O event: tokio's reactor sees the event
//! on its thread and wakes the tulip task on the loop's. For a protocol that has a `futures-io` or
//! hyper implementation, use [`net`](crate::net) and hyper natively; use the adapter for the crates
//! that exist only on tokio.

#[cfg(feature = "hyper")]
mod hyper;
#[cfg(feature = "tokio")]
mod tokio;

#[cfg(feature = "hyper")]
pub use self::hyper::{LoopSleep, LoopTimer};
#[cfg(feature = "tokio")]
pub use self::tokio::{tokio, tokio_handle, Tokio, RUNTIME_SHUTDOWN_TIMEOUT};
