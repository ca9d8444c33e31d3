#[path = "../support/process_harness.rs"]
mod harness;

use harness::Case;
use tulip::ProcessPool;

fn main() {
    tulip::process::init();
    harness::run(&[Case { name: "workers_carry_the_program_name", run: workers_carry_the_program_name }]);
}

fn my_comm(_: ()) -> String {
    std::fs::read_to_string("/proc/self/comm").unwrap_or_default().trim_end().to_string()
}

fn workers_carry_the_program_name() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let theirs = pool.submit(my_comm, ()).unwrap().wait().unwrap();
    let mine = my_comm(());
    assert!(!mine.is_empty());
    assert_eq!(theirs, mine, "the worker's name differs from the program's");
    assert_ne!(theirs, "exe");
}
