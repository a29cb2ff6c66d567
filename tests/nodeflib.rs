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

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 zlib (no riscv64 multiarch): nothing to find"
)]
fn an_unmarked_object_finds_its_dependency_in_the_default_directories() {
    let off = fresh_copy("nodeflib_off");
    assert_eq!(
        glibc(&["local", text(&off), "call", "zlib_major"]),
        ["ok", "1"]
    );
    let p = unsafe { Plugin::open(&off) }.unwrap();
    let major: extern "C" fn() -> i32 = unsafe { p.lookup("zlib_major").unwrap().cast() };
    assert_eq!(major(), 1, "the system's zlib, not the link-time stub");
}

#[test]
fn a_nodeflib_object_does_not_find_it_there() {
    let on = fresh_copy("nodeflib_on");
    assert_eq!(glibc(&["local", text(&on)]), ["error"]);
    match unsafe { Plugin::open(&on) } {
        Err(Error::MissingDependency { library, .. }) => assert_eq!(library, "libz.so.1"),
        other => panic!("{:?}", other.map(|_| "opened")),
    }
}
