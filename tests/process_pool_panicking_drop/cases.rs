#[path = "../support/process_harness.rs"]
mod harness;

use harness::Case;
use serde::{Deserialize, Serialize};
use tulip::{JobError, ProcessPool};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case {
            name: "submit_reports_a_panicking_drop_as_panicked",
            run: submit_reports_a_panicking_drop_as_panicked,
        },
        Case {
            name: "map_fails_only_the_items_whose_drop_panics",
            run: map_fails_only_the_items_whose_drop_panics,
        },
        Case {
            name: "a_panic_payload_whose_drop_panics_is_panicked",
            run: a_panic_payload_whose_drop_panics_is_panicked,
        },
    ]);
}

/// Panics when dropped where it was made; copies decoded elsewhere are harmless.
#[derive(Serialize, Deserialize, Debug)]
struct Grenade {
    value: u32,
    #[serde(skip)]
    armed: bool,
}

impl Drop for Grenade {
    fn drop(&mut self) {
        if self.armed {
            panic!("grenade {} went off in drop", self.value);
        }
    }
}

fn grenade(value: u32) -> Grenade {
    Grenade { value, armed: true }
}

/// Every third item's result panics when dropped.
fn some_grenades(value: u32) -> Grenade {
    Grenade { value, armed: value % 3 == 0 }
}

/// Panics with an armed grenade as the payload: dropping the payload panics again.
fn throw_grenade(value: u32) -> u32 {
    std::panic::panic_any(Grenade { value, armed: true })
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn submit_reports_a_panicking_drop_as_panicked() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let before = pool.submit(pid, ()).unwrap().wait().unwrap();
    match pool.submit(grenade, 7).unwrap().wait() {
        Err(JobError::Panicked(m)) => assert!(m.contains("grenade 7 went off in drop"), "{m}"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    let after = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert_eq!(before, after, "the worker survived the panic");
    assert_eq!(pool.stats().worker_deaths, 0);
}

fn map_fails_only_the_items_whose_drop_panics() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let out: Vec<_> = pool.map(some_grenades, 1..=12u32).chunksize(12).collect();
    assert_eq!(out.len(), 12);
    for (v, r) in (1..=12u32).zip(&out) {
        match r {
            Err(JobError::Panicked(m)) if v % 3 == 0 => assert!(m.contains("went off in drop"), "{m}"),
            Ok(g) if v % 3 != 0 => assert_eq!(g.value, v),
            other => panic!("item {v}: {other:?}"),
        }
    }
    assert_eq!(pool.stats().worker_deaths, 0);
}

fn a_panic_payload_whose_drop_panics_is_panicked() {
    let pool = ProcessPool::builder().max_workers(1).build().unwrap();
    let before = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert!(matches!(pool.submit(throw_grenade, 3).unwrap().wait(), Err(JobError::Panicked(_))));
    let out: Vec<_> = pool.map(throw_grenade, [1, 2]).chunksize(2).collect();
    assert!(out.iter().all(|r| matches!(r, Err(JobError::Panicked(_)))), "{out:?}");
    assert_eq!(pool.submit(pid, ()).unwrap().wait().unwrap(), before, "the worker survived");
}
