//! Builder settings: thread names, stack size, invalid values rejected with a clear error.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use tulip::{BuildError, ThreadPool};

#[test]
fn threads_are_named_prefix_dash_number() {
    let pool = ThreadPool::builder().max_workers(3).thread_name_prefix("db").build().unwrap();
    let barrier = Arc::new(Barrier::new(3));
    let names: HashSet<String> = (0..3)
        .map(|_| {
            let b = barrier.clone();
            pool.submit(move || {
                b.wait();
                std::thread::current().name().unwrap().to_string()
            })
            .unwrap()
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|f| f.wait().unwrap())
        .collect();
    assert_eq!(names, ["db-0", "db-1", "db-2"].into_iter().map(String::from).collect());
}

#[test]
fn default_name_and_size() {
    let pool = ThreadPool::builder().build().unwrap();
    assert_eq!(pool.max_workers(), (num_cpus::get() + 4).min(32));
    let name = pool.submit(|| std::thread::current().name().map(String::from)).unwrap().wait().unwrap();
    assert_eq!(name.as_deref(), Some("tulip-worker-0"));
}

#[test]
fn stack_size_is_applied() {
    // 64 MiB of stack lets a job use a 16 MiB local array, far beyond the 2 MiB default.
    let pool = ThreadPool::builder().stack_size(64 << 20).build().unwrap();
    let r = pool
        .submit(|| {
            let big = [1u8; 16 << 20];
            std::hint::black_box(&big).iter().map(|&b| b as u64).sum::<u64>()
        })
        .unwrap()
        .wait();
    assert_eq!(r, Ok(16 << 20));
}

#[test]
fn invalid_settings_are_rejected() {
    for (b, what) in [
        (ThreadPool::builder().max_workers(0), "max_workers"),
        (ThreadPool::builder().stack_size(0), "stack_size"),
        (ThreadPool::builder().queue_capacity(0), "queue_capacity"),
        (ThreadPool::builder().thread_name_prefix("a\0b"), "NUL"),
    ] {
        match b.build() {
            Err(BuildError::InvalidConfig(msg)) => assert!(msg.contains(what), "{msg}"),
            other => panic!("{what}: expected InvalidConfig, got {other:?}"),
        }
    }
}
