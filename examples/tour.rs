//! A guided run through tulip: the loop, thread-safe calls, tasks, I/O, and the portal.
//!
//! `cargo run --release --example tour`

use std::time::{Duration, Instant};

fn step(title: &str) {
    println!("\n== {title}");
}

fn main() {
    let t0 = Instant::now();

    step("the loop: callbacks, timers, tasks");
    let v = tulip::run(async {
        let lp = tulip::get_running_loop();
        lp.call_soon(|| println!("call_soon ran on the next pass"));
        let timer = lp.call_later(Duration::from_secs(3600), || unreachable!());
        timer.cancel();
        println!("a one-hour timer was cancelled: {}", timer.cancelled());
        let task = lp.spawn(async {
            tulip::sleep(Duration::from_millis(5)).await;
            7
        });
        let t = Instant::now();
        let seven = task.await.expect("the task completes");
        println!("a task slept 5 ms and returned {seven} after {:?}", t.elapsed());
        let late = tulip::timeout(Duration::from_millis(2), tulip::sleep(Duration::from_secs(60))).await;
        println!("timeout(2 ms, sleep(60 s)) -> {late:?}");
        seven
    });
    assert_eq!(v, 7);

    step("thread-safe calls: 4 threads post 100,000 callbacks");
    thread_local! {
        // Lives on the loop thread: the callbacks count without atomics.
        static COUNT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }
    let lp = tulip::EventLoop::new().expect("a poller");
    let t = Instant::now();
    let producers: Vec<_> = (0..4)
        .map(|_| {
            let h = lp.handle();
            std::thread::spawn(move || {
                for _ in 0..25_000 {
                    let h2 = h.clone();
                    h.call_soon_threadsafe(move || {
                        let n = COUNT.with(|c| {
                            c.set(c.get() + 1);
                            c.get()
                        });
                        if n == 100_000 {
                            h2.stop();
                        }
                    })
                    .expect("the loop is open");
                }
            })
        })
        .collect();
    lp.run_forever().expect("runs");
    for p in producers {
        p.join().expect("producer");
    }
    println!("{} cross-thread callbacks ran on the loop in {:?}", COUNT.with(|c| c.get()), t.elapsed());
    lp.close().expect("not running");

    step("the portal: blocking code calls async code");
    let portal = tulip::BlockingPortal::start().expect("portal thread");
    let t = Instant::now();
    let got = portal.call(|| async {
        tulip::sleep(Duration::from_millis(3)).await;
        "hello from the portal's loop"
    });
    println!("{got:?} in {:?}", t.elapsed());
    portal.stop();
    println!("after stop: {:?}", portal.call(|| async { 1 }));

    println!("\ntour finished in {:?}", t0.elapsed());
}
