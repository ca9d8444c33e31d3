//! TCP on the loop: [`TcpStream`] (resolve on the DNS lane, connect with Happy Eyeballs) and
//! [`TcpListener`].
//!
//! These are what make the [`dns`](crate::dns) lane useful: `TcpStream::connect("example.com", 443)`
//! resolves without blocking the loop and without queueing behind user jobs, then connects without
//! blocking either. Both types implement the `futures-io` traits (`AsyncRead`/`AsyncWrite` for the
//! stream) that `futures-lite`, `futures` and most of the async ecosystem build on.
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use tulip::net::{TcpListener, TcpStream};
//!
//! tulip::run(async {
//!     let lp = tulip::get_running_loop();
//!     let listener = TcpListener::bind("127.0.0.1", 0).await.unwrap();
//!     let port = listener.local_addr().unwrap().port();
//!     let server = lp.spawn(async move {
//!         let (mut conn, _peer) = listener.accept().await.unwrap();
//!         let mut buf = [0; 5];
//!         conn.read_exact(&mut buf).await.unwrap();
//!         conn.write_all(&buf).await.unwrap();
//!     });
//!     let mut client = TcpStream::connect("localhost", port).await.unwrap();
//!     client.write_all(b"hello").await.unwrap();
//!     let mut echo = [0; 5];
//!     client.read_exact(&mut echo).await.unwrap();
//!     assert_eq!(&echo, b"hello");
//!     server.await.unwrap();
//! });
//! ```
//!
//! # Implementation
//!
//! A connection attempt creates a non-blocking, close-on-exec socket, calls `connect(2)`, registers the
//! socket with the loop ([`Async`](crate::Async)) and waits until it is writable; `SO_ERROR` then tells
//! whether the connection was made. Reads and writes go through the same `Async` wrapper.
//!
//! With several addresses, [`TcpStream::connect`] follows Happy Eyeballs (RFC 8305, as asyncio's
//! `happy_eyeballs_delay`): the addresses are interleaved by family (the family of the resolver's first
//! answer first, then alternating), one attempt starts, and the next starts when the previous fails or
//! [`HAPPY_EYEBALLS_DELAY`] passes without an answer, whichever is first. The first connection made
//! wins and the other attempts are dropped (their sockets closed).
//!
//! [`TcpListener::bind`] listens on every address the host resolves to (`0.0.0.0` and `::` for an empty
//! host, each loopback address for `localhost`), as asyncio's `create_server`: one socket per address,
//! all on the port the first one got when port 0 is asked, and `accept` serves them in turn.
//!
//! # Caveats
//!
//! Streams and listeners belong to the loop they were created on (they are `!Send`) and must be used
//! from its thread while it runs, like every [`Async`](crate::Async) object: polled otherwise they fail
//! with [`LoopNotRunning`](crate::LoopNotRunning).

mod happy;
#[cfg_attr(unix, path = "unix.rs")]
#[cfg_attr(windows, path = "windows.rs")]
mod sys;
mod tcp;

pub use happy::HAPPY_EYEBALLS_DELAY;
pub use tcp::{TcpListener, TcpStream};
