//! `cargo fuzz run result`: see `tulip::__fuzz::result` for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip::__fuzz::result(data));
