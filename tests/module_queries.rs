//! A module dynplug loaded asks the process about modules (dl_iterate_phdr, dladdr, dlopen,
//! dlsym): dynplug answers for its own modules.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::ffi::{c_char, c_void, CStr, CString};

use dynplug::Plugin;
use dynplug_fixtures::path;

fn plugin() -> &'static Plugin {
    unsafe { Plugin::open(path("dlapi")) }.unwrap()
}

fn f<T: Copy>(name: &str) -> T {
    unsafe { plugin().lookup(name).unwrap().cast::<T>() }
}

#[test]
fn dl_iterate_phdr_lists_dynplug_modules() {
    let finds: extern "C" fn(*const c_char) -> i32 = f("dlapi_iterate_finds");
    let me = CString::new("dlapi.so").unwrap();
    assert_eq!(finds(me.as_ptr()), 1);
    let nobody = CString::new("no-such-module-anywhere").unwrap();
    assert_eq!(finds(nobody.as_ptr()), 0);
}

#[test]
fn dladdr_names_file_and_symbol() {
    let file: extern "C" fn() -> *const c_char = f("dlapi_addr_file");
    let sym: extern "C" fn() -> *const c_char = f("dlapi_addr_symbol");
    let file = unsafe { CStr::from_ptr(file()) }
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(std::path::Path::new(&file), plugin().path());
    assert_eq!(
        unsafe { CStr::from_ptr(sym()) }.to_str().unwrap(),
        "dlapi_marker"
    );
}

#[test]
fn dlopen_and_dlsym_are_served() {
    let open_call: extern "C" fn(*const c_char, *const c_char) -> i32 = f("dlapi_open_call");
    let lib = CString::new(path("a_dep_origin").to_str().unwrap()).unwrap();
    let sym = CString::new("dep_origin_value").unwrap();
    assert_eq!(open_call(lib.as_ptr(), sym.as_ptr()), 1234);
    let missing = CString::new("no_such_symbol").unwrap();
    assert_eq!(open_call(lib.as_ptr(), missing.as_ptr()), -2);
    let error: extern "C" fn() -> *const c_char = f("dlapi_error");
    let msg = unsafe { CStr::from_ptr(error()) }
        .to_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("no_such_symbol"), "{msg}");
    let default: extern "C" fn(*const c_char) -> usize = f("dlapi_default");
    let strlen = CString::new("strlen").unwrap();
    assert_ne!(default(strlen.as_ptr()), 0);
}

#[test]
fn dlsym_and_dlvsym_give_an_ifunc_s_implementation() {
    // strlen is an IFUNC in glibc: calling what dlsym and dlvsym return must run strlen.
    let default: extern "C" fn(*const c_char) -> i64 = f("dlapi_default_strlen");
    let next: extern "C" fn(*const c_char, *const c_char) -> i64 = f("dlapi_next_strlen");
    let text = CString::new("seventeen letters").unwrap();
    assert_eq!(default(text.as_ptr()), 17);
    let base = CString::new(dynplug_fixtures::GLIBC_BASE).unwrap();
    assert_eq!(next(text.as_ptr(), base.as_ptr()), 17);
    // A version glibc does not define: no answer, and dlerror says which symbol.
    let none = CString::new("GLIBC_9.9").unwrap();
    assert_eq!(next(text.as_ptr(), none.as_ptr()), -1);
}

#[test]
fn dlopen_of_a_library_the_process_has_gives_that_copy() {
    let open: extern "C" fn(*const c_char) -> *mut c_void = f("dlapi_open");
    let sym: extern "C" fn(*mut c_void, *const c_char) -> *mut c_void = f("dlapi_sym");
    // libc: the system's own copy (a second one would run libc's initialisers again).
    let libc_name = CString::new("libc.so.6").unwrap();
    let h = open(libc_name.as_ptr());
    assert!(!h.is_null());
    let getpid = CString::new("getpid").unwrap();
    assert_eq!(
        sym(h, getpid.as_ptr()) as usize,
        libc::getpid as *const () as usize
    );
    // A library dynplug loaded, from a directory no search path names, by its soname.
    unsafe { Plugin::open(path("dep_user_origin")) }.unwrap();
    let name = CString::new("a_dep_origin.so").unwrap();
    let h = open(name.as_ptr());
    assert!(!h.is_null(), "a_dep_origin.so by its soname");
    let value = CString::new("dep_origin_value").unwrap();
    let at = sym(h, value.as_ptr());
    assert!(!at.is_null());
    let dep_origin_value: extern "C" fn() -> i32 = unsafe { std::mem::transmute(at) };
    assert_eq!(dep_origin_value(), 1234);
}

