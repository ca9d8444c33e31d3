//! Process pool: workers show under the program's own name in `ps` and `top` (their `comm`), not
//! as `exe`, the name of the `/proc/self/exe` link they are started from.

#[cfg(windows)]
fn main() {
    println!("skipped on Windows: the process pool is Unix-only for now (README, Platforms)");
}

#[cfg(unix)]
#[path = "support/process_harness.rs"]
mod harness;

#[cfg(unix)]
use harness::Case;
#[cfg(unix)]
use tulip::ProcessPool;

#[cfg(unix)]
fn main() {
    tulip::process::init();
    harness::run(&[Case { name: "workers_carry_the_program_name", run: workers_carry_the_program_name }]);
}

#[cfg(unix)]
fn my_comm(_: ()) -> String {
    std::fs::read_to_string("/proc/self/comm").unwrap_or_default().trim_end().to_string()
}

#[cfg(unix)]
fn workers_carry_the_program_name() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let theirs = pool.submit(my_comm, ()).unwrap().wait().unwrap();
    let mine = my_comm(());
    assert!(!mine.is_empty());
    assert_eq!(theirs, mine, "the worker's name differs from the program's");
    assert_ne!(theirs, "exe");
}
