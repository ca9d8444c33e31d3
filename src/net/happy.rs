//! Connecting: one non-blocking attempt per address, raced with Happy Eyeballs (RFC 8305).

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use super::sys;
use crate::{Async, EventLoop, Sleep};

/// How long an attempt may go unanswered before the next address is tried in parallel: 250 ms, as
/// RFC 8305 recommends and asyncio's `happy_eyeballs_delay` is usually set.
pub const HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);

/// Connects to one address without blocking the loop.
pub(crate) async fn connect_addr(lp: EventLoop, addr: SocketAddr) -> io::Result<Async<StdTcpStream>> {
    let stream = StdTcpStream::from(sys::new_socket(&addr)?);
    let in_progress = sys::start_connect(&stream, &addr)?;
    let stream = Async::with_loop(&lp, stream)?;
    if in_progress {
        stream.writable().await?;
    }
    match stream.get_ref().take_error()? {
        Some(e) => Err(e),
        None => Ok(stream),
    }
}

/// Orders addresses as RFC 8305 section 4 asks: duplicates removed, then the families interleaved,
/// starting with the family of the first address.
pub(crate) fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let mut unique: Vec<SocketAddr> = Vec::with_capacity(addrs.len());
    for a in addrs {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    let Some(first) = unique.first() else { return unique };
    let first_v4 = first.is_ipv4();
    let (mut preferred, mut other): (Vec<_>, Vec<_>) =
        unique.into_iter().partition(|a| a.is_ipv4() == first_v4);
    preferred.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(preferred.len() + other.len());
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

type Attempt = Pin<Box<dyn Future<Output = io::Result<Async<StdTcpStream>>>>>;

/// Races connection attempts to `addrs` (already ordered), starting a new one when the previous fails
/// or `delay` passes, and returns the first connection made.
pub(crate) async fn race(
    lp: &EventLoop,
    what: &str,
    addrs: Vec<SocketAddr>,
    delay: Duration,
) -> io::Result<Async<StdTcpStream>> {
    if addrs.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, format!("{what}: the name has no TCP address")));
    }
    let mut running: Vec<(SocketAddr, Attempt)> = Vec::new();
    let mut errors: Vec<(SocketAddr, io::Error)> = Vec::new();
    let mut next = 0;
    let mut stagger: Option<Pin<Box<Sleep>>> = None;

    futures_lite::future::poll_fn(|cx| loop {
        // Start the next attempt when none runs, when one just failed, or when the stagger ran out.
        let mut start = running.is_empty();
        let mut i = 0;
        while i < running.len() {
            match running[i].1.as_mut().poll(cx) {
                Poll::Ready(Ok(stream)) => return Poll::Ready(Ok(stream)),
                Poll::Ready(Err(e)) => {
                    let (addr, _) = running.swap_remove(i);
                    errors.push((addr, e));
                    start = true;
                }
                Poll::Pending => i += 1,
            }
        }
        if let Some(t) = stagger.as_mut() {
            if t.as_mut().poll(cx).is_ready() {
                stagger = None;
                start = true;
            }
        }
        if start && next < addrs.len() {
            let addr = addrs[next];
            next += 1;
            running.push((addr, Box::pin(connect_addr(lp.clone(), addr))));
            stagger = (next < addrs.len()).then(|| Box::pin(crate::sleep(delay)));
            // Poll the new attempt (and the timer) at once so they register their wakers.
            continue;
        }
        if running.is_empty() {
            return Poll::Ready(Err(combine(what, std::mem::take(&mut errors))));
        }
        return Poll::Pending;
    })
    .await
}

/// One error for all failed attempts: the first one's kind, every address's reason in the text.
fn combine(what: &str, mut errors: Vec<(SocketAddr, io::Error)>) -> io::Error {
    if errors.len() == 1 {
        let (addr, e) = errors.remove(0);
        return io::Error::new(e.kind(), format!("{what}: could not connect to {addr}: {e}"));
    }
    let kind = errors.first().map_or(io::ErrorKind::Other, |(_, e)| e.kind());
    let reasons: Vec<String> = errors.iter().map(|(a, e)| format!("{a}: {e}")).collect();
    io::Error::new(kind, format!("{what}: every address failed ({})", reasons.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn interleaves_families_first_family_first() {
        let got = interleave(vec![a("[::1]:1"), a("[::2]:1"), a("1.1.1.1:1"), a("[::1]:1"), a("2.2.2.2:1")]);
        assert_eq!(got, vec![a("[::1]:1"), a("1.1.1.1:1"), a("[::2]:1"), a("2.2.2.2:1")]);
        assert_eq!(interleave(vec![a("1.1.1.1:1")]), vec![a("1.1.1.1:1")]);
        assert!(interleave(vec![]).is_empty());
    }

    fn closed_addr() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
    }

    #[test]
    fn a_failed_attempt_starts_the_next_at_once() {
        let good = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let good_addr = good.local_addr().unwrap();
        crate::run(async {
            let lp = crate::get_running_loop();
            // An hour of stagger: only the failure of the first attempt can start the second.
            let attempt = race(&lp, "test", vec![closed_addr(), good_addr], Duration::from_secs(3600));
            let s = crate::timeout(Duration::from_secs(10), attempt).await.unwrap().unwrap();
            assert_eq!(s.get_ref().peer_addr().unwrap(), good_addr);
        });
    }

    // Windows: a backlog of 0 is not "full" there (Winsock picks a reasonable backlog).
    #[cfg(unix)]
    #[test]
    fn an_unanswered_attempt_is_overtaken_after_the_delay() {
        use std::os::fd::AsRawFd;
        // A listener whose accept queue is full leaves new connections unanswered (SYNs are dropped).
        let stuck = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: listen(2) on an open socket.
        assert_eq!(unsafe { libc::listen(stuck.as_raw_fd(), 0) }, 0);
        let stuck_addr = stuck.local_addr().unwrap();
        let mut queued = Vec::new();
        loop {
            match StdTcpStream::connect_timeout(&stuck_addr, Duration::from_millis(200)) {
                Ok(s) => queued.push(s),
                Err(_) => break,
            }
            assert!(queued.len() < 64, "the accept queue never filled");
        }
        let good = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let good_addr = good.local_addr().unwrap();
        crate::run(async {
            let lp = crate::get_running_loop();
            let attempt = race(&lp, "test", vec![stuck_addr, good_addr], Duration::from_millis(20));
            let s = crate::timeout(Duration::from_secs(10), attempt).await.unwrap().unwrap();
            assert_eq!(s.get_ref().peer_addr().unwrap(), good_addr);
        });
    }

    #[test]
    fn every_address_failing_reports_each_of_them() {
        let (a, b) = (closed_addr(), closed_addr());
        let err = crate::run(async {
            let lp = crate::get_running_loop();
            race(&lp, "connecting to test", vec![a, b], Duration::from_secs(3600)).await.unwrap_err()
        });
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let text = err.to_string();
        assert!(text.contains(&a.to_string()) && text.contains(&b.to_string()), "{text}");
    }
}
