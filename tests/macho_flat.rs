//! dyld's flat lookup (`-undefined dynamic_lookup` imports) on Linux: a symbol the host does not
//! export binds to the first Mach-O image dynplug loaded that exports it. Its own test binary:
//! the provider loaded here would serve the other tests' plugins too.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/macho/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
#![cfg_attr(target_arch = "riscv64", allow(dead_code, unused_imports))]

use std::ffi::c_int;

use dynplug::{Error, Loader};

const ARCH: &str = if cfg!(target_arch = "x86_64") {
    "x86_64"
} else {
    "arm64"
};

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn a_flat_import_binds_to_an_image_loaded_before() {
    let dir = dynplug_fixtures::scratch_dir().join("macho-flat");
    std::fs::create_dir_all(&dir).unwrap();
    let names = [
        "libmacho_provider.dylib",
        "macho_plugin_chained.dylib",
        "libmacho_dep.dylib",
    ];
    for n in names {
        std::fs::copy(dynplug_fixtures::macho_dir(ARCH).join(n), dir.join(n)).unwrap();
    }
    let plugin = dir.join("macho_plugin_chained.dylib");
    // No host_add anywhere yet: the dry run and the open both say so.
    let report = Loader::new().check(&plugin).unwrap();
    assert!(!report.is_ok(), "{:?}", report.problems);
    match unsafe { Loader::new().open(&plugin) } {
        Err(Error::UndefinedSymbols { symbols, .. }) => assert_eq!(symbols, ["host_add"]),
        other => panic!("{:?}", other.map(|_| "opened")),
    }
    // The provider loaded: the plugin's host_add is its.
    let provider = unsafe { Loader::new().open(dir.join(names[0])) }.unwrap();
    assert!(Loader::new().check(&plugin).unwrap().is_ok());
    let p = unsafe { Loader::new().open(&plugin) }.unwrap();
    let add: extern "C" fn(c_int, c_int) -> c_int =
        unsafe { p.lookup("plugin_add").unwrap().cast() };
    // provider's host_add(2, 3) = 203, + dep_mul(5, 2) + wdef(0).
    assert_eq!(add(2, 3), 203 + 10 + 1);
    let own: extern "C" fn(c_int, c_int) -> c_int =
        unsafe { provider.lookup("host_add").unwrap().cast() };
    assert_eq!(own(2, 3), 203);
}
