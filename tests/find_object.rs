//! `_dl_find_object` served to plugins answers as glibc's does: a plugin with its own unwinder
//! (libgcc and libstdc++ linked statically) finds its frames through it and catches its throw.
// SAFETY (this file): the plugin is the fixture built from testdata/c/cxx_static_runtime.cpp;
// each symbol is cast to the type its source declares. The system's dlopen is used only as the
// reference (glibc's answer for the same file).
use std::ffi::{c_void, CString};

use dynplug::Plugin;
use dynplug_fixtures::{fresh_copy, path};

type Find = extern "C" fn(*mut i64) -> i32;

fn plugin() -> &'static Plugin {
    unsafe { Plugin::open(path("cxx_static_runtime")) }.unwrap()
}

#[test]
fn a_plugin_with_a_static_unwinder_catches_its_throw() {
    let throw: extern "C" fn(i32) -> i32 =
        unsafe { plugin().lookup("static_rt_throw").unwrap().cast() };
    assert_eq!(throw(0), 0);
    assert_eq!(throw(7), 7);
}

/// What the plugin's `static_rt_find` reports, called through `find`.
fn report(find: Find) -> [i64; 4] {
    let mut out = [0i64; 4];
    assert_eq!(
        find(out.as_mut_ptr()),
        0,
        "_dl_find_object or dlinfo failed"
    );
    out
}

#[test]
fn dl_find_object_answers_as_glibc_does() {
    let ours = report(unsafe { plugin().lookup("static_rt_find").unwrap().cast() });
    // glibc's answer for the same file (a copy, so that each loader has its own).
    let copy = CString::new(fresh_copy("cxx_static_runtime").to_str().unwrap()).unwrap();
    let h = unsafe { libc::dlopen(copy.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!h.is_null(), "glibc's dlopen of the fixture failed");
    let f = unsafe { libc::dlsym(h, c"static_rt_find".as_ptr()) };
    assert!(!f.is_null());
    let glibc = report(unsafe { std::mem::transmute::<*mut c_void, Find>(f) });
    // Map start, end (unrounded), .eh_frame_hdr, and the link map dlinfo gives.
    assert_eq!(ours, glibc, "dynplug (left) and glibc (right) differ");
    assert_eq!(ours[3], 1, "dlfo_link_map is not dlinfo's link map");
}
