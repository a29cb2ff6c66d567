//! Large runs of RELATIVE relocations (testdata/c/dense.c): the loader faults in the pages of a
//! dense block of places with one call before applying it. Every pointer must still be right,
//! and no page that no relocation writes may become private: the block holding the mostly empty
//! `sparse` array is not dense and must not be faulted in as a whole.
// SAFETY (this file): the plugin is the fixture built from testdata/c/dense.c; its symbols are
// read with the types that source declares.
use std::collections::BTreeSet;

use dynplug::Plugin;
use dynplug_fixtures::fresh_copy;
use dynplug_fixtures::inspect::Object;

const PAGE: u64 = 4096;

fn open() -> (&'static Plugin, Object) {
    let path = fresh_copy("dense");
    let object = Object::read(&path);
    (unsafe { Plugin::open(&path) }.unwrap(), object)
}

fn array(p: &Plugin, name: &str, len: usize) -> &'static [*const i32] {
    let at = p.lookup(name).unwrap().addr() as *const *const i32;
    unsafe { std::slice::from_raw_parts(at, len) }
}

#[test]
fn every_pointer_of_the_dense_blocks_is_relocated() {
    let (p, _) = open();
    let target_at: extern "C" fn(i32) -> *const i32 =
        unsafe { p.lookup("target_at").unwrap().cast() };
    let (t0, t1, t2) = (target_at(0), target_at(1), target_at(2));
    assert!(array(p, "dense_a", 12288).iter().all(|&x| x == t0));
    let sparse = array(p, "sparse", 4096);
    assert_eq!((sparse[0], sparse[4095]), (t1, t1));
    assert!(sparse[1..4095].iter().all(|x| x.is_null()));
    assert!(array(p, "dense_b", 8192).iter().all(|&x| x == t2));
}

#[test]
fn only_written_pages_become_private() {
    let (p, object) = open();
    let bias = p.lookup("dense_a").unwrap().addr() as u64 - object.symbol_value("dense_a").unwrap();
    // The writable segment (the last PT_LOAD of this fixture) and the pages relocations write.
    let rw = object.loads().into_iter().rfind(|l| l.writable).unwrap();
    let mut written: BTreeSet<u64> = object
        .relocations()
        .iter()
        .map(|r| r.place & !(PAGE - 1))
        .collect();
    assert!(written.len() > 40, "{} pages of relocations", written.len());
    // The page where the file's bytes end is zeroed past them (the start of .bss).
    let file_end = rw.vaddr + rw.filesz;
    if rw.memsz > rw.filesz && file_end % PAGE != 0 {
        written.insert(file_end & !(PAGE - 1));
    }
    let (lo, hi) = (
        bias + (rw.vaddr & !(PAGE - 1)),
        bias + ((rw.vaddr + rw.memsz + PAGE - 1) & !(PAGE - 1)),
    );
    let private = anonymous_kib(lo, hi);
    assert_eq!(
        private,
        written.len() as u64 * PAGE / 1024,
        "private kB of {lo:x}-{hi:x}: only the {} pages relocations write",
        written.len()
    );
}

/// Sum of `Anonymous:` (pages made private) of the mappings inside `[lo, hi)`.
fn anonymous_kib(lo: u64, hi: u64) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut inside = false;
    let mut total = 0;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) {
                inside = a >= lo && b <= hi;
                continue;
            }
        }
        if let Some(v) = line.strip_prefix("Anonymous:") {
            if inside {
                total += v
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .unwrap();
            }
        }
    }
    total
}
