//! `DF_1_NODEFLIB` (`-z nodefaultlib`): the dependencies of an object so marked are not searched
//! for in the default directories, nor taken from the cache where it points into them (glibc's
//! `_dl_map_object`; FreeBSD's rtld skips its hints and `/lib:/usr/lib` alike). The fixtures
//! need the system's libz.so.1, which only the cache and the default directories have; glibc's
//! dlopen of the same files (harness/dlref.c) is the reference.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called accordingly.
use dynplug::{Error, Plugin};
use dynplug_fixtures::{fresh_copy, glibc};

fn text(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// One test, in this order: what the process has loaded decides (a library loaded already is
/// matched by name before any search, under glibc as under dynplug).
#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 zlib (no riscv64 multiarch): nothing to find"
)]
fn a_nodeflib_object_s_dependency_is_not_found_in_the_default_directories() {
    let (on, off) = (fresh_copy("nodeflib_on"), fresh_copy("nodeflib_off"));
    // Marked: not found.
    assert_eq!(glibc(&["local", text(&on)]), ["error"]);
    match unsafe { Plugin::open(&on) } {
        Err(Error::MissingDependency { library, .. }) => assert_eq!(library, "libz.so.1"),
        other => panic!("{:?}", other.map(|_| "opened")),
    }
    // Unmarked: found in the default directories (the system's zlib, not the link-time stub).
    let steps = [
        "local",
        text(&off),
        "call",
        "zlib_major",
        "local",
        text(&on),
    ];
    assert_eq!(glibc(&steps), ["ok", "1", "ok"]);
    let p = unsafe { Plugin::open(&off) }.unwrap();
    let major: extern "C" fn() -> i32 = unsafe { p.lookup("zlib_major").unwrap().cast() };
    assert_eq!(major(), 1);
    // Now loaded, libz.so.1 is matched by name: the marked object opens too.
    unsafe { Plugin::open(&on) }.unwrap();
}
