//! Subprocesses: `output()` collects 10 MiB on stdout and 10 MiB on stderr from a child that fills
//! one pipe while the other is still empty, in both orders, without the classic deadlock.

#[cfg(windows)]
#[test]
fn skipped_on_windows() {
    println!("skipped on Windows: tulip::subprocess is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
use std::time::Duration;

#[cfg(unix)]
use tulip::subprocess::Command;

#[cfg(unix)]
const SIZE: usize = 10 << 20;

#[cfg(unix)]
fn output_of(script: &str) -> std::process::Output {
    tulip::run(async {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", script]);
        // A generous liveness bound: a deadlock would hang forever.
        tulip::timeout(Duration::from_secs(60), cmd.output()).await.expect("output() deadlocked").unwrap()
    })
}

#[cfg(unix)]
#[test]
fn stderr_filled_first() {
    let out = output_of("head -c 10485760 /dev/zero >&2; head -c 10485760 /dev/zero");
    assert!(out.status.success());
    assert_eq!((out.stdout.len(), out.stderr.len()), (SIZE, SIZE));
}

#[cfg(unix)]
#[test]
fn stdout_filled_first() {
    let out = output_of("head -c 10485760 /dev/zero; head -c 10485760 /dev/zero >&2");
    assert!(out.status.success());
    assert_eq!((out.stdout.len(), out.stderr.len()), (SIZE, SIZE));
}
