//! `cargo fuzz run frame_reader`: see `tulip::__fuzz::frame_reader` for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip::__fuzz::frame_reader(data));
