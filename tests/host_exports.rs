//! Scope order for a plugin's imports: the loader's host exports, then the process's modules,
//! then the plugin itself. host_export.so (testdata/c/host_export.c) imports `abs` (also in
//! libc), `host_add` and `host_bytes` (only in the host); scope_self.so defines its own `abs`.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::{c_int, c_void};

use dynplug::{Error, Loader, Plugin};
use dynplug_fixtures::inspect::{Object, R_ABS64, R_GLOB_DAT, R_JUMP_SLOT};
use dynplug_fixtures::{fresh_copy, path};

static HOST_BYTES: [u8; 16] = *b"0123456789abcdef";

extern "C" fn host_add(a: c_int, b: c_int) -> c_int {
    a + b
}

/// Not libc's abs: tells which one a call reached.
extern "C" fn host_abs(x: c_int) -> c_int {
    1000 + x
}

fn host() -> Loader {
    Loader::new()
        .export("host_add", host_add as *const c_void)
        .export("host_bytes", HOST_BYTES.as_ptr() as *const c_void)
}

fn f<T: Copy>(p: &Plugin, name: &str) -> T {
    unsafe { p.lookup(name).unwrap_or_else(|e| panic!("{e}")).cast::<T>() }
}

fn word(p: &Plugin, name: &str) -> usize {
    unsafe { *f::<*const usize>(p, name) }
}

#[test]
fn fixture_imports_through_each_relocation() {
    let o = Object::read(path("host_export"));
    let has = |t: u32, s: &str, a: i64| {
        o.relocations()
            .iter()
            .any(|r| r.r_type == t && r.symbol == s && r.addend == a)
    };
    assert!(has(R_ABS64, "abs", 0));
    assert!(has(R_GLOB_DAT, "abs", 0));
    assert!(has(R_JUMP_SLOT, "host_add", 0));
    assert!(has(R_ABS64, "host_bytes", 3));
    assert!(has(R_ABS64, "host_bytes", -2));
    assert!(has(R_GLOB_DAT, "host_bytes", 0));
}

#[test]
fn host_export_comes_before_libc() {
    let loader = host().export("abs", host_abs as *const c_void);
    let p = unsafe { loader.open(fresh_copy("host_export")) }.unwrap();
    let call_abs: extern "C" fn(c_int) -> c_int = f(p, "he_call_abs");
    assert_eq!(call_abs(-5), 995, "the call reached the host's abs");
    assert_eq!(
        word(p, "he_abs_ptr"),
        host_abs as *const () as usize,
        "ABS64"
    );
    let got: extern "C" fn() -> usize = f(p, "he_abs_got");
    assert_eq!(got(), host_abs as *const () as usize, "GLOB_DAT");
    let add: extern "C" fn(c_int, c_int) -> c_int = f(p, "he_call_host_add");
    assert_eq!(add(2, 40), 42, "JUMP_SLOT to a host export");
}

#[test]
fn without_the_export_libc_is_bound() {
    let p = unsafe { host().open(fresh_copy("host_export")) }.unwrap();
    let call_abs: extern "C" fn(c_int) -> c_int = f(p, "he_call_abs");
    assert_eq!(call_abs(-5), 5, "libc's abs");
    let libc_abs = libc::abs as *const () as usize;
    assert_eq!(word(p, "he_abs_ptr"), libc_abs);
    let got: extern "C" fn() -> usize = f(p, "he_abs_got");
    assert_eq!(got(), libc_abs);
}

#[test]
fn addends_apply_to_host_symbols() {
    let p = unsafe { host().open(path("host_export")) }.unwrap();
    let base = HOST_BYTES.as_ptr() as usize;
    assert_eq!(word(p, "he_bytes_plus3"), base + 3, "S + 3");
    assert_eq!(unsafe { *(word(p, "he_bytes_plus3") as *const u8) }, b'3');
    assert_eq!(word(p, "he_bytes_minus2"), base.wrapping_sub(2), "S - 2");
    let got: extern "C" fn() -> usize = f(p, "he_bytes_got");
    assert_eq!(got(), base, "GLOB_DAT");
}

#[test]
fn imports_only_the_host_defines_are_undefined_without_it() {
    match unsafe { Plugin::open(fresh_copy("host_export")) } {
        Err(Error::UndefinedSymbols { mut symbols, .. }) => {
            symbols.sort();
            assert_eq!(symbols, ["host_add", "host_bytes"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn process_modules_come_before_the_plugin_itself() {
    let p = unsafe { Plugin::open(path("scope_self")) }.unwrap();
    let call_abs: extern "C" fn(c_int) -> c_int = f(p, "scope_call_abs");
    assert_eq!(call_abs(-5), 5, "libc's abs, not the plugin's own (77)");
    let call_own: extern "C" fn() -> c_int = f(p, "scope_call_own");
    assert_eq!(
        call_own(),
        11,
        "defined only in the plugin: bound to itself"
    );
    // lookup searches the plugin alone.
    let own_abs: extern "C" fn(c_int) -> c_int = f(p, "abs");
    assert_eq!(own_abs(-5), 77);
    assert_ne!(own_abs as usize, libc::abs as *const () as usize);
}

#[test]
fn host_exports_come_before_the_plugin_itself() {
    extern "C" fn host_own() -> c_int {
        99
    }
    let loader = Loader::new().export("scope_own", host_own as *const c_void);
    let p = unsafe { loader.open(fresh_copy("scope_self")) }.unwrap();
    let call_own: extern "C" fn() -> c_int = f(p, "scope_call_own");
    assert_eq!(call_own(), 99);
    // lookup still finds the plugin's own definition.
    let own: extern "C" fn() -> c_int = f(p, "scope_own");
    assert_eq!(own(), 11);
}
