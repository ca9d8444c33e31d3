//! W9 and W9p: subprocesses on one thread, tulip against `tokio::process` (a `current_thread`
//! runtime with `enable_all()`) and `async-process` (on an `async_executor::LocalExecutor` under
//! `futures_lite::future::block_on`), in the same run.
//!
//! - W9: spawn 200 `true` children, at most 50 alive at a time (50 lanes of 4 in a row), and wait
//!   for them all; total ms, median of 5 rounds, the systems taking turns round by round.
//! - W9p: 256 MiB (32 under `--quick`) through `cat`, stdin written and stdout read at once in
//!   64 KiB chunks; MiB/s, median of 5 rounds, taking turns as W9's do.

use std::time::Instant;

use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::{median, take_turns, Report};

const CHILDREN: usize = 200;
const LANES: usize = 50;
const CHUNK: usize = 64 << 10;

pub fn run(report: &mut Report) {
    if report.wants("W9") {
        let rounds = report.scale(5, 5);
        let systems = [("tulip", w9_tulip as fn() -> f64), ("tokio", w9_tokio), ("async-process", w9_ap)];
        for (system, ms) in systems.iter().zip(take_turns(rounds, &systems.map(|(_, f)| f))) {
            report.emit(system.0, "W9", median(ms), "ms", CHILDREN);
        }
    }
    if report.wants("W9p") {
        let mib = report.scale(256, 8);
        let rounds = report.scale(5, 5);
        let systems =
            [("tulip", w9p_tulip as fn(usize) -> f64), ("tokio", w9p_tokio), ("async-process", w9p_ap)];
        let runs = systems.map(|(_, f)| move || f(mib << 20));
        for (system, rates) in systems.iter().zip(take_turns(rounds, &runs)) {
            report.emit(system.0, "W9p", median(rates), "MiB/s", mib);
        }
    }
}

fn w9_tulip() -> f64 {
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let start = Instant::now();
        let lanes: Vec<_> = (0..LANES)
            .map(|_| {
                lp.spawn(async {
                    for _ in 0..CHILDREN / LANES {
                        let s = tulip::subprocess::Command::new("true").status().await.expect("tulip: true");
                        assert!(s.success());
                    }
                })
            })
            .collect();
        for lane in lanes {
            lane.await.expect("lane");
        }
        start.elapsed().as_secs_f64() * 1e3
    })
}

fn w9_tokio() -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let start = Instant::now();
        let lanes: Vec<_> = (0..LANES)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..CHILDREN / LANES {
                        let s = tokio::process::Command::new("true").status().await.expect("tokio: true");
                        assert!(s.success());
                    }
                })
            })
            .collect();
        for lane in lanes {
            lane.await.expect("lane");
        }
        start.elapsed().as_secs_f64() * 1e3
    })
}

fn w9_ap() -> f64 {
    let ex = async_executor::LocalExecutor::new();
    futures_lite::future::block_on(ex.run(async {
        let start = Instant::now();
        let lanes: Vec<_> = (0..LANES)
            .map(|_| {
                ex.spawn(async {
                    for _ in 0..CHILDREN / LANES {
                        let s =
                            async_process::Command::new("true").status().await.expect("async-process: true");
                        assert!(s.success());
                    }
                })
            })
            .collect();
        for lane in lanes {
            lane.await;
        }
        start.elapsed().as_secs_f64() * 1e3
    }))
}

/// Writes `total` bytes to `w` and closes it, while `r` is read to its end; MiB/s.
async fn pump<W, R>(mut w: W, mut r: R, total: usize, start: Instant) -> f64
where
    W: futures_lite::AsyncWrite + Unpin,
    R: futures_lite::AsyncRead + Unpin,
{
    let write = async move {
        let chunk = vec![7u8; CHUNK];
        let mut left = total;
        while left > 0 {
            let n = left.min(CHUNK);
            w.write_all(&chunk[..n]).await.expect("write");
            left -= n;
        }
    };
    let read = async move {
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        loop {
            match r.read(&mut buf).await.expect("read") {
                0 => break got,
                n => got += n,
            }
        }
    };
    let ((), got) = futures_lite::future::zip(write, read).await;
    assert_eq!(got, total);
    (total as f64 / (1 << 20) as f64) / start.elapsed().as_secs_f64()
}

fn w9p_tulip(total: usize) -> f64 {
    use tulip::subprocess::{Command, Stdio};
    tulip::run(async move {
        let start = Instant::now();
        let mut child =
            Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("cat");
        let (w, r) = (child.stdin.take().expect("stdin"), child.stdout.take().expect("stdout"));
        let rate = pump(w, r, total, start).await;
        child.wait().await.expect("wait");
        rate
    })
}

fn w9p_tokio(total: usize) -> f64 {
    use std::process::Stdio;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let start = Instant::now();
        let mut child = tokio::process::Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cat");
        let (mut w, mut r) = (child.stdin.take().expect("stdin"), child.stdout.take().expect("stdout"));
        let write = async move {
            let chunk = vec![7u8; CHUNK];
            let mut left = total;
            while left > 0 {
                let n = left.min(CHUNK);
                w.write_all(&chunk[..n]).await.expect("write");
                left -= n;
            }
        };
        let read = async move {
            let mut buf = vec![0u8; CHUNK];
            let mut got = 0;
            loop {
                match r.read(&mut buf).await.expect("read") {
                    0 => break got,
                    n => got += n,
                }
            }
        };
        let ((), got) = tokio::join!(write, read);
        assert_eq!(got, total);
        child.wait().await.expect("wait");
        (total as f64 / (1 << 20) as f64) / start.elapsed().as_secs_f64()
    })
}

fn w9p_ap(total: usize) -> f64 {
    use async_process::{Command, Stdio};
    futures_lite::future::block_on(async move {
        let start = Instant::now();
        let mut child =
            Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("cat");
        let (w, r) = (child.stdin.take().expect("stdin"), child.stdout.take().expect("stdout"));
        let rate = pump(w, r, total, start).await;
        child.status().await.expect("wait");
        rate
    })
}
