#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flagpole::fuzzing::admin_body(data));
