//! After opening every fixture, from its file and from bytes: no page of the process is writable
//! and executable, plugin text is not writable, and PT_GNU_RELRO is read-only (read from
//! /proc/self/maps).
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::ffi::c_void;
use std::path::{Path, PathBuf};

use dynplug::{Error, Loader};
use dynplug_fixtures::dir;

#[no_mangle]
static mut HOST_VALUE_WX: i32 = 0;
extern "C" fn host_noop() {}
extern "C" fn host_add(a: i32, b: i32) -> i32 {
    a + b
}
static HOST_BYTES_WX: [u8; 16] = [0; 16];

struct Map {
    start: u64,
    end: u64,
    perms: String,
    offset: u64,
    path: String,
}

fn maps() -> Vec<Map> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (s, e) = f[0].split_once('-').unwrap();
            Map {
                start: u64::from_str_radix(s, 16).unwrap(),
                end: u64::from_str_radix(e, 16).unwrap(),
                perms: f[1].to_string(),
                offset: u64::from_str_radix(f[2], 16).unwrap(),
                path: f.get(5).map_or(String::new(), |p| p.to_string()),
            }
        })
        .collect()
}

/// PT_GNU_RELRO (vaddr, memsz) and the first PT_LOAD's vaddr, read from the file.
fn relro(path: &Path) -> Option<(u64, u64)> {
    let b = std::fs::read(path).unwrap();
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let (phoff, phnum) = (u64_at(0x20) as usize, u16_at(0x38));
    (0..phnum)
        .map(|i| phoff + i * 56)
        .find(|&h| u32_at(h) == 0x6474_e552)
        .map(|h| (u64_at(h + 16), u64_at(h + 40)))
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "so"))
        .collect();
    v.sort();
    v
}

#[test]
fn no_writable_executable_page_and_relro_read_only() {
    let loader = Loader::new()
        .export("host_value", &raw const HOST_VALUE_WX as *const c_void)
        .export("host_in_init", host_noop as *const c_void)
        .export("host_add", host_add as *const c_void)
        .export("host_bytes", HOST_BYTES_WX.as_ptr() as *const c_void);
    let mut opened = Vec::new();
    for f in fixtures() {
        match unsafe { loader.open(&f) } {
            Ok(p) => opened.push(p.path().to_path_buf()),
            // Fixtures made to be refused (or to need LD_LIBRARY_PATH); nothing else may fail
            // (a mapping error, say, would hide a fixture from the checks below).
            Err(
                Error::UndefinedSymbols { .. }
                | Error::Unsupported { .. }
                | Error::WrongArchitecture { .. }
                | Error::MissingDependency { .. },
            ) => {}
            Err(e) => panic!("{}: {e}", f.display()),
        }
    }
    assert!(opened.len() >= 20, "most fixtures open: {opened:?}");
    // The same from bytes (anonymous mappings, filled, then protected): covered by the check
    // of every mapping of the process below.
    let mut from_bytes = 0;
    for f in fixtures() {
        let name = format!("wx-bytes:{}", f.display());
        if unsafe { loader.open_bytes(&name, &std::fs::read(&f).unwrap()) }.is_ok() {
            from_bytes += 1;
        }
    }
    assert!(from_bytes >= 20, "{from_bytes} fixtures opened from bytes");
    let maps = maps();
    for m in &maps {
        assert!(
            !(m.perms.contains('w') && m.perms.contains('x')),
            "W+X mapping {:x}-{:x} {}",
            m.start,
            m.end,
            m.path
        );
    }
    for path in &opened {
        let name = path.to_str().unwrap();
        let mine: Vec<&Map> = maps.iter().filter(|m| m.path == name).collect();
        assert!(!mine.is_empty(), "{name} is file-backed in /proc/self/maps");
        assert!(
            mine.iter().any(|m| m.perms.starts_with("r-x")),
            "{name} has text"
        );
        let Some((vaddr, memsz)) = relro(path) else {
            continue;
        };
        // The first PT_LOAD of these fixtures is at vaddr 0, offset 0: the bias is where it lies.
        let bias = mine.iter().find(|m| m.offset == 0).unwrap().start;
        let (lo, hi) = ((bias + vaddr) & !0xfff, (bias + vaddr + memsz) & !0xfff);
        for m in maps.iter().filter(|m| m.start < hi && m.end > lo) {
            assert!(
                !m.perms.contains('w'),
                "{name}: RELRO {lo:x}-{hi:x} writable in {:x}-{:x} {}",
                m.start,
                m.end,
                m.perms
            );
        }
    }
}
