//! Initial-exec TLS (R_X86_64_TPOFF64): against the C library, opened from any thread.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called accordingly.
use std::ffi::c_int;

use dynplug::Plugin;
use dynplug_fixtures::path;

fn f<T: Copy>(p: &Plugin, name: &str) -> T {
    unsafe { p.lookup(name).unwrap_or_else(|e| panic!("{e}")).cast::<T>() }
}

#[test]
fn initial_exec_against_the_c_library_from_any_thread() {
    // The process's module list is read in one thread and the plugin opened in another: the
    // offset of libc's block from the thread pointer is the same in both.
    std::thread::spawn(|| unsafe { Plugin::open(path("hello")) }.map(|_| ()))
        .join()
        .unwrap()
        .unwrap();
    let opened = std::thread::spawn(|| {
        let p = unsafe { Plugin::open(path("tls_errno_ie")) }.unwrap();
        let at: extern "C" fn() -> *mut c_int = f(p, "errno_ie_at");
        (
            at as usize,
            at() as usize,
            unsafe { libc::__errno_location() } as usize,
        )
    });
    let (at, seen, want) = opened.join().unwrap();
    assert_eq!(seen, want, "in the opening thread");
    let at: extern "C" fn() -> *mut c_int = unsafe { std::mem::transmute(at) };
    assert_eq!(
        at(),
        unsafe { libc::__errno_location() },
        "in another thread"
    );
}
