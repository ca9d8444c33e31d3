//! A guided run through tulip: the loop, thread-safe calls, tasks, I/O, and the portal.
//!
//! `cargo run --release --example tour`

use std::time::{Duration, Instant};

fn step(title: &str) {
    println!("\n== {title}");
}

#[cfg(unix)]
fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

#[cfg(unix)]
fn crash(code: i32) -> i32 {
    std::process::exit(code)
}

fn main() {
    // First line: a re-executed worker process of the ProcessPool below starts serving here.
    #[cfg(unix)]
    tulip::process::init();
    let t0 = Instant::now();
    // The tour panics on purpose in a job; print one line instead of a backtrace.
    std::panic::set_hook(Box::new(|info| eprintln!("  (panic hook) {info}")));

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

    step("thread pools: blocking work off the loop and back");
    tulip::run(async {
        let db = tulip::ThreadPool::builder().max_workers(1).thread_name_prefix("db").build().expect("pool");
        let t = Instant::now();
        let jobs: Vec<_> =
            (0..1000u64).map(|i| db.submit(move || i * 2).expect("pool accepts jobs")).collect();
        let mut sum = 0;
        for j in jobs {
            sum += j.await.expect("job ran");
        }
        println!("1,000 jobs on a one-thread pool, awaited from the loop: sum {sum} in {:?}", t.elapsed());
        let boom = db.submit(|| -> u32 { panic!("a job panicked (this is expected)") }).expect("accepted");
        println!("a panicking job gives {:?}", boom.await);
        let slow = db.submit(|| std::thread::sleep(Duration::from_millis(50))).expect("accepted");
        let queued = db.submit(|| unreachable!("cancelled while queued")).expect("accepted");
        println!("cancel a queued job: {}; it never runs: {:?}", queued.cancel(), queued.await);
        slow.await.expect("slow job");
        println!("pool stats: {:?}", db.stats());
    });

    step("DNS on its own lane, and a TCP echo over tulip::net");
    tulip::run(async {
        let lp = tulip::get_running_loop();
        let t = Instant::now();
        let hints = tulip::dns::Hints::default().socktype(tulip::dns::SOCK_STREAM);
        let addrs = lp.getaddrinfo("localhost", 80, hints).await.expect("localhost resolves");
        println!(
            "getaddrinfo(localhost) -> {:?} in {:?}",
            addrs.iter().map(|a| a.addr).collect::<Vec<_>>(),
            t.elapsed()
        );
        let bad = lp.getaddrinfo("no-such-host.invalid", 80, Default::default()).await;
        println!("getaddrinfo(no-such-host.invalid) -> {}", bad.expect_err("never resolves"));
        let listener = tulip::net::TcpListener::bind("127.0.0.1", 0).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = lp.spawn(async move {
            use futures_lite::{AsyncReadExt, AsyncWriteExt};
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = [0; 5];
            s.read_exact(&mut buf).await.expect("read");
            s.write_all(&buf).await.expect("write");
        });
        use futures_lite::{AsyncReadExt, AsyncWriteExt};
        let t = Instant::now();
        let mut c = tulip::net::TcpStream::connect("localhost", port).await.expect("connect");
        c.write_all(b"hello").await.expect("write");
        let mut buf = [0; 5];
        c.read_exact(&mut buf).await.expect("read");
        server.await.expect("server task");
        println!(
            "echo over TcpStream::connect(\"localhost\", {port}): {:?} in {:?}",
            std::str::from_utf8(&buf),
            t.elapsed()
        );
    });

    process_pool();

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

/// A process pool: CPU work in worker processes that can crash and be killed.
#[cfg(unix)]
fn process_pool() {
    step("a process pool: CPU work in worker processes that can crash and be killed");
    tulip::run(async {
        let t = Instant::now();
        let procs = tulip::ProcessPool::builder().max_workers(2).build().expect("process pool");
        let f = procs.submit(fib, 30u64).expect("submit").await.expect("fib in a worker");
        println!("fib(30) = {f} in a worker process, pool start included: {:?}", t.elapsed());
        let died = procs.submit(crash, 3).expect("submit").await;
        println!("a task whose worker exits: {died:?}");
        let again = procs.submit(fib, 20u64).expect("submit").await;
        println!("the pool replaced the worker and goes on: fib(20) = {again:?}");
        let limit = Duration::from_millis(100);
        let endless = procs.submit_with_limit(fib, 90u64, limit).expect("submit").await;
        println!("fib(90) with a 100 ms limit: its worker is killed at the limit: {endless:?}");
        let t = Instant::now();
        let futs: Vec<_> = (0..1000u64).map(|i| procs.submit(fib, i % 10).expect("submit")).collect();
        for f in futs {
            f.await.expect("small task");
        }
        println!("1,000 small tasks through 2 workers in {:?}", t.elapsed());
        // Dropping the pool would let the workers go in the background; this waits for them.
        procs.shutdown_timeout(std::time::Duration::MAX);
    });
}

#[cfg(windows)]
fn process_pool() {
    step("a process pool");
    println!("skipped on Windows: the process pool is Unix-only for now (README, Platforms)");
}
