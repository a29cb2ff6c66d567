//! The dry run (`Loader::check_bytes`): lay out, resolve against this process, and apply every
//! relocation into a private buffer, running nothing. Must always return.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dynplug::Loader::new().check_bytes(data);
});
