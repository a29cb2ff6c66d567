//! After a failed open nothing remains: the same mappings and file descriptors as before, over
//! 10,000 failed opens of assorted bad files (from paths and from bytes), and no
//! half-registered plugin (the next open fails the same way).
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use dynplug::{Error, Loader, Plugin};
use dynplug_fixtures::edit::ph;
use dynplug_fixtures::{fresh_copy, path};

fn count_maps() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

fn count_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Assorted bad inputs, failing early (header) and late (after mapping: undefined symbols).
fn bad_inputs() -> Vec<(String, Vec<u8>)> {
    let hello = std::fs::read(path("hello")).unwrap();
    // Half of what the segments load (not of the file: riscv64's small objects have all their
    // loaded bytes in the first half, before the debug sections).
    let e = dynplug_fixtures::edit::Elf::new(hello.clone());
    let loaded = e
        .loads()
        .into_iter()
        .map(|p| e.u64(p + ph::OFFSET) + e.u64(p + ph::FILESZ))
        .max()
        .unwrap() as usize;
    let mut v = vec![
        ("empty".to_string(), Vec::new()),
        (
            "not-elf".to_string(),
            b"#!/bin/sh\necho not a shared object\n".to_vec(),
        ),
        ("truncated-header".to_string(), hello[..40].to_vec()),
        ("truncated-half".to_string(), hello[..loaded / 2].to_vec()),
        (
            "undefined".to_string(),
            std::fs::read(path("undefined")).unwrap(),
        ),
        (
            "textrel".to_string(),
            std::fs::read(path("textrel")).unwrap(),
        ),
    ];
    let mut phoff = hello.clone();
    phoff[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
    v.push(("phoff".to_string(), phoff));
    v
}

#[test]
fn ten_thousand_failed_opens_leave_nothing() {
    failure_after_mapping_is_retried_not_remembered();
    let inputs = bad_inputs();
    let files: Vec<_> = inputs
        .iter()
        .map(|(name, bytes)| {
            let p =
                fresh_copy("hello").with_file_name(format!("bad-{name}-{}.so", std::process::id()));
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect();
    let loader = Loader::new();
    // Warm up: lazily initialised state (caches, the registry) is not a leak.
    for (i, (_, bytes)) in inputs.iter().enumerate() {
        assert!(unsafe { Plugin::open(&files[i]) }.is_err());
        assert!(unsafe { loader.open_bytes("bad", bytes) }.is_err());
    }
    let (maps, fds) = (count_maps(), count_fds());
    for round in 0..10_000 {
        let i = round % inputs.len();
        let r = if round % 2 == 0 {
            unsafe { Plugin::open(&files[i]) }
        } else {
            unsafe { loader.open_bytes(&inputs[i].0, &inputs[i].1) }
        };
        assert!(r.is_err(), "{} opened", inputs[i].0);
    }
    assert_eq!(count_maps(), maps, "mappings after 10,000 failed opens");
    assert_eq!(
        count_fds(),
        fds,
        "file descriptors after 10,000 failed opens"
    );
}

/// Run first by the one test of this file: a second test on another thread would add its own
/// stack mappings to the counts.
fn failure_after_mapping_is_retried_not_remembered() {
    let p = fresh_copy("undefined");
    for _ in 0..3 {
        assert!(matches!(
            unsafe { Plugin::open(&p) },
            Err(Error::UndefinedSymbols { .. })
        ));
    }
}
