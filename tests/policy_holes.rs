//! An import policy holds for every module loaded on a plugin's behalf: the libraries its own
//! `dlopen` loads (or is handed, when the process has them already), and a plugin a more
//! permissive loader opened first (an open under the policy refuses it; `check` says why).
// SAFETY (this file): the plugins are fixtures built from testdata/; every symbol is cast to
// the type its source declares.
use std::ffi::{c_char, CStr, CString};
use std::path::Path;

use dynplug::{Error, Loader, Plugin};
use dynplug_fixtures::{fresh_copy, path};

fn strict() -> Loader {
    Loader::new().deny_imports(["getpid"])
}

type OpenCall = extern "C" fn(*const c_char, *const c_char) -> i32;

/// What `dlapi_open_call(lib, "policy_pid")` gives in a new copy of dlapi.so opened by
/// `loader` (-1: dlopen failed), with `dlerror` then.
fn dlopen_from(loader: &Loader, lib: &Path) -> (i32, String) {
    let p = unsafe { loader.open(fresh_copy("dlapi")) }.unwrap();
    let open_call: OpenCall = unsafe { p.lookup("dlapi_open_call").unwrap().cast() };
    let error: extern "C" fn() -> *const c_char =
        unsafe { p.lookup("dlapi_error").unwrap().cast() };
    let lib = CString::new(lib.to_str().unwrap()).unwrap();
    let r = open_call(lib.as_ptr(), c"policy_pid".as_ptr());
    let e = error();
    let msg = if e.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    };
    (r, msg)
}

#[test]
fn a_plugin_under_a_policy_cannot_dlopen_a_library_that_breaks_it() {
    let pid = std::process::id() as i32;
    // Not loaded yet: the served dlopen loads it under the caller's policy, and refuses.
    let lib = fresh_copy("a_policy_getpid");
    let (r, msg) = dlopen_from(&strict(), &lib);
    assert_eq!(r, -1, "dlopen under deny(getpid) loaded it");
    assert!(msg.contains("getpid"), "{msg}");
    // A permissive plugin may; then the library is loaded, and a strict one is still refused.
    assert_eq!(dlopen_from(&Loader::new(), &lib).0, pid);
    let (r, msg) = dlopen_from(&strict(), &lib);
    assert_eq!(r, -1, "dlopen under deny(getpid) was handed it");
    assert!(msg.contains("getpid"), "{msg}");
}

#[test]
fn a_strict_open_of_a_plugin_opened_permissively_is_refused() {
    // The plugin itself imports getpid.
    let lib = fresh_copy("a_policy_getpid");
    unsafe { Plugin::open(&lib) }.unwrap();
    match unsafe { strict().open(&lib) } {
        Err(Error::ImportsNotAllowed { imports, .. }) => {
            assert_eq!(imports, ["getpid"]);
        }
        other => panic!("strict open of an open plugin: {other:?}"),
    }
    let report = strict().check(&lib).unwrap();
    assert!(
        matches!(&report.problems[..], [Error::ImportsNotAllowed { imports, .. }] if imports == &["getpid"]),
        "{:?}",
        report.problems
    );
    // A library it needs imports getpid.
    let user = path("policy_user");
    unsafe { Plugin::open(&user) }.unwrap();
    match unsafe { strict().open(&user) } {
        Err(Error::ImportsNotAllowed { imports, .. }) => {
            assert_eq!(imports.len(), 1, "{imports:?}");
            assert!(imports[0].starts_with("getpid (in "), "{imports:?}");
        }
        other => panic!("strict open of an open plugin: {other:?}"),
    }
    let report = strict().check(&user).unwrap();
    assert!(!report.is_ok(), "check of the open plugin found nothing");
    // Under no policy it is the same plugin, as before.
    assert!(unsafe { Loader::new().open(&user) }.is_ok());
}

#[test]
fn a_plugin_under_a_policy_cannot_dlsym_what_it_may_not_import() {
    type Default = extern "C" fn(*const c_char) -> usize;
    let default_of = |loader: &Loader| -> (Default, extern "C" fn() -> *const c_char) {
        let p = unsafe { loader.open(fresh_copy("dlapi")) }.unwrap();
        unsafe {
            (
                p.lookup("dlapi_default").unwrap().cast(),
                p.lookup("dlapi_error").unwrap().cast(),
            )
        }
    };
    let (default, error) = default_of(&strict());
    assert_eq!(
        default(c"getpid".as_ptr()),
        0,
        "dlsym(RTLD_DEFAULT, getpid)"
    );
    let msg = unsafe { CStr::from_ptr(error()) }
        .to_string_lossy()
        .into_owned();
    assert!(msg.contains("getpid"), "{msg}");
    // What the policy allows, and what a permissive plugin asks for, are found.
    assert_ne!(default(c"strlen".as_ptr()), 0);
    let (default, _) = default_of(&Loader::new());
    assert_ne!(default(c"getpid".as_ptr()), 0);
}
