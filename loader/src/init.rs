//! Initialisers: DT_INIT, then DT_INIT_ARRAY, each called as `f(argc, argv, envp)` with the
//! process's real values, as glibc calls them.

use std::ffi::c_char;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*const c_char> = AtomicPtr::new(std::ptr::null_mut());
static ENVP: AtomicPtr<*const c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Records the arguments the C runtime passes to every initialiser of the executable.
extern "C" fn capture(argc: libc::c_int, argv: *mut *const c_char, envp: *mut *const c_char) {
    ARGC.store(usize::try_from(argc).unwrap_or(0), Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
    ENVP.store(envp, Ordering::Relaxed);
}

/// glibc calls the executable's `.init_array` entries with (argc, argv, envp): so does dynplug
/// for plugins, and this entry is how it learns them (Rust's std does the same).
#[used]
#[link_section = ".init_array.00098"]
static CAPTURE: extern "C" fn(libc::c_int, *mut *const c_char, *mut *const c_char) = capture;

/// An empty, NUL-terminated argument vector for hosts whose C runtime passed none.
struct Empty([*const c_char; 1]);
// SAFETY: a single null pointer, never written.
unsafe impl Sync for Empty {}
static EMPTY: Empty = Empty([std::ptr::null()]);

extern "C" {
    static environ: *mut *const c_char;
}

/// `(argc, argv, envp)` as the C runtime gave them to the executable's initialisers.
pub fn args() -> (libc::c_int, *mut *const c_char, *mut *const c_char) {
    let argv = ARGV.load(Ordering::Relaxed);
    if argv.is_null() {
        // SAFETY: `environ` is the C library's environment pointer, initialised before main.
        let env = unsafe { environ };
        let env = if env.is_null() {
            EMPTY.0.as_ptr() as *mut _
        } else {
            env
        };
        return (0, EMPTY.0.as_ptr() as *mut _, env);
    }
    let argc = libc::c_int::try_from(ARGC.load(Ordering::Relaxed)).unwrap_or(0);
    (argc, argv, ENVP.load(Ordering::Relaxed))
}

/// Runs the initialisers at the given run-time addresses, in order.
///
/// # Safety
/// Every address must be an initialiser function in a mapped, relocated, executable image.
pub unsafe fn run(functions: &[u64]) {
    let (argc, argv, envp) = args();
    for &f in functions {
        // SAFETY: the caller promises `f` is an initialiser with glibc's calling convention.
        let f: extern "C" fn(libc::c_int, *mut *const c_char, *mut *const c_char) =
            unsafe { std::mem::transmute::<usize, _>(f as usize) };
        f(argc, argv, envp);
    }
}
