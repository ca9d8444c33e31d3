use std::time::{Duration, Instant};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

/// Waits (a liveness bound, not a timing assertion) for `f` to drop to `baseline`.
fn settles(what: &str, baseline: usize, f: fn() -> usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while f() > baseline {
        assert!(Instant::now() < deadline, "{what}: {} now, {baseline} before", f());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn create_use_close_cycles_leak_no_fds_or_threads() {
    let (fds0, threads0) = (open_fds(), threads());

    for i in 0..200u32 {
        let lp = tulip::EventLoop::new().unwrap();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let got = lp
            .run_until_complete(async move {
                use std::io::{Read, Write};
                let (a, b) = (tulip::Async::new(a).unwrap(), tulip::Async::new(b).unwrap());
                a.write_with(|s| (&*s).write(&i.to_le_bytes())).await.unwrap();
                let mut buf = [0; 4];
                b.read_with(|s| (&*s).read_exact(&mut buf)).await.unwrap();
                let h = tulip::get_running_loop().handle();
                let t = std::thread::spawn(move || h.call_soon_threadsafe(|| ()).is_ok());
                assert!(t.join().unwrap());
                u32::from_le_bytes(buf)
            })
            .unwrap();
        assert_eq!(got, i);
        lp.close().unwrap();
    }
    settles("event loop fds", fds0, open_fds);
    settles("event loop threads", threads0, threads);

    for i in 0..200u32 {
        let portal = tulip::BlockingPortal::start().unwrap();
        assert_eq!(portal.call(move || async move { i }), Ok(i));
        portal.stop();
    }
    settles("portal fds", fds0, open_fds);
    settles("portal threads", threads0, threads);
}
