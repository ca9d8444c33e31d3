#[path = "../support/process_harness.rs"]
mod harness;

use harness::Case;
use serde::{Deserialize, Serialize};
use tulip::{JobError, ProcessPool, SubmitError};

fn main() {
    tulip::process::init();
    harness::run(&[
        Case { name: "values_of_several_types_come_back", run: values_of_several_types_come_back },
        Case { name: "futures_are_awaitable_on_any_runtime", run: futures_are_awaitable_on_any_runtime },
        Case {
            name: "panic_fails_its_task_and_the_worker_lives",
            run: panic_fails_its_task_and_the_worker_lives,
        },
        Case { name: "unencodable_arguments_fail_at_submit", run: unencodable_arguments_fail_at_submit },
        Case { name: "undecodable_result_is_a_codec_error", run: undecodable_result_is_a_codec_error },
        Case { name: "oversize_frames_are_refused_both_ways", run: oversize_frames_are_refused_both_ways },
        Case {
            name: "map_yields_in_order_with_per_item_errors",
            run: map_yields_in_order_with_per_item_errors,
        },
        Case { name: "ten_thousand_tasks_at_once", run: ten_thousand_tasks_at_once },
    ]);
}

fn pool(workers: usize) -> ProcessPool {
    ProcessPool::builder().max_workers(workers).build().expect("pool")
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    label: String,
}

fn add_one(x: u64) -> u64 {
    x + 1
}

fn shout(s: String) -> String {
    s.to_uppercase()
}

fn flip(points: Vec<Point>) -> Vec<Point> {
    points.into_iter().rev().map(|p| Point { x: -p.x, ..p }).collect()
}

fn values_of_several_types_come_back() {
    let pool = pool(2);
    assert_eq!(pool.submit(add_one, 41).unwrap().wait(), Ok(42));
    assert_eq!(pool.submit(shout, "tulip".to_string()).unwrap().wait(), Ok("TULIP".to_string()));
    let pts = vec![Point { x: 1, label: "a".into() }, Point { x: 2, label: "b".into() }];
    assert_eq!(
        pool.submit(flip, pts).unwrap().wait(),
        Ok(vec![Point { x: -2, label: "b".into() }, Point { x: -1, label: "a".into() }])
    );
    // A non-capturing closure is a plain function too.
    assert_eq!(pool.submit(|(a, b): (u8, u8)| a as u16 * b as u16, (200, 3)).unwrap().wait(), Ok(600));
    // The work really ran elsewhere.
    assert_ne!(pool.submit(pid, ()).unwrap().wait().unwrap(), std::process::id());
    assert!(pool.submit(|_: ()| tulip::process::is_worker(), ()).unwrap().wait().unwrap());
    assert_eq!(pool.stats().completed, 6);
}

fn futures_are_awaitable_on_any_runtime() {
    let pool = pool(1);
    let f = pool.submit(add_one, 1).unwrap();
    assert_eq!(futures_lite::future::block_on(f), Ok(2));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let f = pool.submit(add_one, 2).unwrap();
    assert_eq!(rt.block_on(f), Ok(3));
    let f = pool.submit(add_one, 3).unwrap();
    assert_eq!(smol::block_on(f), Ok(4));
    // And on tulip's own loop, next to other tasks.
    let sum = tulip::run(async {
        let lp = tulip::get_running_loop();
        let other = lp.spawn(async { 10 });
        let a = pool.submit(add_one, 4).unwrap().await.unwrap();
        let b = pool.submit(add_one, 5).unwrap().await.unwrap();
        a + b + other.await.unwrap()
    });
    assert_eq!(sum, 5 + 6 + 10);
}

fn panicky(x: i32) -> i32 {
    if x < 0 {
        panic!("negative input: {x}");
    }
    x
}

fn panic_fails_its_task_and_the_worker_lives() {
    let pool = pool(1);
    let before = pool.submit(pid, ()).unwrap().wait().unwrap();
    assert_eq!(
        pool.submit(panicky, -5).unwrap().wait(),
        Err(JobError::Panicked("negative input: -5".into()))
    );
    assert_eq!(pool.submit(panicky, 5).unwrap().wait(), Ok(5));
    assert_eq!(pool.submit(pid, ()).unwrap().wait().unwrap(), before, "the worker was replaced");
    let s = pool.stats();
    assert_eq!((s.worker_deaths, s.failed, s.completed), (0, 1, 3));
}

/// Serializes to an error, deserializes to an error.
#[derive(Debug)]
struct Cursed;

impl Serialize for Cursed {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("cursed values cannot be written"))
    }
}

impl<'de> Deserialize<'de> for Cursed {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("cursed values cannot be read"))
    }
}

/// Encodes fine, refuses to decode.
#[derive(Debug)]
struct WriteOnly;

