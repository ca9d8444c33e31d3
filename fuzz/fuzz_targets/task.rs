//! `cargo fuzz run task`: see `tulip::__fuzz::task` for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip::__fuzz::task(data));
