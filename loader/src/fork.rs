//! fork() in a process with several threads: the child has only the thread that forked. A lock
//! another thread held at the fork would stay locked in the child for ever, and state another
//! thread owned (a library it was initialising) would wait for a thread that does not exist.
//!
//! glibc resets its loader lock in the child. dynplug takes every lock it has before the fork
//! (in one order, the order the code nests them), so none is held half-way through an update,
//! and releases them in the parent and the child; then the child forgets the work of threads
//! it does not have (a module's `Locks::in_child`). Lazily made values use
//! `once`, which never blocks, so none is caught half-made either. No thread takes a lock
//! before the handlers that take it at a fork are registered ([`install`]).

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{MutexGuard, OnceLock};

thread_local! {
    /// The guards the forking thread holds from `prepare` to `parent` or `child`.
    static HELD: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Fork handlers of a crate above (dynplug's registry), whose lock is held around the loader's:
/// taken first, released and reset after the loader's. A crate adds its own to [`FORK_OUTER`].
#[derive(Debug)]
pub struct Outer {
    /// Takes the crate's locks.
    pub prepare: fn(),
    /// Releases them in the parent.
    pub parent: fn(),
    /// Resets the crate's state in the child and releases them.
    pub child: fn(),
}

/// The fork handlers of crates above, gathered at link time: the loader's handlers call them,
/// so they need no registration of their own, which a fork under way could miss (glibc runs
/// only the handlers registered when its `prepare` phase began, and lets other threads register
/// meanwhile).
#[linkme::distributed_slice]
pub static FORK_OUTER: [Outer];

/// Registers the fork handlers, once. They are registered before `main` (by `init.rs`'s startup entry), when
/// no other thread exists; every function that takes one of the locks calls this first too
/// (for a host whose C runtime ran no initialisers of its own), and no caller goes on before
/// the handlers are registered.
pub fn install() {
    // Not a `Once`: a child forked while another thread registers would find a `Once` running
    // for ever. [`Installing`] knows which process the registering thread is in.
    Installing(&INSTALLED).run(std::process::id, || {
        // SAFETY: three functions of the type pthread_atfork takes, which only lock and
        // unlock dynplug's own locks and reset dynplug's own state. (Its only failure, ENOMEM,
        // leaves a child as it was without them.)
        unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    });
}

/// Whether the handlers are registered now (they are from before `main`).
///
/// Registered after a thread had started, the handlers could miss a fork whose `prepare` phase
/// was under way, and a lock taken meanwhile would be held in the child for ever (the first fork
/// of tests/fork.rs, made as its threads start, did: about one run in four under qemu).
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Acquire) == Installing::DONE
}

/// Whether the fork handlers are registered: an [`Installing`] state.
static INSTALLED: AtomicU32 = AtomicU32::new(Installing::NOT_YET);

/// The state of a one-time registration that survives fork: not yet, done, or under way by a
/// thread of the process whose id it holds.
struct Installing<'a>(&'a AtomicU32);

impl Installing<'_> {
    const NOT_YET: u32 = 0;
    const DONE: u32 = u32::MAX;

    /// Runs `register` once: the first caller runs it, the others wait until it has. A forked
    /// child that finds it under way by a thread of its parent (a thread the child lacks) runs
    /// it again: that thread had not registered the handlers, or their child handler would have
    /// marked it done.
    fn run(&self, pid: impl Fn() -> u32, register: impl FnOnce()) {
        if self.0.load(Ordering::Acquire) == Self::DONE {
            return;
        }
        let me = pid();
        loop {
            match self.0.load(Ordering::Acquire) {
                Self::DONE => return,
                Self::NOT_YET => {
                    let won = self.0.compare_exchange(
                        Self::NOT_YET,
                        me,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    if won.is_ok() {
                        register();
                        self.0.store(Self::DONE, Ordering::Release);
                        return;
                    }
                }
                by if by == me => std::thread::yield_now(),
                by => {
                    let _ = self.0.compare_exchange(
                        by,
                        Self::NOT_YET,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                }
            }
        }
    }

    /// In a child forked by a process whose handlers were registered.
    fn mark_done(&self) {
        self.0.store(Self::DONE, Ordering::Release);
    }
}

/// Where a module's locks are taken in `prepare`: the order the code nests them, outermost
/// first. The modules register themselves ([`FORK_LOCKS`]); this list only orders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank {
    /// The served `dlopen`'s list and the link maps (`interpose`).
    Dlopen,
    /// The list of shared libraries (`group`).
    SharedList,
    /// The process's module list, file ids and global scope (`process`).
    ProcessModules,
    /// The served link-map entries (`interpose`).
    Entries,
    /// The TLS images (`tls`).
    TlsImages,
    /// The static TLS reserve (`static_tls`).
    StaticTls,
    /// Initialisers running (`initialised`).
    Initialised,
    /// Locks held around no other (`interpose`).
    Leaves,
    /// Modules that joined the global scope (`group`).
    Joined,
    /// The unique-symbol table (`unique`).
    Unique,
    /// The finalisers (`init`).
    Finalisers,
    /// The debugger's list (`debugger`).
    Debugger,
    /// The perf map (`perf_map`).
    PerfMap,
    /// The Mach-O images dynplug loaded (`macho/registry.rs`): held through a whole Mach-O load,
    /// around no other lock of dynplug's, and taken under any its caller holds.
    MachOImages,
    /// The logger: a line is written under any other (`debug`).
    Logger,
    /// Calls into the C runtime ([`runtime_call`]): innermost, around no other lock's taking.
    RuntimeCall,
}

