//! The loop serves connections in turn, counted in messages (not time, so a slow or busy machine
//! shifts every figure alike):
//!
//! - a connection whose peer has sent far ahead does not monopolize the loop: its reads never wait,
//!   and before the I/O budget its task was served until its backlog was gone while every other
//!   connection with data waited;
//! - under steady load (64 connections kept busy by client tasks on a second loop), the number of
//!   messages echoed between two messages of one connection stays near one round for every
//!   connection: the worst is bounded against the median.

#[path = "support/pair.rs"]
mod pair;
use pair::*;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulip::net::{TcpListener, TcpStream};
use tulip::Async;

const CONNECTIONS: usize = 64;
const ROUNDS: usize = 150;
const MESSAGE: usize = 1024;
/// The worst gap may be this many times the median gap (a fair loop stays near 1-2x).
const MAX_RATIO: usize = 8;

/// Echoes on every connection until each closes; returns each connection's gaps, in messages.
async fn serve(listener: TcpListener) -> Vec<Vec<usize>> {
    let lp = tulip::get_running_loop();
    let served = Rc::new(Cell::new(0usize));
    let gaps = Rc::new(RefCell::new(vec![Vec::new(); CONNECTIONS]));
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let (mut c, _) = listener.accept().await.unwrap();
        let (served, gaps) = (served.clone(), gaps.clone());
        tasks.push(lp.spawn(async move {
            let mut buf = [0u8; MESSAGE];
            let mut last = None;
            while let Ok(n @ 1..) = c.read(&mut buf).await {
                c.write_all(&buf[..n]).await.unwrap();
                let now = served.get() + 1;
                served.set(now);
                if let Some(l) = last.replace(now) {
                    gaps.borrow_mut()[i].push(now - l);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    gaps.take()
}

/// `CONNECTIONS` client tasks on a loop of their own, each sending `ROUNDS` messages in lockstep.
fn clients(addr: SocketAddr) {
    tulip::run(async move {
        let lp = tulip::get_running_loop();
        let mut conns = Vec::new();
        for _ in 0..CONNECTIONS {
            conns.push(TcpStream::connect_addr(addr).await.unwrap());
        }
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|mut c| {
                lp.spawn(async move {
                    c.set_nodelay(true).unwrap();
                    let (msg, mut echo) = ([7u8; MESSAGE], [0u8; MESSAGE]);
                    for _ in 0..ROUNDS {
                        c.write_all(&msg).await.unwrap();
                        c.read_exact(&mut echo).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn blocking_clients(addr: SocketAddr) {
    use std::io::{Read, Write};
    let ts: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.set_nodelay(true).unwrap();
            std::thread::spawn(move || {
                let (msg, mut echo) = ([7u8; MESSAGE], [0u8; MESSAGE]);
                for _ in 0..ROUNDS {
                    c.write_all(&msg).unwrap();
                    c.read_exact(&mut echo).unwrap();
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
}

#[test]
fn every_connection_is_served_in_turn() {
    let gaps = tulip::run(async {
        let listener = TcpListener::bind("127.0.0.1", 0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let client = std::thread::spawn(move || {
            if std::env::var_os("BLOCKING").is_some() {
                blocking_clients(addr)
            } else {
                clients(addr)
            }
            done_tx.send(()).unwrap();
        });
        let gaps = serve(listener).await;
        client.join().unwrap();
        done_rx.recv().unwrap();
        gaps
    });
    let mut all: Vec<usize> = gaps.iter().flatten().copied().collect();
    all.sort_unstable();
    let (median, p99, worst) = (all[all.len() / 2], all[all.len() * 99 / 100], all[all.len() - 1]);
    eprintln!("gaps in messages: median {median}, p99 {p99}, worst {worst}");
    assert!(
        worst <= MAX_RATIO * median.max(1),
        "a connection waited {worst} messages; the median wait is {median}"
    );
}

/// Connections with a backlog each, served together.
const BACKLOGGED: usize = 8;
/// Messages of each backlog (64 KiB: one write that fits a Unix socket's default buffer).
const BACKLOG: usize = 64;
/// The most messages of one connection served in a row while another had data: a turn under the
/// I/O budget is 16 echoes; before it, a turn was the whole backlog.
const MAX_RUN: usize = 32;

#[test]
fn a_backlogged_connection_does_not_monopolize_the_loop() {
    let order = tulip::run(async {
        let lp = tulip::get_running_loop();
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut peers = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..BACKLOGGED {
            let (mut peer, conn) = UnixStream::pair().unwrap();
            peer.write_all(&vec![i as u8; BACKLOG * MESSAGE]).unwrap();
            // Echoes are drained by a thread, so writes never wait on the peer.
            let mut drain = peer.try_clone().unwrap();
            std::thread::spawn(move || std::io::copy(&mut drain, &mut std::io::sink()));
            peers.push(peer);
            let (mut conn, order) = (Async::new(conn).unwrap(), order.clone());
            tasks.push(lp.spawn(async move {
                let mut buf = [0u8; MESSAGE];
                for _ in 0..BACKLOG {
                    conn.read_exact(&mut buf).await.unwrap();
                    conn.write_all(&buf).await.unwrap();
                    order.borrow_mut().push(i);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        order.take()
    });
    assert_eq!(order.len(), BACKLOGGED * BACKLOG);
    // Runs of one connection, counted while another still had messages left.
    let mut left = [BACKLOG; BACKLOGGED];
    let (mut longest, mut run, mut last) = (0, 0, usize::MAX);
    for &i in &order {
        run = if i == last { run + 1 } else { 1 };
        last = i;
        left[i] -= 1;
        if left.iter().enumerate().any(|(j, &n)| j != i && n > 0) {
            longest = longest.max(run);
        }
    }
    eprintln!("longest run of one connection: {longest} messages");
    assert!(longest <= MAX_RUN, "one connection was served {longest} times in a row while others waited");
}
