//! Calls from a plugin into libc and libm, through the PLT (JUMP_SLOT, bound at load) in
//! libc_calls.so and through GOT entries (GLOB_DAT, `-fno-plt`) in libc_calls_noplt.so, both built
//! from testdata/c/libc_calls.c: every result depends on which function each slot was bound to.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::{c_char, c_int, CStr, CString};

use dynplug::Plugin;
use dynplug_fixtures::inspect::{Object, R_GLOB_DAT, R_JUMP_SLOT};
use dynplug_fixtures::path;

/// Functions the fixture calls (qsort, snprintf, strcmp, strlen, abs, cos; atoi and toupper are
/// inlined by glibc's headers into calls of strtol and __ctype_toupper_loc).
const CALLED: [&str; 8] = [
    "strlen",
    "strtol",
    "abs",
    "__ctype_toupper_loc",
    "strcmp",
    "cos",
    "snprintf",
    "qsort",
];

fn names(o: &Object, r_type: u32) -> Vec<String> {
    o.relocations_of(r_type)
        .into_iter()
        .map(|r| r.symbol)
        .collect()
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "riscv64's gcc 12 ignores -fno-plt: libc_calls_noplt.so calls through JUMP_SLOTs too"
)]
fn plt_fixture_binds_through_jump_slots_noplt_through_the_got() {
    let plt = Object::read(path("libc_calls"));
    let slots = names(&plt, R_JUMP_SLOT);
    for f in CALLED {
        assert!(
            slots.iter().any(|s| s == f),
            "libc_calls.so: JUMP_SLOT {f}: {slots:?}"
        );
    }
    let noplt = Object::read(path("libc_calls_noplt"));
    // (aarch64's crt code still calls __cxa_finalize and __gmon_start__ through the PLT.)
    let noplt_slots = names(&noplt, R_JUMP_SLOT);
    assert!(
        CALLED.iter().all(|f| !noplt_slots.iter().any(|s| s == f)),
        "libc_calls_noplt.so: no JUMP_SLOT for the calls: {noplt_slots:?}"
    );
    let got = names(&noplt, R_GLOB_DAT);
    for f in CALLED {
        assert!(
            got.iter().any(|s| s == f),
            "libc_calls_noplt.so: GLOB_DAT {f}: {got:?}"
        );
    }
}

fn f<T: Copy>(p: &Plugin, name: &str) -> T {
    unsafe { p.lookup(name).unwrap_or_else(|e| panic!("{e}")).cast::<T>() }
}

fn calls_give_libc_results(fixture: &str) {
    let p = unsafe { Plugin::open(path(fixture)) }.unwrap();
    let c = |s: &str| CString::new(s).unwrap();

    let strlen: extern "C" fn(*const c_char) -> usize = f(p, "lc_strlen");
    assert_eq!(strlen(c("dynplug").as_ptr()), 7, "{fixture}: strlen");
    assert_eq!(strlen(c("").as_ptr()), 0, "{fixture}: strlen");

    let atoi: extern "C" fn(*const c_char) -> c_int = f(p, "lc_atoi");
    assert_eq!(atoi(c("-1234").as_ptr()), -1234, "{fixture}: atoi");

    let abs: extern "C" fn(c_int) -> c_int = f(p, "lc_abs");
    assert_eq!((abs(-5), abs(6)), (5, 6), "{fixture}: abs");

    let toupper: extern "C" fn(c_int) -> c_int = f(p, "lc_toupper");
    assert_eq!(toupper('q' as c_int), 'Q' as c_int, "{fixture}: toupper");
    assert_eq!(toupper('7' as c_int), '7' as c_int, "{fixture}: toupper");

    let strcmp: extern "C" fn(*const c_char, *const c_char) -> c_int = f(p, "lc_strcmp");
    let (a, b) = (c("apple"), c("banana"));
    assert!(strcmp(a.as_ptr(), b.as_ptr()) < 0, "{fixture}: strcmp");
    assert!(strcmp(b.as_ptr(), a.as_ptr()) > 0, "{fixture}: strcmp");
    assert_eq!(strcmp(a.as_ptr(), a.as_ptr()), 0, "{fixture}: strcmp");

    let cos: extern "C" fn(f64) -> f64 = f(p, "lc_cos");
    assert_eq!(cos(0.0), 1.0, "{fixture}: cos");
    assert!(
        (cos(0.5) - 0.877_582_561_890_372_8).abs() < 1e-12,
        "{fixture}: cos"
    );
    assert!(
        (cos(std::f64::consts::PI) + 1.0).abs() < 1e-12,
        "{fixture}: cos"
    );

    let format: extern "C" fn(*mut c_char, usize, c_int, *const c_char) -> c_int =
        f(p, "lc_format");
    let mut buf = [0 as c_char; 32];
    assert_eq!(format(buf.as_mut_ptr(), buf.len(), 42, c("hi").as_ptr()), 7);
    let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
    assert_eq!(s.to_str().unwrap(), "<42:hi>", "{fixture}: snprintf");

    let sort: extern "C" fn(*mut c_int, usize) = f(p, "lc_sort");
    let mut v = [5, -3, 9, 1, 7, 1, 0];
    sort(v.as_mut_ptr(), v.len());
    assert_eq!(
        v,
        [-3, 0, 1, 1, 5, 7, 9],
        "{fixture}: qsort with the plugin's comparator"
    );

    let weak_is_null: extern "C" fn() -> c_int = f(p, "lc_weak_fn_is_null");
    assert_eq!(weak_is_null(), 1, "{fixture}: unresolved weak function");
    let call_weak_or: extern "C" fn(c_int) -> c_int = f(p, "lc_call_weak_or");
    assert_eq!(call_weak_or(17), 17, "{fixture}: unresolved weak function");
}

#[test]
fn calls_through_the_plt() {
    calls_give_libc_results("libc_calls");
}

#[test]
fn calls_through_the_got_without_plt() {
    calls_give_libc_results("libc_calls_noplt");
}
