//! Fuzz target `request_alibaba_kafka`: see `localyun::fuzzing` for the input format and the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = localyun::fuzzing::run("request_alibaba_kafka", data) {
        panic!("{broken}");
    }
});
