//! Fuzz target `sign_alibaba_rocketmq`: see `localyun::fuzzing` for the input format and the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = localyun::fuzzing::run("sign_alibaba_rocketmq", data) {
        panic!("{broken}");
    }
});
