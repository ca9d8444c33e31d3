//! `cargo fuzz run handshake`: see `tulip::__fuzz::handshake` for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip::__fuzz::handshake(data));
