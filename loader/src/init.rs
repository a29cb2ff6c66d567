//! Initialisers: DT_INIT, then DT_INIT_ARRAY, each called as `f(argc, argv, envp)` with the
//! process's real values, as glibc calls them. Finalisers: at exit, as glibc's `_dl_fini` runs
//! them, DT_FINI_ARRAY from its last entry then DT_FINI, module by module in the reverse of the
//! order their initialisers started (dependents before their dependencies).

use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

/// A module's initialisers and finalisers (run-time addresses, each checked to lie in code).
#[derive(Clone, Debug, Default)]
pub struct Calls {
    /// Load bias of the module.
    pub base: u64,
    /// In the order to call them.
    pub inits: Vec<u64>,
    /// In the order to call them at exit.
    pub finis: Vec<u64>,
}

/// The finalisers of each module whose initialisers started, in that order.
static FINIS: Mutex<Vec<Vec<u64>>> = Mutex::new(Vec::new());

/// Takes the finalisers' lock for a fork (`fork::prepare`).
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(FINIS.lock().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_FINALISERS: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::Finalisers,
    take: lock_all,
    in_child: None,
};

/// Runs the finalisers of every module whose initialisers started, the last started first.
extern "C" fn run_finalisers() {
    // Taken out: a finaliser may open a plugin (whose finalisers then never run, as after
    // glibc's `_dl_fini` has started).
    let modules = std::mem::take(&mut *FINIS.lock().unwrap_or_else(|p| p.into_inner()));
    for finis in modules.iter().rev() {
        for &f in finis {
            // SAFETY: checked at open to lie in executable code of a module that stays
            // mapped; a finaliser takes no argument (glibc's `fini_t`).
            let f: extern "C" fn() = unsafe { std::mem::transmute::<usize, _>(f as usize) };
            f();
        }
    }
}

/// Runs the initialisers of a module, first recording its finalisers to run at exit. The
/// exit handler is registered before the first initialiser runs, so the C++ destructors a
/// plugin registers with `__cxa_atexit` (later) run before it, as before glibc's `_dl_fini`.
///
/// # Safety
/// As [`run`], for every address in `calls`.
pub unsafe fn run_module(calls: &Calls) {
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    if !calls.finis.is_empty() {
        if !REGISTERED.swap(true, Ordering::AcqRel) {
            // SAFETY: registers a function of the type atexit takes. (It fails only without
            // memory: then finalisers do not run, as before.)
            unsafe { libc::atexit(run_finalisers) };
        }
        crate::fork::install();
        FINIS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(calls.finis.clone());
    }
    // SAFETY: forwarded from the caller.
    unsafe { run(&calls.inits) };
}

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*const c_char> = AtomicPtr::new(std::ptr::null_mut());
static ENVP: AtomicPtr<*const c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Records the arguments the C runtime passes to every initialiser of the executable.
fn capture(argc: libc::c_int, argv: *mut *const c_char, envp: *mut *const c_char) {
    ARGC.store(usize::try_from(argc).unwrap_or(0), Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
    ENVP.store(envp, Ordering::Relaxed);
}

/// What dynplug does before `main`: learns the arguments, and registers its fork handlers while
/// no other thread exists (`fork::install`).
extern "C" fn at_start(argc: libc::c_int, argv: *mut *const c_char, envp: *mut *const c_char) {
    capture(argc, argv, envp);
    crate::fork::install();
}

// glibc calls the executable's `.init_array` entries with (argc, argv, envp): so does dynplug
// for plugins, and this entry is how it learns them (Rust's std does the same).
crate::os::call_at_startup!(AT_START = at_start);

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
