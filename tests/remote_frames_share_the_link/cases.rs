#[path = "../support/process_harness.rs"]
mod harness;

use std::time::Duration;

use harness::Case;
use tulip::process::Launcher;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "the_worker_writes_onto_the_link", run: the_worker_writes_onto_the_link },
        Case {
            name: "large_results_come_back_whole_between_beats",
            run: large_results_come_back_whole_between_beats,
        },
    ]);
}

/// A launcher that runs the nanny on this machine, with a heartbeat every `beat`.
fn pool(beat: Duration, workers: usize) -> ProcessPool {
    let launcher = Launcher::command(["sh", "-c", "exec \"$@\"", "sh"]).heartbeat(beat);
    ProcessPool::builder().launcher(launcher).max_workers(workers).build().unwrap()
}

/// What the worker's frame output (fd 4) is.
fn frame_output(_: ()) -> String {
    std::fs::read_link("/proc/self/fd/4").map(|l| l.display().to_string()).unwrap_or_default()
}

fn the_worker_writes_onto_the_link() {
    if !cfg!(target_os = "linux") {
        println!("skipped: the status page the worker and its nanny share the link under is Linux-only");
        return;
    }
    let pool = pool(Duration::from_secs(5), 1);
    let output = pool.submit(frame_output, ()).unwrap().wait().unwrap();
    assert!(output.starts_with("pipe:"), "{output}");
    // The pool (this process) holds the far end of the launcher's stdout, the link.
    let ours: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|l| l.display().to_string())
        .collect();
    assert!(ours.contains(&output), "the worker's frames go straight onto the link, not through its nanny");
}

/// `n` bytes, each a function of its position and `seed`, so a byte out of place is seen.
fn pattern((seed, n): (u8, usize)) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn large_results_come_back_whole_between_beats() {
    let pool = pool(Duration::from_millis(200), 2);
    let n = 1 << 20;
    for round in 0..4u8 {
        let futs: Vec<_> = (0..4u8).map(|i| pool.submit(pattern, (round * 4 + i, n)).unwrap()).collect();
        for (i, f) in futs.into_iter().enumerate() {
            let got = f.wait().expect("a large result over a link with frequent beats");
            assert!(got == pattern((round * 4 + i as u8, n)), "result {round}/{i} came back whole");
        }
    }
    assert_eq!(pool.stats().worker_deaths, 0, "no link was ended by a frame broken in two");
}
