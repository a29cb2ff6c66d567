//! Real libraries: dependencies dynplug loads itself, thread-local storage, C++ exceptions.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{Arc, Barrier};

use dynplug::{Error, Plugin};
use dynplug_fixtures::path;

/// A system library of the target, by file name.
fn lib(name: &str) -> std::path::PathBuf {
    std::path::Path::new(dynplug_fixtures::lib_dir()).join(name)
}

fn f<T: Copy>(p: &Plugin, name: &str) -> T {
    unsafe { p.lookup(name).unwrap_or_else(|e| panic!("{e}")).cast::<T>() }
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 SQLite: its riscv64 packages are only the cross C library, libstdc++ and libgcc"
)]
fn sqlite_from_the_system() {
    // libsqlite3 needs libm, which a Rust host has not loaded: dynplug loads it.
    let p = unsafe { Plugin::open(lib("libsqlite3.so.0")) }.unwrap();
    let open: extern "C" fn(*const c_char, *mut *mut c_void) -> c_int = f(p, "sqlite3_open");
    type Exec = extern "C" fn(
        *mut c_void,
        *const c_char,
        *const c_void,
        *mut c_void,
        *mut *mut c_char,
    ) -> c_int;
    let exec: Exec = f(p, "sqlite3_exec");
    let prepare: extern "C" fn(
        *mut c_void,
        *const c_char,
        c_int,
        *mut *mut c_void,
        *mut *const c_char,
    ) -> c_int = f(p, "sqlite3_prepare_v2");
    let step: extern "C" fn(*mut c_void) -> c_int = f(p, "sqlite3_step");
    let column: extern "C" fn(*mut c_void, c_int) -> i64 = f(p, "sqlite3_column_int64");
    let finalize: extern "C" fn(*mut c_void) -> c_int = f(p, "sqlite3_finalize");
    let mut db = std::ptr::null_mut();
    let mem = CString::new(":memory:").unwrap();
    assert_eq!(open(mem.as_ptr(), &mut db), 0);
    let mut sql = String::from("BEGIN; CREATE TABLE t(x INTEGER);");
    for i in 1..=1000 {
        sql.push_str(&format!("INSERT INTO t VALUES({i});"));
    }
    sql.push_str("COMMIT;");
    let sql = CString::new(sql).unwrap();
    let null = std::ptr::null_mut();
    assert_eq!(
        exec(
            db,
            sql.as_ptr(),
            std::ptr::null(),
            null,
            std::ptr::null_mut()
        ),
        0
    );
    let q = CString::new("SELECT sum(x), sqrt(16.0) FROM t").unwrap();
    let mut stmt = std::ptr::null_mut();
    assert_eq!(
        prepare(db, q.as_ptr(), -1, &mut stmt, std::ptr::null_mut()),
        0
    );
    assert_eq!(step(stmt), 100, "SQLITE_ROW");
    assert_eq!(column(stmt, 0), 500_500);
    assert_eq!(column(stmt, 1), 4, "sqrt comes from libm");
    assert_eq!(finalize(stmt), 0);
}

#[test]
fn cxx_plugin_with_libstdcxx_and_exceptions() {
    let p = unsafe { Plugin::open(path("cxx_plugin")) }.unwrap();
    let work: extern "C" fn(c_int) -> i64 = f(p, "cxx_work");
    assert_eq!(work(100), 4950);
    // libstdc++ is not in the process's own list of modules: dynplug mapped it.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(maps.contains("libstdc++"), "libstdc++ mapped by dynplug");
    let handles: Vec<_> = (0..8)
        .map(|i| std::thread::spawn(move || work(10 + i)))
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let n = 10 + i as i64;
        assert_eq!(h.join().unwrap(), n * (n - 1) / 2);
    }
}

fn tls_threads(plugin: &str, get: &str, set: &str, addr: &str, init: i32) {
    let p = unsafe { Plugin::open(path(plugin)) }.unwrap();
    let get: extern "C" fn() -> c_int = f(p, get);
    let set: extern "C" fn(c_int) = f(p, set);
    let addr: extern "C" fn() -> *mut c_int = f(p, addr);
    // Each thread (this one too) starts from the TLS image, sets its own values and sees only them.
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                assert_eq!(get(), init, "fresh block from the TLS image");
                set(i * 10);
                b.wait();
                assert_eq!(get(), i * 30, "thread {i} sees its own values");
                addr() as usize
            })
        })
        .collect();
    let addrs: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut unique = addrs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8, "one block per thread");
    assert_eq!(get(), init);
}

#[test]
fn tls_general_dynamic() {
    tls_threads("tls_gd", "tls_get", "tls_set", "tls_addr", 107);
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "riscv64's gcc 12 has no TLS descriptors (no tls_desc fixture)"
)]
fn tls_descriptors() {
    tls_threads("tls_desc", "desc_get", "desc_set", "desc_addr", 209);
}

