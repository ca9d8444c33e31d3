//! Thread-pool test helpers shared by several test targets.

use std::sync::{Arc, Barrier};

use tulip::ThreadPool;

/// Makes the pool start `n` threads by running `n` jobs that wait for each other; when it returns,
/// all `n` threads have run a job and gone idle.
pub fn start_threads(pool: &ThreadPool, n: usize) {
    let barrier = Arc::new(Barrier::new(n));
    let futs: Vec<_> = (0..n)
        .map(|_| {
            let b = barrier.clone();
            pool.submit(move || {
                b.wait();
            })
            .unwrap()
        })
        .collect();
    futs.into_iter().for_each(|f| f.wait().unwrap());
}
