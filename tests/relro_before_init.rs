//! Initialisers run after relocation is complete and PT_GNU_RELRO is read-only: reenter.so's
//! constructor calls the host, which reads /proc/self/maps at that moment. No page of the
//! process is writable and executable then either.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::c_void;
use std::path::PathBuf;
use std::sync::Mutex;

use dynplug::Loader;
use dynplug_fixtures::fresh_copy;
use dynplug_fixtures::inspect::{Object, PT_GNU_RELRO};

static PLUGIN: Mutex<Option<PathBuf>> = Mutex::new(None);
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// (start, end, perms, offset, path) of every mapping.
fn maps() -> Vec<(u64, u64, String, u64, String)> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (s, e) = f[0].split_once('-').unwrap();
            (
                u64::from_str_radix(s, 16).unwrap(),
                u64::from_str_radix(e, 16).unwrap(),
                f[1].to_string(),
                u64::from_str_radix(f[2], 16).unwrap(),
                f.get(5).map_or(String::new(), |p| p.to_string()),
            )
        })
        .collect()
}

/// Called by the plugin's constructor: what is writable now.
extern "C" fn host_in_init() {
    let path = PLUGIN.lock().unwrap().clone().unwrap();
    let name = path.to_str().unwrap().to_string();
    let maps = maps();
    let mut seen = SEEN.lock().unwrap();
    seen.push("called".into());
    for m in &maps {
        if m.2.contains('w') && m.2.contains('x') {
            seen.push(format!("W+X {:x}-{:x} {}", m.0, m.1, m.4));
        }
    }
    let (vaddr, memsz) = Object::read(&path).segment(PT_GNU_RELRO).unwrap();
    let Some(base) = maps.iter().find(|m| m.4 == name && m.3 == 0).map(|m| m.0) else {
        seen.push("plugin not in /proc/self/maps".into());
        return;
    };
    let (lo, hi) = ((base + vaddr) & !0xfff, (base + vaddr + memsz) & !0xfff);
    if hi <= lo {
        seen.push("RELRO smaller than a page".into());
    }
    for m in maps.iter().filter(|m| m.0 < hi && m.1 > lo) {
        if m.2.contains('w') {
            seen.push(format!(
                "RELRO writable during init: {:x}-{:x} {}",
                m.0, m.1, m.2
            ));
        }
    }
}

#[test]
fn relro_is_read_only_when_initialisers_run() {
    let copy = fresh_copy("reenter").canonicalize().unwrap();
    *PLUGIN.lock().unwrap() = Some(copy.clone());
    let loader = Loader::new().export("host_in_init", host_in_init as *const c_void);
    let p = unsafe { loader.open(&copy) }.unwrap();
    assert_eq!(*SEEN.lock().unwrap(), ["called"]);
    assert_eq!(
        unsafe { *p.lookup("reenter_done").unwrap().cast::<*const i32>() },
        1
    );
}
