//! One process-wide spin policy (issue 12): `TULIP_SPIN` sets the cap on every busy-wait, which
//! `set_spin_limit` overrides; every limit saturates at 1 ms; with spinning off, round trips through
//! the loop, a pool and a blocking wait still complete.
//!
//! The environment variable is read once per process, so each case runs in a child process (this
//! test binary again, selecting `child` with `--exact`).

use std::process::Command;
use std::time::Duration;

const CHILD_ENV: &str = "SPIN_POLICY_CHILD";

/// The child's side: reports the cap it started with, then checks the setter.
#[test]
fn child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    println!("initial-cap-ns={}", tulip::spin_limit().as_nanos());
    tulip::set_spin_limit(Duration::from_secs(5));
    assert_eq!(tulip::spin_limit(), Duration::from_millis(1), "the cap saturates at 1 ms");
    tulip::set_spin_limit(Duration::ZERO);
    assert_eq!(tulip::spin_limit(), Duration::ZERO);
    // Nothing spins now; every kind of round trip still completes.
    let pool = tulip::ThreadPool::builder().max_workers(2).build().unwrap();
    for i in 0..200u32 {
        assert_eq!(pool.submit(move || i + 1).unwrap().wait(), Ok(i + 1));
    }
    let sum = tulip::run(async {
        let lp = tulip::get_running_loop();
        let mut sum = 0u32;
        for i in 0..200u32 {
            sum += lp.run_in_executor(None, move || i).await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 199 * 200 / 2);
    println!("child-ok");
}

/// Runs `child` in a new process with `TULIP_SPIN` set to `value` (or unset); returns its initial cap.
fn child_cap(value: Option<&str>) -> Duration {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child", "--nocapture", "--test-threads", "1"]).env(CHILD_ENV, "1");
    match value {
        Some(v) => cmd.env("TULIP_SPIN", v),
        None => cmd.env_remove("TULIP_SPIN"),
    };
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("child-ok"), "child failed: {stdout}");
    let ns = stdout.lines().find_map(|l| Some(l.split_once("initial-cap-ns=")?.1)).expect("cap line");
    Duration::from_nanos(ns.trim().parse().unwrap())
}

#[test]
fn tulip_spin_sets_the_process_wide_cap() {
    assert_eq!(child_cap(Some("0")), Duration::ZERO);
    assert_eq!(child_cap(Some("40")), Duration::from_micros(40));
    assert_eq!(child_cap(Some("999999")), Duration::from_millis(1));
    // A value that is not a number is ignored (with a warning): the default applies.
    assert_eq!(child_cap(Some("fast")), child_cap(None));
}

#[test]
fn per_loop_and_per_pool_limits_saturate_at_one_millisecond() {
    let lp = tulip::EventLoop::new().unwrap();
    lp.set_idle_spin(Duration::from_secs(3600));
    assert_eq!(lp.idle_spin(), Duration::from_millis(1));
    let builder = tulip::ThreadPool::builder().idle_spin(Duration::from_secs(3600));
    assert!(format!("{builder:?}").contains("idle_spin: 1ms"), "{builder:?}");
}
