//! Libraries dynplug loaded whose initialisers have not finished, and the thread running them.
//! An open of such a library from another thread waits until they have run (glibc's loader lock
//! makes `dlopen` wait the same way); the thread running them (an initialiser opening its own
//! library again) does not wait.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

/// Load bias → the thread that will run (or is running) the module's initialisers.
static PENDING: Mutex<Option<HashMap<u64, ThreadId>>> = Mutex::new(None);
static FINISHED: Condvar = Condvar::new();

fn pending() -> MutexGuard<'static, Option<HashMap<u64, ThreadId>>> {
    // Every update is one insert or remove: a poisoned lock is still consistent.
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// The module at `base` has initialisers the current thread will run.
pub(crate) fn starting(base: u64) {
    pending()
        .get_or_insert_with(HashMap::new)
        .insert(base, thread::current().id());
}

/// The initialisers of the module at `base` have run.
pub(crate) fn finished(base: u64) {
    let mut p = pending();
    if p.as_mut().and_then(|m| m.remove(&base)).is_some() {
        FINISHED.notify_all();
    }
}

/// Returns once the initialisers of the module at `base` have run, or at once if another
/// thread is not running them.
pub(crate) fn wait(base: u64) {
    let me = thread::current().id();
    let mut p = pending();
    while let Some(&t) = p.as_ref().and_then(|m| m.get(&base)) {
        if t == me {
            return;
        }
        p = FINISHED.wait(p).unwrap_or_else(|e| e.into_inner());
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
}
