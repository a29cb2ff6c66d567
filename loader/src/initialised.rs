//! Libraries dynplug loaded whose initialisers have not finished, and the thread running them.
//! A thread that needs such a library (opening it, or a plugin that uses it) waits until they
//! have run, as glibc's loader lock makes `dlopen` wait. It does not wait when that would never
//! end: when it runs them itself (an initialiser opening its own library or a plugin that needs
//! it), or when the thread running them is itself waiting, directly or through others, for this
//! one (each thread records what it waits for). Then it goes on, as glibc does when an
//! initialiser opens a library that is still being initialised on the same thread.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

#[derive(Default)]
pub(crate) struct State {
    /// Load bias → the thread that runs the module's initialisers.
    pending: crate::FastMap<u64, ThreadId>,
    /// Thread → the thread it is waiting for (here, or for a plugin in the registry).
    waits_for: crate::FastMap<ThreadId, ThreadId>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
/// Notified when initialisers finish and when a thread starts waiting (a waiter re-checks for a
/// cycle).
static CHANGED: Condvar = Condvar::new();

fn state() -> MutexGuard<'static, Option<State>> {
    crate::fork::install();
    // Every update is one insert or remove: a poisoned lock is still consistent.
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the lock for a fork (`fork::prepare`).
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(STATE.lock().unwrap_or_else(|p| p.into_inner())));
}

/// In a forked child, given the state under the lock `fork::prepare` took (so no update is
/// half-done): only the
/// forking thread exists. Initialisers other threads were running never finish; as glibc counts
/// a library whose initialisers started as initialised, they count as run (a library another
/// thread loaded but had not started initialising counts as run too: its initialisers do not
/// run in the child). No other thread waits.
pub(crate) fn forget_other_threads(state: &mut Option<State>) {
    let me = thread::current().id();
    if let Some(st) = state.as_mut() {
        st.pending.retain(|_, owner| *owner == me);
        st.waits_for.clear();
    }
}

/// The child's part of a fork: see [`forget_other_threads`].
fn forget_in_child() {
    crate::fork::with_held(forget_other_threads);
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_INITIALISED: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::Initialised,
    take: lock_all,
    in_child: Some(forget_in_child),
};

/// The module at `base` has initialisers the current thread will run.
pub(crate) fn starting(base: u64) {
    state()
        .get_or_insert_with(State::default)
        .pending
        .insert(base, thread::current().id());
}

/// The initialisers of the module at `base` have run.
pub(crate) fn finished(base: u64) {
    let mut s = state();
    let Some(st) = s.as_mut() else { return };
    // A waiter records itself in `waits_for` under this lock before it waits: with none, no
    // thread needs waking (and a wake is a system call even then).
    if st.pending.remove(&base).is_some() && !st.waits_for.is_empty() {
        CHANGED.notify_all();
    }
}

/// True if `from` waits, directly or through other threads, for `to`.
fn reaches(s: &State, from: ThreadId, to: ThreadId) -> bool {
    let mut at = from;
    // Each thread waits for one other: a walk longer than the number of waiting threads has
    // gone round a cycle that does not include `to`.
    for _ in 0..=s.waits_for.len() {
        match s.waits_for.get(&at) {
            Some(&next) if next == to => return true,
            Some(&next) => at = next,
            None => return false,
        }
    }
    false
}

/// Returns once the initialisers of the module at `base` have run, at once if no other thread
/// is running them, or when waiting would close a cycle of waiting threads.
pub(crate) fn wait(base: u64) {
    let me = thread::current().id();
    let mut s = state();
    loop {
        let Some(st) = s.as_mut() else { return };
        let Some(&owner) = st.pending.get(&base) else {
            break;
        };
        if owner == me || reaches(st, owner, me) {
            break;
        }
        st.waits_for.insert(me, owner);
        CHANGED.notify_all();
        s = CHANGED.wait(s).unwrap_or_else(|e| e.into_inner());
        if let Some(st) = s.as_mut() {
            st.waits_for.remove(&me);
        }
    }
}

/// The current thread is about to wait for `owner` (a plugin it is loading or initialising).
pub fn blocked_on(owner: ThreadId) {
    state()
        .get_or_insert_with(State::default)
        .waits_for
        .insert(thread::current().id(), owner);
    CHANGED.notify_all();
}

/// The current thread no longer waits.
pub fn unblocked() {
    if let Some(s) = state().as_mut() {
        s.waits_for.remove(&thread::current().id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn another_thread_waits_and_the_initialising_one_does_not() {
        let base = 0x5eed_0000;
        starting(base);
        wait(base); // the same thread: no wait
        let (tx, rx) = mpsc::channel();
        let waiter = thread::spawn(move || {
            wait(base);
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "did not wait"
        );
        finished(base);
        assert!(
            rx.recv_timeout(Duration::from_secs(10)).is_ok(),
            "still waiting"
        );
        waiter.join().unwrap();
    }

    #[test]
    fn a_waiter_goes_on_when_the_initialising_thread_waits_for_it() {
        // This thread runs the initialisers of `base`; the other waits for them. Then this one
        // blocks on the other (as in the registry): the other must go on, not wait for ever.
        let base = 0x5eed_1000;
        starting(base);
        let (tx, rx) = mpsc::channel();
        let waiter = thread::spawn(move || {
            tx.send(thread::current().id()).unwrap();
            wait(base);
        });
        let other = rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(!waiter.is_finished(), "did not wait");
        blocked_on(other);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !waiter.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        unblocked();
        assert!(waiter.is_finished(), "deadlocked");
        waiter.join().unwrap();
        finished(base);
    }
}