#[test]
fn tls_on_a_thread_started_before_the_open() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let early = std::thread::spawn(move || {
        rx.recv().unwrap();
        let p = unsafe { Plugin::open(path("tls_gd")) }.unwrap();
        let get: extern "C" fn() -> c_int = f(p, "tls_get");
        get()
    });
    let _ = unsafe { Plugin::open(path("tls_gd")) }.unwrap();
    tx.send(()).unwrap();
    assert_eq!(early.join().unwrap(), 107);
}

#[test]
fn dependency_through_origin_runpath() {
    let p = unsafe { Plugin::open(path("dep_user_origin")) }.unwrap();
    let g: extern "C" fn() -> c_int = f(p, "user_origin");
    assert_eq!(g(), 1235);
}

#[test]
fn missing_dependency_names_it_and_where_dynplug_looked() {
    match unsafe { Plugin::open(path("dep_user_ldpath")) } {
        Err(e @ Error::MissingDependency { .. }) => {
            let Error::MissingDependency {
                library,
                needed_by,
                searched,
                ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(library, "a_dep_ldpath.so");
            assert_eq!(needed_by, &path("dep_user_ldpath"), "who needed it");
            assert!(
                searched.iter().any(|p| p.starts_with("/usr/lib")),
                "where it looked: {searched:?}"
            );
            // The message says all three.
            let msg = e.to_string();
            assert!(
                msg.contains("a_dep_ldpath.so (needed by ") && msg.contains("looked in: /"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dependency_cycle_ends() {
    let p = unsafe { Plugin::open(path("cycle_a")) }.unwrap();
    let sum: extern "C" fn() -> c_int = f(p, "cycle_sum");
    assert_eq!(
        sum(),
        12,
        "cycle_b bound to cycle_a's function, not the link-time stub"
    );
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "libcurl is not installed for this machine (.ci/run): libcurl4:arm64 would pull 49 packages, upgrading host ones; Debian 12 has no riscv64 build"
)]
fn curl_with_its_dependency_tree() {
    // libcurl needs OpenSSL, nghttp2, libssh2, LDAP, ... : dynplug finds and loads them all.
    let p = unsafe { Plugin::open(lib("libcurl.so.4")) }.unwrap();
    let version: extern "C" fn() -> *const c_char = f(p, "curl_version");
    let v = unsafe { std::ffi::CStr::from_ptr(version()) }
        .to_string_lossy()
        .into_owned();
    assert!(v.starts_with("libcurl/") && v.contains("OpenSSL/"), "{v}");
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "libpython is not installed for this machine (.ci/run): libpython3.11:arm64 would pull 34 packages, upgrading host ones; Debian 12 has no riscv64 build"
)]
fn python_runs_code_and_imports_extension_modules() {
    // libpython loads its C extension modules (math, _json) with dlopen/dlsym: served by dynplug.
    // The modules import libpython's functions without needing it: libpython must be in the
    // global scope, as an embedding host opens it with glibc (RTLD_GLOBAL).
    let libpython = lib("libpython3.11.so.1.0");
    let p = unsafe { dynplug::Loader::new().global(true).open(libpython) }.unwrap();
    let init: extern "C" fn() = f(p, "Py_Initialize");
    let run: extern "C" fn(*const c_char) -> c_int = f(p, "PyRun_SimpleString");
    init();
    let code = CString::new(
        "import math, json\nassert math.factorial(20) == 2432902008176640000\nassert json.loads('[1, 2]') == [1, 2]\nimport _ctypes\n",
    )
    .unwrap();
    assert_eq!(run(code.as_ptr()), 0);
    let bad = CString::new("raise SystemError('expected')").unwrap();
    assert_eq!(
        run(bad.as_ptr()),
        -1,
        "a Python exception is reported, not a crash"
    );
}

#[test]
fn backtrace_unwinds_through_plugin_frames() {
    use std::sync::Mutex;
    static SEEN: Mutex<String> = Mutex::new(String::new());
    extern "C" fn cb() {
        *SEEN.lock().unwrap() = std::backtrace::Backtrace::force_capture().to_string();
    }
    let p = unsafe { Plugin::open(path("callback")) }.unwrap();
    let call_back: extern "C" fn(extern "C" fn()) = f(p, "call_back");
    call_back(cb);
    // The frame below the plugin's is this test function itself (not `cb`, whose name contains
    // the test's): the unwinder found the plugin's FDEs and went on.
    let bt = SEEN.lock().unwrap().clone();
    let frame = |l: &str| {
        l.trim_end()
            .ends_with("real_libraries::backtrace_unwinds_through_plugin_frames")
    };
    assert!(bt.lines().any(frame), "{bt}");
}
