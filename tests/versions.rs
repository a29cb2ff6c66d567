//! Symbol versions of imports: ver_user.so (testdata/c/ver_user.c) imports vfunc@VER_1 (a
//! hidden, non-default version) and vfunc (the default VER_2) from a_ver.so. With the name of
//! the version it needs rewritten to one a_ver.so does not define, the import is unresolved
//! (glibc refuses such an object too): one error, naming the symbol with its version.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::path::PathBuf;

use dynplug::{Error, Plugin};
use dynplug_fixtures::edit::Elf;
use dynplug_fixtures::{fresh_copy, path};

/// A directory holding a_ver.so and ver_user.so with "VER_1" replaced by `version` (five bytes)
/// in its dynamic string table; returns the path of the user.
fn user_needing(version: &str) -> PathBuf {
    assert_eq!(version.len(), 5);
    let dir = fresh_copy("a_ver").with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(path("a_ver"), dir.join("a_ver.so")).unwrap();
    let mut e = Elf::new(std::fs::read(path("ver_user")).unwrap());
    let (at, size) = (e.offset_of(e.dyn_val(5)), e.dyn_val(10) as usize);
    let strtab = &mut e.bytes[at..at + size];
    let hits: Vec<usize> = (0..size - 5)
        .filter(|&i| &strtab[i..i + 6] == b"VER_1\0")
        .collect();
    assert_eq!(hits.len(), 1, "VER_1 once in .dynstr");
    strtab[hits[0]..hits[0] + 5].copy_from_slice(version.as_bytes());
    let user = dir.join("ver_user.so");
    std::fs::write(&user, &e.bytes).unwrap();
    user
}

#[test]
fn unchanged_copy_binds_both_versions() {
    // The control: the copying itself breaks nothing.
    let p = unsafe { Plugin::open(user_needing("VER_1")) }.unwrap();
    let old: extern "C" fn() -> i32 = unsafe { p.lookup("call_old").unwrap().cast() };
    let new: extern "C" fn() -> i32 = unsafe { p.lookup("call_default").unwrap().cast() };
    assert_eq!((old(), new()), (1, 2));
}

#[test]
fn a_version_the_library_lacks_is_an_undefined_symbol() {
    match unsafe { Plugin::open(user_needing("VER_9")) } {
        Err(Error::UndefinedSymbols { symbols, .. }) => {
            assert_eq!(symbols.len(), 1, "{symbols:?}");
            assert!(symbols[0].starts_with("vfunc@VER_9"), "{symbols:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_plugin_s_own_imports_are_named_without_a_module_suffix() {
    // " (in <module>)" names a dependency dynplug loaded for the plugin; the plugin's own
    // missing imports are listed bare, as when it has no dependency (core.rs,
    // `undefined_imports_are_all_named`), even though ver_user.so has one (a_ver.so).
    match unsafe { Plugin::open(user_needing("VER_9")) } {
        Err(Error::UndefinedSymbols { symbols, .. }) => assert_eq!(symbols, ["vfunc@VER_9"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dlvsym_takes_only_the_version_named_as_glibc_s_does() {
    let plugin = path("dlvsym_base");
    let reference =
        dynplug_fixtures::glibc(&["local", plugin.to_str().unwrap(), "call", "dlvsym_base"]);
    assert_eq!(reference, ["ok", "1"]);
    let p = unsafe { dynplug::Plugin::open(&plugin) }.unwrap();
    let f: extern "C" fn() -> i32 = unsafe { p.lookup("dlvsym_base").unwrap().cast() };
    assert_eq!(
        f(),
        1,
        "vfunc@VER_1 found, the base-version plain not taken for VER_1"
    );
}
