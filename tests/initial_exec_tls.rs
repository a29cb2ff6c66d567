//! Initial-exec TLS (R_X86_64_TPOFF64) in modules dynplug loads: a zero-initialised block is
//! placed in dynplug's reserve in the executable's static TLS, at one offset from every thread's
//! pointer; what cannot be placed soundly is refused, saying why. Also initial-exec TLS against
//! the C library, opened from any thread.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called accordingly.
use std::ffi::c_int;
use std::sync::{mpsc, Arc, Barrier};

use dynplug::{Error, Plugin, StaticTlsRefusal, Unsupported};
use dynplug_fixtures::path;

/// This thread's `errno` (glibc's `__errno_location`; `__error` on the BSDs, for which the
/// tests are only compiled).
fn errno_location() -> *mut c_int {
    extern "C" {
        #[cfg_attr(target_os = "linux", link_name = "__errno_location")]
        #[cfg_attr(not(target_os = "linux"), link_name = "__error")]
        fn errno_at() -> *mut c_int;
    }
    // SAFETY: the C library's function, with no preconditions.
    unsafe { errno_at() }
}

fn f<T: Copy>(p: &Plugin, name: &str) -> T {
    unsafe { p.lookup(name).unwrap_or_else(|e| panic!("{e}")).cast::<T>() }
}

/// Why opening `fixture` was refused for initial-exec TLS, and the symbol named.
fn refusal(fixture: &str) -> (String, StaticTlsRefusal) {
    match unsafe { Plugin::open(path(fixture)) } {
        Err(Error::Unsupported {
            feature:
                Unsupported::InitialExecTls {
                    symbol,
                    module,
                    why,
                },
            ..
        }) => {
            assert!(module.ends_with(&format!("{fixture}.so")), "{module}");
            (symbol, why)
        }
        other => panic!("{fixture}: {other:?}"),
    }
}

#[test]
fn openmp_parallel_reduction_from_a_plugin() {
    // libgomp (a dependency dynplug loads) keeps each thread's state in initial-exec TLS; its
    // worker threads are started after the open, by the C runtime.
    let p = unsafe { Plugin::open(path("omp_reduce")) }.unwrap();
    let sum: extern "C" fn(i64, c_int) -> i64 = f(p, "omp_sum_squares");
    let team: extern "C" fn(c_int) -> c_int = f(p, "omp_team_size");
    let n = 100_000i64;
    let want = n * (n + 1) * (2 * n + 1) / 6;
    assert_eq!(sum(n, 4), want);
    assert_eq!(team(4), 4);
    // Another host thread is a new OpenMP master with its own state.
    let other = std::thread::spawn(move || (sum(n, 3), team(3)));
    assert_eq!(other.join().unwrap(), (want, 3));
    assert_eq!(sum(n, 4), want, "the first team again");
}

#[test]
fn zero_initialised_block_is_one_per_thread_whatever_the_access_model() {
    // Every thread stays alive until all have looked, so that no two share a stack (and TLS).
    let all = Arc::new(Barrier::new(8));
    // A thread that exists before the open uses the block too.
    let (go, wait) = mpsc::channel::<()>();
    let b = all.clone();
    let early = std::thread::spawn(move || {
        wait.recv().unwrap();
        let at = per_thread_use(5);
        b.wait();
        at
    });
    let p = unsafe { Plugin::open(path("tls_ie_zero")) }.unwrap();
    let gd = unsafe { Plugin::open(path("tls_ie_zero_user_gd")) }.unwrap();
    let _ = (p, gd);
    if DESCRIPTORS {
        unsafe { Plugin::open(path("tls_ie_zero_user_desc")) }.unwrap();
    }
    go.send(()).unwrap();
    let later: Vec<_> = (0..6)
        .map(|i| {
            let b = all.clone();
            std::thread::spawn(move || {
                let at = per_thread_use(10 + i);
                b.wait();
                at
            })
        })
        .collect();
    let mut blocks = vec![per_thread_use(7)];
    all.wait();
    blocks.push(early.join().unwrap());
    blocks.extend(later.into_iter().map(|h| h.join().unwrap()));
    let mut unique = blocks.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        blocks.len(),
        "one block per thread: {blocks:x?}"
    );
    // A thread started later on a stack another thread left (glibc reuses them) finds its block
    // zero again: the C runtime sets up the executable's TLS for every thread.
    for i in 0..20 {
        std::thread::spawn(move || per_thread_use(100 + i))
            .join()
            .unwrap();
    }
}

