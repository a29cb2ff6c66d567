//! The process-wide registry of plugins, keyed by canonical path (or by name for plugins opened
//! from memory). It gives Go's semantics: one load per key, initialisers once, waiters wait.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::{self, ThreadId};

use dynplug_loader::FastMap;

use crate::error::Error;
use crate::plugin::Plugin;

/// What a registry entry is keyed by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A file, by device and inode: every path to it (symbolic or hard links) is one plugin.
    File((u64, u64)),
    /// Bytes opened under a name.
    Memory(String),
}

enum State {
    /// Being loaded (no plugin code has run) by this thread.
    Loading(ThreadId),
    /// Its initialisers are running on this thread.
    Initialising(ThreadId),
    /// Open.
    Ready(&'static Plugin),
}

struct Registry {
    map: Mutex<FastMap<Key, State>>,
    changed: Condvar,
    /// Threads waiting on `changed` (changed only with `map` locked): with none, a state change
    /// notifies nobody and costs no system call.
    waiting: AtomicUsize,
}

impl Registry {
    /// Wakes the waiters, if any; `map` is locked by the caller.
    fn notify(&self) {
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.changed.notify_all();
        }
    }
}

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Registry {
        map: Mutex::new(FastMap::default()),
        changed: Condvar::new(),
        waiting: AtomicUsize::new(0),
    })
}

fn lock(r: &Registry) -> MutexGuard<'_, FastMap<Key, State>> {
    // A panic while holding the lock leaves the map consistent (every update is one insert or
    // remove), so a poisoned lock is still usable.
    r.map.lock().unwrap_or_else(|p| p.into_inner())
}

/// Returns the plugin registered under `key`, or loads it with `load` and runs its initialisers.
///
/// `load` runs without the lock held and must not run any plugin code; `Plugin::initialise`
/// runs the plugin's initialisers, also without the lock.
pub(crate) fn open(
    key: Key,
    path: PathBuf,
    load: impl FnOnce() -> Result<Plugin, Error>,
) -> Result<&'static Plugin, Error> {
    let r = registry();
    let me = thread::current().id();
    let mut map = lock(r);
    loop {
        match map.get(&key) {
            Some(State::Ready(p)) => return Ok(p),
            Some(State::Loading(t) | State::Initialising(t)) if *t == me => {
                return Err(Error::RecursiveOpen { path });
            }
            Some(State::Loading(t) | State::Initialising(t)) => {
                // Recorded, so that a thread initialising a library this one needs does not
                // wait for this one in turn (see dynplug_loader::blocked_on).
                dynplug_loader::blocked_on(*t);
                // Counted under the lock, so a thread changing the state (under the lock too)
                // sees this waiter before it decides whether to notify.
                r.waiting.fetch_add(1, Ordering::Relaxed);
                map = r.changed.wait(map).unwrap_or_else(|p| p.into_inner());
                r.waiting.fetch_sub(1, Ordering::Relaxed);
                dynplug_loader::unblocked();
            }
            None => break,
        }
    }
    map.insert(key.clone(), State::Loading(me));
    drop(map);

    let loaded = load();
    let mut map = lock(r);
    let plugin = match loaded {
        Ok(p) => p,
        Err(e) => {
            // Nothing of the plugin ran: leave no trace, so a later open tries again.
            map.remove(&key);
            r.notify();
            return Err(e);
        }
    };
    let plugin: &'static Plugin = Box::leak(Box::new(plugin));
    map.insert(key.clone(), State::Initialising(me));
    drop(map);

    // SAFETY: this thread alone got here for this key, once: the initialisers run exactly once.
    unsafe { plugin.initialise() };

    let mut map = lock(r);
    map.insert(key, State::Ready(plugin));
    r.notify();
    Ok(plugin)
}
