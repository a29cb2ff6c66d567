//! Mach-O plugins through the public API, as a Go-style host uses them: `Loader::open` and
//! `open_bytes`, `lookup`, calls, host exports, the initialiser run once, the same plugin on a
//! second open. x86_64 images natively, arm64 ones under qemu-aarch64 in the aarch64 suite
//! (testdata/macho/, built with clang and rust-lld). The loader's own tests
//! (loader/tests/macho_load.rs) check every fixup, protection and error.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/macho/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
#![cfg_attr(target_arch = "riscv64", allow(dead_code, unused_imports))]

use std::ffi::{c_int, c_void};
use std::path::PathBuf;

use dynplug::{Error, Loader, Plugin};

/// This machine's Mach-O architecture.
const ARCH: &str = if cfg!(target_arch = "x86_64") {
    "x86_64"
} else {
    "arm64"
};

extern "C" fn host_add(a: c_int, b: c_int) -> c_int {
    a + b
}

fn host() -> Loader {
    Loader::new().export("host_add", host_add as *const c_void)
}

/// A directory of its own holding the plugin `file` and the library it needs.
fn copy(tag: &str, file: &str) -> PathBuf {
    let dir = dynplug_fixtures::scratch_dir().join(format!("macho-api-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    for n in [file, "libmacho_dep.dylib"] {
        let from = dynplug_fixtures::macho_dir(ARCH).join(n);
        std::fs::copy(&from, dir.join(n)).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    dir.join(file)
}

fn f<T: Copy>(p: &Plugin, name: &str) -> T {
    unsafe { p.lookup(name).unwrap_or_else(|e| panic!("{e}")).cast::<T>() }
}

/// What the fixture's functions and data give once opened (testdata/macho/macho_plugin.c).
fn check(p: &Plugin) {
    // The initialiser ran once, through the host: 41 + 1.
    let counter: *const c_int = f(p, "counter");
    assert_eq!(unsafe { *counter }, 42);
    // host_add(2, 3) + dep_mul(dep_value 5, 2) + wdef(0) 1.
    let add: extern "C" fn(c_int, c_int) -> c_int = f(p, "plugin_add");
    assert_eq!(add(2, 3), 16);
    let counter_ptr: *const *const c_int = f(p, "counter_ptr");
    assert_eq!(unsafe { *counter_ptr }, counter);
    // Thread-local 7 + 0, no host_opt (a weak import the host does not export).
    let tls: extern "C" fn() -> c_int = f(p, "get_tls");
    assert_eq!(tls(), 7);
    assert!(
        matches!(p.lookup("twice"), Err(Error::SymbolNotFound { .. })),
        "static"
    );
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn every_fixup_format_and_file_type_opens_runs_and_opens_once() {
    for (fixups, ext) in [
        ("chained", "dylib"),
        ("opcodes", "dylib"),
        ("chained", "bundle"),
        ("opcodes", "bundle"),
    ] {
        let path = copy(
            &format!("{fixups}-{ext}"),
            &format!("macho_plugin_{fixups}.{ext}"),
        );
        let p = unsafe { host().open(&path) }.unwrap_or_else(|e| panic!("{fixups} {ext}: {e}"));
        check(p);
        // The same file again: the same plugin, its initialiser not run again.
        let again = unsafe { host().open(&path) }.unwrap();
        assert!(std::ptr::eq(p, again));
        check(again);
    }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn a_plugin_from_bytes_finds_no_file_dependency_and_says_so() {
    let bytes = std::fs::read(dynplug_fixtures::macho_dir(ARCH).join("macho_plugin_chained.dylib"))
        .unwrap();
    // @rpath/libmacho_dep.dylib with @loader_path: no loader path for bytes.
    let err = unsafe { host().open_bytes("macho-from-bytes", &bytes) }.unwrap_err();
    assert!(err.to_string().contains("libmacho_dep.dylib"), "{err}");
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn a_missing_host_export_is_named() {
    let path = copy("no-host", "macho_plugin_opcodes.dylib");
    match unsafe { Loader::new().open(&path) } {
        Err(Error::UndefinedSymbols { symbols, .. }) => {
            assert!(
                symbols.iter().any(|s| s.contains("host_add")),
                "{symbols:?}"
            )
        }
        other => panic!("{:?}", other.map(|_| "opened")),
    }
}

/// The problems' names: the dry run's report and a load's error, in one form.
fn names(e: &Error) -> Vec<String> {
    match e {
        Error::UndefinedSymbols { symbols, .. } => {
            symbols.iter().map(|s| format!("missing {s}")).collect()
        }
        Error::ImportsNotAllowed { imports, .. } => {
            imports.iter().map(|s| format!("forbidden {s}")).collect()
        }
        other => vec![other.to_string()],
    }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn the_dry_run_finds_what_a_load_meets() {
    for (tag, loader) in [
        ("ok", host()),
        ("no-host-add", Loader::new()),
        ("deny-dep", host().deny_imports(["dep_mul"])),
        ("allow-host", host().allow_imports(["host_add"])),
    ] {
        let path = copy(&format!("check-{tag}"), "macho_plugin_chained.dylib");
        let report = loader.check(&path).unwrap();
        let dry: Vec<String> = report.problems.iter().flat_map(names).collect();
        let load = unsafe { loader.open(&path) };
        let loaded: Vec<String> = load.err().iter().flat_map(names).collect();
        assert_eq!(dry, loaded, "{tag}");
        let expected: &[&str] = match tag {
            "ok" => &[],
            "no-host-add" => &["missing host_add"],
            "deny-dep" => &["forbidden dep_mul"],
            _ => &["forbidden dep_mul", "forbidden dep_value"],
        };
        assert_eq!(dry, expected, "{tag}");
    }
}

static PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The slow library's initialiser: says it started, then takes its time.
extern "C" fn host_pause() {
    PAUSED.store(true, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(300));
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn a_plugin_waits_for_a_library_another_thread_is_initialising() {
    let dir = dynplug_fixtures::scratch_dir().join("macho-api-slow");
    std::fs::create_dir_all(&dir).unwrap();
    for n in [
        "libmacho_slow_dep.dylib",
        "macho_slow_user_1.dylib",
        "macho_slow_user_2.dylib",
    ] {
        std::fs::copy(dynplug_fixtures::macho_dir(ARCH).join(n), dir.join(n)).unwrap();
    }
    let loader = || Loader::new().export("host_pause", host_pause as *const c_void);
    let first = dir.join("macho_slow_user_1.dylib");
    let opening = std::thread::spawn(move || {
        unsafe { loader().open(first) }.map(|p| p as *const Plugin as usize)
    });
    while !PAUSED.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::yield_now();
    }
    // The library is loaded and its initialiser running on the other thread.
    let second = unsafe { loader().open(dir.join("macho_slow_user_2.dylib")) }.unwrap();
    let saw: *const c_int = f(second, "saw_ready");
    assert_eq!(
        unsafe { *saw },
        1,
        "the second plugin's initialiser ran before the library's finished"
    );
    let first = opening.join().unwrap().unwrap() as *const Plugin;
    let saw: *const c_int = f(unsafe { &*first }, "saw_ready");
    assert_eq!(unsafe { *saw }, 1);
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn a_rust_cdylib_for_macos_opens_and_runs() {
    // Prebuilt by rustc for x86_64-apple-darwin / aarch64-apple-darwin (testdata/macho/prebuilt).
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "testdata/macho/prebuilt/librust_plugin_{ARCH}.dylib"
    ));
    let dir = dynplug_fixtures::scratch_dir().join("macho-api-rust");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("librust_plugin.dylib");
    std::fs::copy(&built, &path).unwrap();
    let p = unsafe { host().open(&path) }.unwrap();
    // The initialiser ran through the host: 41 + 1; the pointer to it was relocated.
    let counter_ptr: *const *const c_int = f(p, "COUNTER_PTR");
    assert_eq!(unsafe { **counter_ptr }, 42);
    let add: extern "C" fn(c_int, c_int) -> c_int = f(p, "rust_add");
    assert_eq!(add(2, 3), 5 + 42);
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn a_symbol_bound_through_a_reexported_library_resolves() {
    let dir = dynplug_fixtures::scratch_dir().join("macho-api-reexport");
    std::fs::create_dir_all(&dir).unwrap();
    for n in ["inner", "outer", "user"] {
        let n = format!("libmacho_reexport_{n}.dylib");
        std::fs::copy(dynplug_fixtures::macho_dir(ARCH).join(&n), dir.join(&n)).unwrap();
    }
    let user = dir.join("libmacho_reexport_user.dylib");
    // inner_value is bound to the outer library, whose trie lacks it: found in what it re-exports.
    assert!(Loader::new().check(&user).unwrap().is_ok());
    let p = unsafe { Loader::new().open(&user) }.unwrap();
    let f: extern "C" fn() -> c_int = unsafe { p.lookup("through_reexport").unwrap().cast() };
    assert_eq!(f(), 78);
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn lookup_finds_what_a_library_reexports() {
    let dir = dynplug_fixtures::scratch_dir().join("macho-api-reexport-lookup");
    std::fs::create_dir_all(&dir).unwrap();
    for n in ["inner", "outer"] {
        let n = format!("libmacho_reexport_{n}.dylib");
        std::fs::copy(dynplug_fixtures::macho_dir(ARCH).join(&n), dir.join(&n)).unwrap();
    }
    let outer = unsafe { Loader::new().open(dir.join("libmacho_reexport_outer.dylib")) }.unwrap();
    let inner = unsafe { Loader::new().open(dir.join("libmacho_reexport_inner.dylib")) }.unwrap();
    // The outer library's trie lists only outer_value; dyld's dlsym on its handle finds
    // inner_value in the library it re-exports: the same function as the inner library's own.
    let through = outer.lookup("inner_value").unwrap();
    let own = inner.lookup("inner_value").unwrap();
    assert_eq!(through.addr(), own.addr());
    let f: extern "C" fn() -> c_int = unsafe { through.cast() };
    assert_eq!(f(), 77);
    assert!(matches!(
        outer.lookup("no_such_symbol"),
        Err(Error::SymbolNotFound { .. })
    ));
}