/// Uses tls_ie_zero.so's TLS in this thread: it starts at zero and keeps this thread's values;
/// the initial-exec, general-dynamic and descriptor accesses reach the same variable. Returns
/// its address.
/// Whether the target's gcc makes TLS descriptors (riscv64's gcc 12 does not: no
/// `tls_ie_zero_user_desc` fixture there, and that access model is not checked).
const DESCRIPTORS: bool = !cfg!(target_arch = "riscv64");

fn per_thread_use(step: i64) -> usize {
    let p = unsafe { Plugin::open(path("tls_ie_zero")) }.unwrap();
    let gd = unsafe { Plugin::open(path("tls_ie_zero_user_gd")) }.unwrap();
    let add: extern "C" fn(i64) -> i64 = f(p, "iez_add");
    let hits: extern "C" fn() -> c_int = f(p, "iez_local_hits");
    let at_ie: extern "C" fn() -> *mut i64 = f(p, "iez_count_at");
    let at_gd: extern "C" fn() -> *mut i64 = f(gd, "iez_count_at_gd");
    assert_eq!(hits(), 0, "a fresh thread's block is zero");
    assert_eq!(add(step), step);
    assert_eq!(add(step), 2 * step);
    assert_eq!(hits(), 2);
    let at = at_ie();
    assert_eq!(at, at_gd(), "__tls_get_addr gives the initial-exec block");
    if DESCRIPTORS {
        let desc = unsafe { Plugin::open(path("tls_ie_zero_user_desc")) }.unwrap();
        let at_desc: extern "C" fn() -> *mut i64 = f(desc, "iez_count_at_desc");
        assert_eq!(
            at,
            at_desc(),
            "a TLS descriptor gives the initial-exec block"
        );
    }
    assert_eq!(unsafe { *at }, 2 * step);
    at as usize
}

#[test]
fn initialised_data_is_refused_saying_why() {
    // New threads would get zeros where the module's .tdata has values: no sound placement.
    let (symbol, why) = refusal("tls_ie");
    assert_eq!(symbol, "ie_var");
    assert_eq!(why, StaticTlsRefusal::InitialisedData);
}

#[test]
fn a_block_larger_than_the_reserve_is_refused() {
    let (symbol, why) = refusal("tls_ie_big");
    assert_eq!(symbol, "ie_big");
    // `need` is the block (4096 bytes) plus the alignment padding at the reserve's current
    // fill, which depends on what other tests of this process placed first.
    match why {
        StaticTlsRefusal::Exhausted {
            need,
            left,
            reserve,
        } => {
            assert!((4096..4096 + 64).contains(&need), "need {need}");
            assert!(
                left < need && left <= reserve,
                "left {left}, reserve {reserve}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_block_aligned_beyond_the_reserve_is_refused() {
    let (symbol, why) = refusal("tls_ie_aligned");
    assert_eq!(symbol, "ie_aligned");
    assert_eq!(
        why,
        StaticTlsRefusal::Alignment {
            align: 4096,
            max: 64
        }
    );
}

#[test]
fn a_block_already_handed_out_dynamically_is_refused() {
    // tls_dyn_zero.so's block is made per thread on first use; once one exists, an initial-exec
    // reference from a later plugin cannot move it.
    let p = unsafe { Plugin::open(path("tls_dyn_zero")) }.unwrap();
    let at: extern "C" fn() -> *mut i64 = f(p, "dz_value_at");
    assert!(!at().is_null());
    let (symbol, why) = refusal("tls_dyn_zero_ie_user");
    assert_eq!(symbol, "dz_value");
    assert_eq!(why, StaticTlsRefusal::InUse);
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
        (at as usize, at() as usize, errno_location() as usize)
    });
    let (at, seen, want) = opened.join().unwrap();
    assert_eq!(seen, want, "in the opening thread");
    let at: extern "C" fn() -> *mut c_int = unsafe { std::mem::transmute(at) };
    assert_eq!(at(), errno_location(), "in another thread");
}

#[test]
fn the_dry_run_gives_the_same_answers() {
    let loader = dynplug::Loader::new();
    for fixture in ["tls_ie_zero", "omp_reduce", "tls_errno_ie"] {
        let report = loader.check(path(fixture)).unwrap();
        assert!(report.is_ok(), "{fixture}: {:?}", report.problems);
    }
    for (fixture, want) in [
        ("tls_ie", StaticTlsRefusal::InitialisedData),
        (
            "tls_ie_aligned",
            StaticTlsRefusal::Alignment {
                align: 4096,
                max: 64,
            },
        ),
    ] {
        let report = loader.check(path(fixture)).unwrap();
        let refused = report.problems.iter().any(|e| {
            matches!(e, Error::Unsupported {
                feature: Unsupported::InitialExecTls { why, .. },
                ..
            } if *why == want)
        });
        assert!(refused, "{fixture}: {:?}", report.problems);
    }
}
