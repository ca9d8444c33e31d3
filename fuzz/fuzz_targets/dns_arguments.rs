//! `cargo fuzz run dns_arguments`: see `tulip::__fuzz::dns_arguments` for what it drives and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip::__fuzz::dns_arguments(data));
