//! `cargo fuzz run frame_scan`: see `tulip::__fuzz::frame_scan` for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip::__fuzz::frame_scan(data));