#[test]
fn dlinfo_answers_for_handles_dynplug_gave() {
    let open: extern "C" fn(*const c_char) -> *mut c_void = f("dlapi_open");
    let link_map: extern "C" fn(*mut c_void, *mut u64) -> *const c_char = f("dlapi_link_map");
    let origin: extern "C" fn(*mut c_void, *mut c_char) -> i32 = f("dlapi_origin");
    // A library dynplug loads for the plugin: a record of its name and load address.
    let lib = path("a_dep_origin");
    let name = CString::new(lib.to_str().unwrap()).unwrap();
    let h = open(name.as_ptr());
    assert!(!h.is_null());
    let mut addr = 0;
    let l_name = link_map(h, &mut addr);
    assert!(!l_name.is_null());
    let canonical = std::fs::canonicalize(&lib).unwrap();
    assert_eq!(
        unsafe { CStr::from_ptr(l_name) }.to_str().unwrap(),
        canonical.to_str().unwrap()
    );
    let sym = CString::new("dep_origin_value").unwrap();
    let dlsym: extern "C" fn(*mut c_void, *const c_char) -> *mut c_void = f("dlapi_sym");
    let value = dlsym(h, sym.as_ptr()) as u64;
    assert!(
        addr != 0 && value > addr,
        "l_addr {addr:#x} is the load bias"
    );
    let mut buf = vec![0 as c_char; 4096];
    assert_eq!(origin(h, buf.as_mut_ptr()), 0);
    assert_eq!(
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(),
        canonical.parent().unwrap().to_str().unwrap()
    );
    // libc: the system loader's own record.
    let libc_name = CString::new("libc.so.6").unwrap();
    let h = open(libc_name.as_ptr());
    let l_name = link_map(h, &mut addr);
    assert!(!l_name.is_null());
    let l_name = unsafe { CStr::from_ptr(l_name) }.to_str().unwrap();
    assert!(l_name.ends_with("libc.so.6"), "{l_name}");
}

#[test]
fn dladdr_answers_for_the_system_s_modules_too() {
    let addr_of: extern "C" fn(
        *const std::ffi::c_void,
        *mut *const c_char,
        *mut *const c_char,
    ) -> i32 = f("dlapi_addr_of");
    let (mut file, mut sym) = (std::ptr::null(), std::ptr::null());
    assert_eq!(
        addr_of(libc::getpid as *const std::ffi::c_void, &mut file, &mut sym),
        1
    );
    let file = unsafe { CStr::from_ptr(file) }
        .to_string_lossy()
        .into_owned();
    assert!(file.contains("libc.so"), "{file}");
    // glibc exports the function under two names at one address; either is the answer.
    let sym = unsafe { CStr::from_ptr(sym) }.to_str().unwrap().to_string();
    assert!(sym == "getpid" || sym == "__getpid", "{sym}");
    // An address in no module: no answer.
    let (mut f2, mut s2) = (std::ptr::null(), std::ptr::null());
    assert_eq!(addr_of(8 as *const std::ffi::c_void, &mut f2, &mut s2), 0);
}

#[test]
fn dlerror_after_a_failed_dlsym_is_glibc_s() {
    type OpenCall = extern "C" fn(*const c_char, *const c_char) -> i32;
    type Error = extern "C" fn() -> *const c_char;
    let lib = CString::new(path("a_dep_origin").to_str().unwrap()).unwrap();
    let missing = c"no_such_symbol";
    let message = |open_call: OpenCall, error: Error| {
        assert_eq!(open_call(lib.as_ptr(), missing.as_ptr()), -2);
        unsafe { CStr::from_ptr(error()) }
            .to_string_lossy()
            .into_owned()
    };
    let ours = message(f("dlapi_open_call"), f("dlapi_error"));
    // The reference: the same file loaded by glibc, its calls served by glibc.
    let copy = CString::new(dynplug_fixtures::fresh_copy("dlapi").to_str().unwrap()).unwrap();
    let h = unsafe { libc::dlopen(copy.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!h.is_null());
    let sym = |n: &CStr| unsafe { libc::dlsym(h, n.as_ptr()) } as usize;
    let glibc_error = unsafe { std::mem::transmute::<usize, Error>(sym(c"dlapi_error")) };
    let glibc = message(
        unsafe { std::mem::transmute::<usize, OpenCall>(sym(c"dlapi_open_call")) },
        glibc_error,
    );
    assert_eq!(ours, glibc);
    // RTLD_DEFAULT: glibc names the caller (each copy names itself).
    type Default = extern "C" fn(*const c_char) -> usize;
    let default_message = |default: Default, error: Error| {
        assert_eq!(default(missing.as_ptr()), 0);
        unsafe { CStr::from_ptr(error()) }
            .to_string_lossy()
            .into_owned()
    };
    let ours = default_message(f("dlapi_default"), f("dlapi_error"));
    let glibc = default_message(
        unsafe { std::mem::transmute::<usize, Default>(sym(c"dlapi_default")) },
        glibc_error,
    );
    let copy = copy.to_str().unwrap();
    let me = plugin().path().to_str().unwrap();
    assert!(glibc.starts_with(copy), "{glibc}");
    assert_eq!(ours, glibc.replace(copy, me));
}

#[test]
fn rtld_next_finds_the_next_definition_after_the_caller_as_glibc_s_does() {
    let plugin = dynplug_fixtures::path("rtnext_user");
    let p = plugin.to_str().unwrap();
    let steps = [
        "local",
        p,
        "call",
        "default_which",
        "call",
        "next_which",
        "call",
        "next_missing",
    ];
    assert_eq!(dynplug_fixtures::glibc(&steps), ["ok", "1", "2", "1"]);
    let plugin = unsafe { dynplug::Plugin::open(&plugin) }.unwrap();
    let f = |n: &str| -> extern "C" fn() -> i32 { unsafe { plugin.lookup(n).unwrap().cast() } };
    assert_eq!(
        [f("default_which")(), f("next_which")(), f("next_missing")()],
        [1, 2, 1]
    );
}
