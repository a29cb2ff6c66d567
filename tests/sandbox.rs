//! Sandboxed hosts in a normal process: import policy, opening from bytes, dry runs.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::ffi::{c_char, c_void};

use dynplug::{Error, Loader, Unsupported};
use dynplug_fixtures::{fresh_copy, path, GLIBC_BASE};

#[no_mangle]
static mut SANDBOX_HOST_VALUE: i32 = 5;

fn host() -> Loader {
    Loader::new().export("host_value", &raw const SANDBOX_HOST_VALUE as *const c_void)
}

#[test]
fn policy_accepts_exactly_what_the_plugin_imports() {
    let p = unsafe {
        host()
            .allow_imports(["strlen", "memcpy"])
            .open(fresh_copy("relocs"))
    }
    .unwrap();
    let f: extern "C" fn() -> i32 = unsafe { p.lookup("read_host_value").unwrap().cast() };
    assert_eq!(f(), 5, "host exports are always allowed");
}

#[test]
fn policy_refusal_lists_every_offending_import() {
    match unsafe { host().allow_imports(["memcpy"]).open(fresh_copy("relocs")) } {
        Err(Error::ImportsNotAllowed { imports, .. }) => {
            assert_eq!(imports, vec![format!("strlen@{GLIBC_BASE}")]);
        }
        other => panic!("{other:?}"),
    }
    match unsafe {
        host()
            .allow_imports(Vec::<&str>::new())
            .open(fresh_copy("relocs"))
    } {
        Err(Error::ImportsNotAllowed { mut imports, .. }) => {
            imports.sort();
            // x86_64's glibc has two memcpy versions (relocs.c imports both).
            let mut expected = vec![
                format!("memcpy@{GLIBC_BASE}"),
                format!("strlen@{GLIBC_BASE}"),
            ];
            if cfg!(target_arch = "x86_64") {
                expected.insert(0, "memcpy@GLIBC_2.14".to_string());
            }
            assert_eq!(imports, expected);
        }
        other => panic!("{other:?}"),
    }
    match unsafe { host().deny_imports(["strlen"]).open(fresh_copy("relocs")) } {
        Err(Error::ImportsNotAllowed { imports, .. }) => {
            assert_eq!(imports, [format!("strlen@{GLIBC_BASE}")])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn policy_covers_libraries_dynplug_loads() {
    // libstdc++ is loaded for cxx_plugin.so: its imports are checked too, and named with it.
    match unsafe {
        Loader::new()
            .allow_imports(["__cxa_begin_catch"])
            .open(fresh_copy("cxx_plugin"))
    } {
        Err(Error::ImportsNotAllowed { imports, .. }) => {
            assert!(
                imports
                    .iter()
                    .any(|i| i.contains("(in ") && i.contains("libstdc++")),
                "{imports:?}"
            );
            assert!(
                imports.iter().any(|i| i.starts_with("malloc")),
                "{imports:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn open_bytes_matches_open_file() {
    let hello =
        unsafe { Loader::new().open_bytes("hello-bytes", &std::fs::read(path("hello")).unwrap()) }
            .unwrap();
    assert_eq!(hello.path(), std::path::Path::new("hello-bytes"));
    unsafe { *hello.lookup("V").unwrap().cast::<*mut i32>() = 7 };
    unsafe { hello.lookup("F").unwrap().cast::<extern "C" fn()>()() };

    let from_file = unsafe { host().open(path("relocs")) }.unwrap();
    let from_bytes =
        unsafe { host().open_bytes("relocs-bytes", &std::fs::read(path("relocs")).unwrap()) }
            .unwrap();
    assert!(!std::ptr::eq(from_file, from_bytes));
    for p in [from_file, from_bytes] {
        let answer = p.lookup("answer").unwrap().addr() as usize;
        let word = |n: &str| unsafe { *p.lookup(n).unwrap().cast::<*const usize>() };
        assert_eq!(word("abs_addend"), answer + 3);
        assert_eq!(unsafe { *(word("rel_ptr") as *const i32) }, 30);
        assert_eq!(word("weak_ptr"), 0);
        let picked: extern "C" fn() -> i32 =
            unsafe { p.lookup("call_hidden_picked").unwrap().cast() };
        assert_eq!(picked(), 2);
        let read: extern "C" fn() -> i32 = unsafe { p.lookup("read_host_value").unwrap().cast() };
        assert_eq!(read(), 5);
    }
    let init =
        unsafe { Loader::new().open_bytes("init-bytes", &std::fs::read(path("init")).unwrap()) }
            .unwrap();
    let order =
        unsafe { std::ffi::CStr::from_ptr(init.lookup("order").unwrap().cast::<*const c_char>()) };
    assert_eq!(order.to_str().unwrap(), dynplug_fixtures::INIT_ORDER);
    // The same name again is the same plugin.
    let again = unsafe { Loader::new().open_bytes("init-bytes", b"ignored") }.unwrap();
    assert!(std::ptr::eq(init, again));
    assert_eq!(
        unsafe { *init.lookup("init_count").unwrap().cast::<*const i32>() },
        1
    );
}

#[test]
fn check_reports_nothing_for_good_plugins() {
    for name in [
        "hello",
        "init",
        "cxx_plugin",
        "tls_gd",
        "tls_desc",
        "dep_user_origin",
        "dlapi",
    ] {
        if name == "tls_desc" && cfg!(target_arch = "riscv64") {
            eprintln!("tls_desc not checked: riscv64's gcc 12 makes no TLS descriptors");
            continue;
        }
        let r = Loader::new().check(path(name)).unwrap();
        assert!(r.is_ok(), "{name}: {:?}", r.problems);
    }
    assert!(host().check(path("relocs")).unwrap().is_ok());
}

#[test]
fn check_lists_every_problem() {
    let r = Loader::new().check(path("undefined")).unwrap();
    match r.problems.as_slice() {
        [Error::UndefinedSymbols { symbols, .. }] => {
            assert!(
                symbols.contains(&"dynplug_missing_one".into())
                    && symbols.contains(&"dynplug_missing_two".into())
            );
        }
        other => panic!("{other:?}"),
    }
    // Policy and missing symbols together: both reported.
    let r = Loader::new()
        .deny_imports(["strlen"])
        .check(path("relocs"))
        .unwrap();
    assert!(
        r.problems
            .iter()
            .any(|e| matches!(e, Error::ImportsNotAllowed { .. })),
        "{:?}",
        r.problems
    );
    assert!(
        r.problems.iter().any(
            |e| matches!(e, Error::UndefinedSymbols { symbols, .. } if symbols == &["host_value"])
        ),
        "{:?}",
        r.problems
    );
    let r = Loader::new().check(path("textrel")).unwrap();
    assert!(matches!(
        r.problems.as_slice(),
        [Error::Unsupported {
            feature: Unsupported::TextRelocations,
            ..
        }]
    ));
    let r = Loader::new().check(path("dep_user_ldpath")).unwrap();
    assert!(
        matches!(r.problems.first(), Some(Error::MissingDependency { .. })),
        "{:?}",
        r.problems
    );
}

#[test]
fn check_errs_only_when_it_cannot_examine() {
    assert!(matches!(
        Loader::new().check_bytes(b"plain text"),
        Err(Error::NotElf { .. })
    ));
    assert!(matches!(
        Loader::new().check(std::env::temp_dir()),
        Err(Error::IsDirectory { .. })
    ));
    assert!(matches!(
        Loader::new().check("/nonexistent.so"),
        Err(Error::Io { .. })
    ));
    let r = Loader::new().check_bytes(b"\x7fELF").unwrap();
    assert!(
        matches!(r.problems.as_slice(), [Error::Malformed { .. }]),
        "{:?}",
        r.problems
    );
}

#[test]
fn check_runs_no_code() {
    // reenter.so's initialiser calls the host; a dry run with that export must not call it.
    extern "C" fn boom() {
        panic!("plugin code ran during a dry run");
    }
    let r = Loader::new()
        .export("host_in_init", boom as *const c_void)
        .check(path("reenter"))
        .unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
}
