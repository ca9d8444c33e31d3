#[path = "../support/process_harness.rs"]
mod harness;

use std::path::PathBuf;
use std::process::Command;

use harness::Case;
use tulip::process::Launcher;
use tulip::{BuildError, ProcessPool};

fn main() {
    tulip::process::init();
    let Some(config) = config_with_a_dead_host() else {
        println!("remote_unreachable_host: SKIPPED, scripts/engines.sh could not start sshd");
        return;
    };
    CONFIG.set(config).unwrap();
    harness::run(&[
        Case { name: "a_pool_starts_on_the_hosts_that_answer", run: a_pool_starts_on_the_hosts_that_answer },
        Case { name: "a_pool_with_no_host_that_answers_fails_build", run: no_host_that_answers_fails_build },
    ]);
}

static CONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The engines' ssh_config plus `tulip-dead`: 127.0.0.1 on a port nobody listens to.
fn config_with_a_dead_host() -> Option<PathBuf> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/engines.sh");
    let out = Command::new("bash").arg(script).arg("start").output().ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let engines = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let mut text = std::fs::read_to_string(&engines).ok()?;
    text.push_str("Host tulip-dead\n  HostName 127.0.0.1\n  Port 1\n  BatchMode yes\n  ConnectTimeout 5\n");
    let path = std::env::temp_dir().join(format!("tulip-dead-host-{}.conf", std::process::id()));
    std::fs::write(&path, text).ok()?;
    Some(path)
}

fn launcher(hosts: &[&str]) -> Launcher {
    let config = CONFIG.get().unwrap().display().to_string();
    let mut l = Launcher::ssh(hosts[0]).ssh_arg("-F").ssh_arg(config);
    for h in &hosts[1..] {
        l = l.host(*h);
    }
    l
}

fn square(x: u64) -> u64 {
    x * x
}

fn a_pool_starts_on_the_hosts_that_answer() {
    let pool = ProcessPool::builder()
        .launcher(launcher(&["tulip-dead", "tulip-1"]))
        .max_workers(2)
        .min_workers(2)
        .build()
        .expect("builds on the host that answers");
    let futs: Vec<_> = (0..100u64).map(|i| pool.submit(square, i).unwrap()).collect();
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(i as u64 * i as u64));
    }
    assert_eq!(pool.stats().hosts_set_aside, 1);
}

fn no_host_that_answers_fails_build() {
    match ProcessPool::builder().launcher(launcher(&["tulip-dead"])).max_workers(1).build() {
        Err(BuildError::Spawn(m)) => assert!(m.contains("tulip-dead"), "names the host: {m}"),
        other => panic!("expected a spawn error, got {:?}", other.map(|_| ())),
    }
}
