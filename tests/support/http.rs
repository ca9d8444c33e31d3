#![allow(dead_code)] // each test target uses a different subset of these helpers
//! A hyper HTTP/1.1 server and client on the tulip loop, for the compat tests.

use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use tulip::net::{TcpListener, TcpStream};

/// Answers `GET` with "hello" and any other method with the request's body, on connections accepted
/// from `listener` until the loop stops. Returns the count of connections accepted so far.
pub fn spawn_server(listener: TcpListener) -> Rc<Cell<usize>> {
    let accepted = Rc::new(Cell::new(0));
    let count = accepted.clone();
    let lp = tulip::get_running_loop();
    let inner = lp.clone();
    drop(lp.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.set(count.get() + 1);
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(tulip::compat::LoopTimer)
                .serve_connection(stream, hyper::service::service_fn(answer));
            drop(inner.spawn(conn));
        }
    }));
    accepted
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == hyper::Method::GET {
        return Ok(Response::new(Full::new(Bytes::from_static(b"hello"))));
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    Ok(Response::new(Full::new(body)))
}

/// Opens one HTTP/1.1 connection to `addr` and spawns its driver on the loop.
pub async fn connect(addr: std::net::SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect_addr(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
    drop(tulip::get_running_loop().spawn(conn));
    sender
}
