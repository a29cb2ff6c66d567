//! fork() in a process with several threads: the child has only the thread that forked. A lock
//! another thread held at the fork would stay locked in the child for ever, and state another
//! thread owned (a library it was initialising) would wait for a thread that does not exist.
//!
//! glibc resets its loader lock in the child. dynplug takes every lock it has before the fork
//! (in one order, the order the code nests them), so none is held half-way through an update,
//! and releases them in the parent and the child; then the child forgets the work of threads
//! it does not have (see `initialised::forget_other_threads`). Lazily made values use
//! `once`, which never blocks, so none is caught half-made either.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{MutexGuard, OnceLock};

thread_local! {
    /// The guards the forking thread holds from `prepare` to `parent` or `child`.
    static HELD: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Fork handlers of a crate above (dynplug's registry), whose lock is held around the loader's:
/// taken first, released and reset with the loader's.
#[derive(Debug)]
pub struct Outer {
    /// Takes the crate's locks.
    pub prepare: fn(),
    /// Releases them in the parent.
    pub parent: fn(),
    /// Resets the crate's state in the child and releases them.
    pub child: fn(),
}

static OUTER: AtomicPtr<Outer> = AtomicPtr::new(std::ptr::null_mut());

/// Adds the handlers of a crate above to dynplug-loader's (one crate: a second call replaces
/// the first).
pub fn install_outer(outer: &'static Outer) {
    install();
    OUTER.store(outer as *const Outer as *mut Outer, Ordering::Release);
}

fn outer() -> Option<&'static Outer> {
    // SAFETY: null or a `&'static Outer` stored by `install_outer`.
    unsafe { OUTER.load(Ordering::Acquire).as_ref() }
}

/// Registers dynplug-loader's fork handlers, once (the first caller registers them; one that
/// races it may return first). Every function that takes one of the locks calls it first.
pub fn install() {
    // Not a `Once`: a thread inside `pthread_atfork` waits while another forks, and a child
    // forked then would find the `Once` running for ever.
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: three functions of the type pthread_atfork takes, which only lock and unlock
    // dynplug's own locks and reset dynplug's own state. (Its only failure, ENOMEM, leaves a
    // child as it was without them.)
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
}

/// Takes every lock, outermost first.
extern "C" fn prepare() {
    if let Some(o) = outer() {
        (o.prepare)();
    }
    let mut held: Vec<Box<dyn Any>> = Vec::new();
    crate::interpose::lock_all(&mut held);
    held.push(Box::new(crate::group::shared()));
    crate::process::lock_all(&mut held);
    crate::interpose::lock_entries(&mut held);
    crate::tls::lock_all(&mut held);
    crate::static_tls::lock_all(&mut held);
    crate::initialised::lock_all(&mut held);
    crate::interpose::lock_leaves(&mut held);
    crate::group::lock_joined(&mut held);
    crate::unique::lock_all(&mut held);
    crate::init::lock_all(&mut held);
    crate::debugger::lock_all(&mut held);
    crate::perf_map::lock_all(&mut held);
    crate::debug::lock_all(&mut held);
    held.push(Box::new(runtime_call()));
    HELD.with(|h| *h.borrow_mut() = held);
}

/// Held by a thread of dynplug's while it calls into the C runtime where the runtime takes a
/// lock no fork handler resets (libgcc's `object_mutex` in `__register_frame`, glibc's
/// `dl_load_write_lock` in `dl_iterate_phdr`): a child forked then would wait on it for ever.
/// `prepare` takes it last, so no such call is under way at a fork. Innermost: nothing else is
/// taken while it is held (never around a caller's callback).
static RUNTIME_CALL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The guard [`RUNTIME_CALL`] is held by, for one call into the C runtime.
pub(crate) fn runtime_call() -> MutexGuard<'static, ()> {
    install();
    RUNTIME_CALL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Releases every lock, innermost first.
fn release() {
    let held = HELD.with(|h| std::mem::take(&mut *h.borrow_mut()));
    for guard in held.into_iter().rev() {
        drop(guard);
    }
}

extern "C" fn parent() {
    release();
    if let Some(o) = outer() {
        (o.parent)();
    }
}

extern "C" fn child() {
    with_held(crate::initialised::forget_other_threads);
    release();
    if let Some(o) = outer() {
        (o.child)();
    }
}

/// Calls `f` with the value behind the lock `prepare` took whose guard is a
/// `MutexGuard<T>` (in the child, before the locks are released).
fn with_held<T: 'static>(f: impl FnOnce(&mut T)) {
    HELD.with(|h| {
        let mut held = h.borrow_mut();
        if let Some(g) = held
            .iter_mut()
            .find_map(|g| g.downcast_mut::<MutexGuard<'static, T>>())
        {
            f(g);
        }
    });
}

/// The value in `cell`, made by `make` if there is none yet. Unlike `OnceLock::get_or_init` it
/// never waits for another thread making it (that thread may not exist in a forked child): two
/// threads may both make it, and the first stored is kept.
pub(crate) fn once<T>(cell: &OnceLock<T>, make: impl FnOnce() -> T) -> &T {
    if let Some(v) = cell.get() {
        return v;
    }
    let _ = cell.set(make());
    // Set just above, by this thread or another: never empty here.
    cell.get()
        .unwrap_or_else(|| unreachable!("a OnceLock set above is empty"))
}
