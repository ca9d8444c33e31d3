#[path = "../support/process_harness.rs"]
mod harness;

use std::sync::atomic::{AtomicU64, Ordering};

use harness::Case;
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use tulip::{ProcessPool, SubmitError};

fn main() {
    tulip::process::init();
    harness::run(&[Case {
        name: "oversize_arguments_are_refused_while_encoding",
        run: oversize_arguments_are_refused_while_encoding,
    }]);
}

/// How many items of [`Huge`] were encoded.
static ENCODED: AtomicU64 = AtomicU64::new(0);

/// Ten million 8-byte items (80 MB encoded), produced one by one as they are encoded.
struct Huge;

impl Serialize for Huge {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(10_000_000))?;
        for i in 0..10_000_000u64 {
            ENCODED.fetch_add(1, Ordering::Relaxed);
            seq.serialize_element(&(i | 1 << 62))?;
        }
        seq.end()
    }
}

fn count(items: Vec<u64>) -> usize {
    items.len()
}

fn oversize_arguments_are_refused_while_encoding() {
    let pool = ProcessPool::builder().max_workers(1).max_frame_size(64 * 1024).build().unwrap();
    match pool.submit(count_huge, Wrapper) {
        Err(e @ SubmitError::Encode(_)) => assert!(e.to_string().contains("max_frame_size"), "{e}"),
        other => panic!("expected SubmitError::Encode, got {:?}", other.map(|_| ())),
    }
    let encoded = ENCODED.load(Ordering::Relaxed);
    assert!(encoded < 10_000, "{encoded} items were encoded before the refusal");
    assert_eq!(pool.submit(count, vec![1, 2, 3]).unwrap().wait(), Ok(3));
}

/// The argument type of [`count_huge`]: encodes as [`Huge`]; never decoded, since it is refused.
#[derive(serde::Deserialize)]
#[serde(from = "Vec<u64>")]
struct Wrapper;

impl From<Vec<u64>> for Wrapper {
    fn from(_: Vec<u64>) -> Wrapper {
        Wrapper
    }
}

impl Serialize for Wrapper {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Huge.serialize(s)
    }
}

fn count_huge(_: Wrapper) -> usize {
    10_000_000
}