/// A module's part in a fork: registered in [`FORK_LOCKS`] by the module that owns the locks,
/// so this file names none of them.
#[derive(Debug)]
pub(crate) struct Locks {
    /// Where its locks nest.
    pub rank: Rank,
    /// Takes its locks, pushing their guards.
    pub take: fn(&mut Vec<Box<dyn Any>>),
    /// In the child, with every lock held: forgets what threads the child lacks were doing.
    pub in_child: Option<fn()>,
}

/// Every module's fork handling, gathered at link time (no registration at run time, which a
/// fork could race).
#[linkme::distributed_slice]
pub(crate) static FORK_LOCKS: [Locks];

/// The registered modules in nesting order.
fn ranked() -> Vec<&'static Locks> {
    let mut all: Vec<&'static Locks> = FORK_LOCKS.iter().collect();
    all.sort_by_key(|l| l.rank);
    all
}

/// Takes every lock, outermost first.
extern "C" fn prepare() {
    for o in FORK_OUTER.iter() {
        (o.prepare)();
    }
    let mut held: Vec<Box<dyn Any>> = Vec::new();
    for l in ranked() {
        (l.take)(&mut held);
    }
    HELD.with(|h| *h.borrow_mut() = held);
}

/// Held by a thread of dynplug's while it calls into the C runtime where the runtime takes a
/// lock no fork handler resets (libgcc's `object_mutex` in `__register_frame`, glibc's
/// `dl_load_write_lock` in `dl_iterate_phdr`): a child forked then would wait on it for ever.
/// `prepare` takes it last (`Rank::RuntimeCall`), so no such call is under way at a fork. Innermost: nothing else is
/// taken while it is held (never around a caller's callback).
static RUNTIME_CALL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[linkme::distributed_slice(FORK_LOCKS)]
static FORK_RUNTIME_CALL: Locks = Locks {
    rank: Rank::RuntimeCall,
    take: |held| held.push(Box::new(runtime_call())),
    in_child: None,
};

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
    for o in FORK_OUTER.iter().rev() {
        (o.parent)();
    }
}

extern "C" fn child() {
    // The handlers run, so they are registered, even if the thread registering them had not
    // said so when the parent forked.
    Installing(&INSTALLED).mark_done();
    for f in ranked().iter().filter_map(|l| l.in_child) {
        f();
    }
    release();
    for o in FORK_OUTER.iter().rev() {
        (o.child)();
    }
}

/// Calls `f` with the value behind the lock `prepare` took whose guard is a
/// `MutexGuard<T>` (in the child, before the locks are released).
pub(crate) fn with_held<T: 'static>(f: impl FnOnce(&mut T)) {
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

#[cfg(test)]
mod tests {
    use super::{ranked, Installing, Rank};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// How many times `register` ran when the state was `at` and the process is 7.
    fn registrations_from(at: u32) -> (u32, u32) {
        let state = AtomicU32::new(at);
        let mut ran = 0;
        Installing(&state).run(|| 7, || ran += 1);
        (ran, state.load(Ordering::Relaxed))
    }

    #[test]
    fn registers_once_and_again_in_a_child_of_an_unfinished_registration() {
        let done = Installing::DONE;
        assert_eq!(registrations_from(Installing::NOT_YET), (1, done));
        assert_eq!(registrations_from(done), (0, done));
        // Under way in process 3 when 7 was forked from it: 3's thread is not in 7.
        assert_eq!(registrations_from(3), (1, done));
    }

    #[test]
    fn a_thread_waits_for_the_registration_under_way_in_its_process() {
        let state: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(7)));
        let waiter = std::thread::spawn(|| Installing(state).run(|| 7, || panic!("ran twice")));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !waiter.is_finished(),
            "went on before the handlers were registered"
        );
        state.store(Installing::DONE, Ordering::Release);
        waiter.join().unwrap();
    }

    #[test]
    fn every_rank_is_registered_once() {
        let ranks: Vec<Rank> = ranked().iter().map(|l| l.rank).collect();
        let mut distinct = ranks.clone();
        distinct.dedup();
        assert_eq!(ranks, distinct, "a rank registered twice");
        assert_eq!(ranks.first(), Some(&Rank::Dlopen));
        assert_eq!(ranks.last(), Some(&Rank::RuntimeCall));
        assert_eq!(
            ranks.len(),
            Rank::RuntimeCall as usize + 1,
            "a rank nobody registered"
        );
    }
}
