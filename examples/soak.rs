//! Soak: every part of tulip under mixed load for a while, checking that nothing is lost and that
//! memory does not keep growing.
//!
//! `cargo run --release --example soak -- --seconds N` (default 10). Prints throughput and RSS once a
//! second; exits non-zero if any job is lost or fails unexpectedly, or if RSS keeps growing (the last
//! third of the run more than 20% and 16 MiB above the first third).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Resident set size in KiB, from /proc (0 where unavailable).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Default)]
struct Counters {
    callbacks: AtomicU64,
    portal_calls: AtomicU64,
    tasks: AtomicU64,
}

fn main() {
    let mut seconds = 10u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--seconds" {
            seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds);
        }
    }
    let counters = Arc::new(Counters::default());
    let portal = Arc::new(tulip::BlockingPortal::start().expect("portal"));
    let end = Instant::now() + Duration::from_secs(seconds);

    // Blocking threads calling into async code through the portal.
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let (portal, c) = (portal.clone(), counters.clone());
            std::thread::spawn(move || {
                let mut sent = 0u64;
                while Instant::now() < end {
                    let v = portal.call(move || async move {
                        let lp = tulip::get_running_loop();
                        let t = lp.spawn(async move { sent.wrapping_mul(3) });
                        t.await.expect("task")
                    });
                    assert_eq!(v, Ok(sent.wrapping_mul(3)), "portal call lost or wrong");
                    sent += 1;
                    c.portal_calls.fetch_add(1, Ordering::Relaxed);
                }
                sent
            })
        })
        .collect();

    // A loop on this thread: cross-thread callbacks and local tasks, with a once-a-second report.
    let lp = tulip::EventLoop::new().expect("loop");
    let producer = {
        let (h, c) = (lp.handle(), counters.clone());
        std::thread::spawn(move || {
            let mut posted = 0u64;
            while Instant::now() < end {
                for _ in 0..1000 {
                    let c = c.clone();
                    if h.call_soon_threadsafe(move || {
                        c.callbacks.fetch_add(1, Ordering::Relaxed);
                    })
                    .is_ok()
                    {
                        posted += 1;
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            posted
        })
    };

    let mut rss = Vec::new();
    let c = counters.clone();
    let ok = lp.run_until_complete(async move {
        let lp = tulip::get_running_loop();
        let mut last = (0, 0, 0);
        let mut next_report = Instant::now() + Duration::from_secs(1);
        while Instant::now() < end {
            // Local tasks churn.
            let batch: Vec<_> = (0..200).map(|i| lp.spawn(async move { i * 2 })).collect();
            for (i, t) in batch.into_iter().enumerate() {
                assert_eq!(t.await, Ok(i * 2));
                c.tasks.fetch_add(1, Ordering::Relaxed);
            }
            tulip::sleep(Duration::from_millis(1)).await;
            let now = (
                c.callbacks.load(Ordering::Relaxed),
                c.portal_calls.load(Ordering::Relaxed),
                c.tasks.load(Ordering::Relaxed),
            );
            if Instant::now() >= next_report {
                next_report += Duration::from_secs(1);
                let kib = rss_kib();
                rss.push(kib);
                println!(
                    "t={:>3}s callbacks/s={:>9} portal_calls/s={:>7} tasks/s={:>8} rss={} KiB",
                    rss.len(),
                    now.0 - last.0,
                    now.1 - last.1,
                    now.2 - last.2,
                    kib
                );
                last = now;
            }
        }
        rss
    });
    let rss = ok.expect("loop ran");
    let posted = producer.join().expect("producer");
    // Let the last posted callbacks run.
    lp.run_until_complete(tulip::sleep(Duration::from_millis(50))).expect("loop ran");
    lp.close().expect("closed");
    let calls: u64 = callers.into_iter().map(|t| t.join().expect("caller")).sum();

    let ran = counters.callbacks.load(Ordering::Relaxed);
    println!("posted {posted} callbacks, {ran} ran; {calls} portal calls answered");
    let mut failed = false;
    if ran != posted {
        eprintln!("LOST: {} callbacks", posted - ran);
        failed = true;
    }
    if rss.len() >= 6 {
        let third = rss.len() / 3;
        let first = rss[..third].iter().sum::<u64>() / third as u64;
        let last = rss[rss.len() - third..].iter().sum::<u64>() / third as u64;
        if last > first + first / 5 && last > first + 16 * 1024 {
            eprintln!("RSS kept growing: {first} KiB -> {last} KiB");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
    println!("soak ok");
}
