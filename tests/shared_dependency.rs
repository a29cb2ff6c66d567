//! Plugins opened at the same time from many threads that need the same library dynplug loads
//! itself (libstdc++ for copies of cxx_plugin.so, libm for copies of libc_calls.so): the
//! library is mapped once and shared, and every plugin works.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::c_int;
use std::sync::{Arc, Barrier};

use dynplug::Plugin;
use dynplug_fixtures::fresh_copy;

/// Start addresses of the file-offset-0 mappings of files whose name contains `needle`.
fn images_of(needle: &str) -> Vec<u64> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let file = f.get(5)?;
            if file.contains(needle) && u64::from_str_radix(f[2], 16).ok()? == 0 {
                u64::from_str_radix(f[0].split_once('-')?.0, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn sixteen_plugins_needing_libstdcxx_at_once_share_one_copy() {
    let copies: Vec<_> = (0..16).map(|_| fresh_copy("cxx_plugin")).collect();
    let barrier = Arc::new(Barrier::new(copies.len()));
    let handles: Vec<_> = copies
        .into_iter()
        .map(|c| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let p = unsafe { Plugin::open(&c) }.unwrap();
                let work: extern "C" fn(c_int) -> i64 =
                    unsafe { p.lookup("cxx_work").unwrap().cast() };
                work(100)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 4950);
    }
    let images = images_of("libstdc++");
    assert_eq!(images.len(), 1, "libstdc++ mapped at {images:x?}");
}

#[test]
fn sixteen_plugins_needing_libm_at_once_share_one_copy() {
    let copies: Vec<_> = (0..16).map(|_| fresh_copy("libc_calls")).collect();
    let barrier = Arc::new(Barrier::new(copies.len()));
    let handles: Vec<_> = copies
        .into_iter()
        .map(|c| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let p = unsafe { Plugin::open(&c) }.unwrap();
                let cos: extern "C" fn(f64) -> f64 = unsafe { p.lookup("lc_cos").unwrap().cast() };
                cos(0.0)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 1.0);
    }
    let images = images_of("/libm.so");
    assert_eq!(images.len(), 1, "libm mapped at {images:x?}");
}
