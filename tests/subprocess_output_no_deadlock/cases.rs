use std::time::Duration;

use tulip::subprocess::Command;

const SIZE: usize = 10 << 20;

fn output_of(script: &str) -> std::process::Output {
    tulip::run(async {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", script]);
        // A generous liveness bound: a deadlock would hang forever.
        tulip::timeout(Duration::from_secs(60), cmd.output()).await.expect("output() deadlocked").unwrap()
    })
}

#[test]
fn stderr_filled_first() {
    let out = output_of("head -c 10485760 /dev/zero >&2; head -c 10485760 /dev/zero");
    assert!(out.status.success());
    assert_eq!((out.stdout.len(), out.stderr.len()), (SIZE, SIZE));
}

#[test]
fn stdout_filled_first() {
    let out = output_of("head -c 10485760 /dev/zero; head -c 10485760 /dev/zero >&2");
    assert!(out.status.success());
    assert_eq!((out.stdout.len(), out.stderr.len()), (SIZE, SIZE));
}