impl Serialize for WriteOnly {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(7)
    }
}

impl<'de> Deserialize<'de> for WriteOnly {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("this type refuses to be read"))
    }
}

fn unencodable_arguments_fail_at_submit() {
    let pool = pool(1);
    match pool.submit(|_: Cursed| 1u8, Cursed) {
        Err(SubmitError::Encode(msg)) => assert!(msg.contains("encode"), "{msg}"),
        other => panic!("expected an encode error, got {other:?}"),
    }
    // Nothing was queued, and the pool goes on.
    assert_eq!(pool.stats().queued, 0);
    assert_eq!(pool.submit(add_one, 0).unwrap().wait(), Ok(1));
}

fn undecodable_result_is_a_codec_error() {
    let pool = pool(1);
    match pool.submit(|_: ()| WriteOnly, ()).unwrap().wait() {
        // (postcard keeps only the kind of a custom serde error, not its text)
        Err(JobError::Codec(msg)) => assert!(msg.contains("decode the result"), "{msg}"),
        other => panic!("expected a codec error, got {other:?}"),
    }
    // The worker's side fails the same way for a result it cannot encode.
    match pool.submit(|_: ()| Cursed, ()).unwrap().wait() {
        Err(JobError::Codec(msg)) => assert!(msg.contains("encode the result"), "{msg}"),
        other => panic!("expected a codec error, got {other:?}"),
    }
    assert_eq!(pool.submit(add_one, 9).unwrap().wait(), Ok(10));
    assert_eq!(pool.stats().worker_deaths, 0);
}

fn oversize_frames_are_refused_both_ways() {
    let pool = ProcessPool::builder().max_workers(1).max_frame_size(64 * 1024).build().unwrap();
    match pool.submit(|v: Vec<u8>| v.len(), vec![0u8; 100_000]) {
        Err(SubmitError::Encode(msg)) => assert!(msg.contains("max_frame_size"), "{msg}"),
        other => panic!("expected an encode error, got {other:?}"),
    }
    match pool.submit(|n: usize| vec![1u8; n], 100_000).unwrap().wait() {
        Err(JobError::Codec(msg)) => assert!(msg.contains("max_frame_size"), "{msg}"),
        other => panic!("expected a codec error, got {other:?}"),
    }
    // Just under the limit is fine.
    assert_eq!(pool.submit(|n: usize| vec![1u8; n], 60_000).unwrap().wait().map(|v| v.len()), Ok(60_000));
}

fn square_or_panic(x: u32) -> u32 {
    if x == 13 {
        panic!("unlucky");
    }
    x * x
}

fn map_yields_in_order_with_per_item_errors() {
    let pool = pool(2);
    let out: Vec<Result<u32, JobError>> = pool.map(square_or_panic, 0..40u32).chunksize(7).collect();
    assert_eq!(out.len(), 40);
    for (i, r) in out.iter().enumerate() {
        let i = i as u32;
        if i == 13 {
            assert_eq!(r, &Err(JobError::Panicked("unlucky".into())));
        } else {
            assert_eq!(r, &Ok(i * i));
        }
    }
    // Lazy: an endless input is fine when only a prefix is taken.
    let first: Vec<u32> = pool.map(add_one_u32, 0..).chunksize(3).take(5).map(Result::unwrap).collect();
    assert_eq!(first, vec![1, 2, 3, 4, 5]);
    // A chunksize of 0 counts as 1, and so does an in_flight of 0.
    assert_eq!(pool.map(add_one_u32, 0..2).chunksize(0).in_flight(0).collect::<Vec<_>>(), vec![Ok(1), Ok(2)]);
    // A shutdown in the middle ends an endless map: the rest of the taken chunks fail, then it stops.
    let mut endless = pool.map(add_one_u32, 0..).chunksize(2);
    assert_eq!(endless.next(), Some(Ok(1)));
    pool.shutdown();
    let rest: Vec<_> = endless.collect();
    assert!(rest.len() < 100, "{} items after shutdown", rest.len());
    assert!(rest.iter().any(|r| r == &Err(JobError::ShutDown)));
}

fn add_one_u32(x: u32) -> u32 {
    x + 1
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn ten_thousand_tasks_at_once() {
    let pool = pool(2);
    let fds_before = open_fds();
    let futs: Vec<_> = (0..10_000u64).map(|i| pool.submit(add_one, i).unwrap()).collect();
    // No descriptor per task: at most the second worker's pipes appear. (Unix: under Wine,
    // /proc/self/fd lists Wine's own descriptors, which come and go with its handles.)
    if cfg!(unix) {
        assert!(open_fds() <= fds_before + 4, "fds grew from {fds_before} to {}", open_fds());
    }
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait(), Ok(i as u64 + 1));
    }
    assert_eq!(pool.stats().completed, 10_000);
}
