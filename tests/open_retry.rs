//! An open that fails before any of the plugin's code ran leaves no trace: the same path opened
//! again, once the cause is gone (the missing symbols exported by the host, the policy
//! relaxed), opens and initialises normally.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::{c_int, c_void};

use dynplug::{Error, Loader, Plugin};
use dynplug_fixtures::fresh_copy;

extern "C" fn one() -> c_int {
    3
}
extern "C" fn two() -> c_int {
    4
}

#[test]
fn undefined_symbols_then_exported_by_the_host() {
    let copy = fresh_copy("undefined");
    let err = unsafe { Plugin::open(&copy) }.unwrap_err();
    match &err {
        Error::UndefinedSymbols { path, symbols } => {
            assert_eq!(path, &copy);
            let mut s = symbols.clone();
            s.sort();
            assert_eq!(s, ["dynplug_missing_one", "dynplug_missing_two"]);
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("dynplug_missing_one") && msg.contains("dynplug_missing_two"),
        "{msg}"
    );

    let loader = Loader::new()
        .export("dynplug_missing_one", one as *const c_void)
        .export("dynplug_missing_two", two as *const c_void);
    let p = unsafe { loader.open(&copy) }.unwrap();
    let use_missing: extern "C" fn() -> c_int = unsafe { p.lookup("use_missing").unwrap().cast() };
    assert_eq!(use_missing(), 7);
    // Registered now: the default loader gets the same plugin.
    assert!(std::ptr::eq(unsafe { Plugin::open(&copy) }.unwrap(), p));
}

#[test]
fn refused_by_the_policy_then_allowed() {
    static HOST_VALUE: c_int = 17;
    let host = || Loader::new().export("host_value", &HOST_VALUE as *const c_int as *const c_void);
    let copy = fresh_copy("relocs");
    assert!(matches!(
        unsafe { host().allow_imports(["memcpy"]).open(&copy) },
        Err(Error::ImportsNotAllowed { .. })
    ));
    let p = unsafe { host().open(&copy) }.unwrap();
    let read: extern "C" fn() -> c_int = unsafe { p.lookup("read_host_value").unwrap().cast() };
    assert_eq!(read(), 17);
}

#[test]
fn a_dry_run_registers_nothing() {
    let copy = fresh_copy("init");
    assert!(Loader::new().check(&copy).unwrap().problems.is_empty());
    let p = unsafe { Plugin::open(&copy) }.unwrap();
    let count = unsafe { *p.lookup("init_count").unwrap().cast::<*const i32>() };
    assert_eq!(count, 1, "the open after the check ran the initialisers");
}
