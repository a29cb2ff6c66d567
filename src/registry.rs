//! The process-wide registry of plugins, keyed by canonical path (or by name for plugins opened
//! from memory). It gives Go's semantics: one load per key, initialisers once, waiters wait.

use std::cell::RefCell;
use std::hash::BuildHasherDefault;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
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
    Initialising(ThreadId, &'static Plugin),
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

static REGISTRY: Registry = Registry {
    map: Mutex::new(FastMap::with_hasher(BuildHasherDefault::new())),
    changed: Condvar::new(),
    waiting: AtomicUsize::new(0),
};

fn registry() -> &'static Registry {
    dynplug_loader::fork::install();
    &REGISTRY
}

/// The registry's lock is held around the loader's: the loader's fork handlers take it first.
#[linkme::distributed_slice(dynplug_loader::fork::FORK_OUTER)]
static FORK: dynplug_loader::fork::Outer = dynplug_loader::fork::Outer {
    prepare,
    parent,
    child,
};

thread_local! {
    /// The registry's guard, held by the forking thread from `prepare` to `parent` or `child`.
    static HELD: RefCell<Option<MutexGuard<'static, FastMap<Key, State>>>> =
        const { RefCell::new(None) };
}

/// Before a fork: no thread is half-way through an update of the registry.
fn prepare() {
    let guard = lock(&REGISTRY);
    HELD.with(|h| *h.borrow_mut() = Some(guard));
}

fn parent() {
    HELD.with(|h| drop(h.borrow_mut().take()));
}

/// In the child only the forking thread exists. A plugin another thread was loading is
/// forgotten (none of its code ran: a later open loads it again); one whose initialisers
/// another thread was running is open (glibc, too, counts initialisers that started as run).
/// Nobody waits.
fn child() {
    let me = thread::current().id();
    HELD.with(|h| {
        let Some(mut map) = h.borrow_mut().take() else {
            return;
        };
        map.retain(|_, s| !matches!(s, State::Loading(t) if *t != me));
        for s in map.values_mut() {
            if let State::Initialising(t, p) = *s {
                if t != me {
                    *s = State::Ready(p);
                }
            }
        }
        REGISTRY.waiting.store(0, Ordering::Relaxed);
    });
}

fn lock(r: &Registry) -> MutexGuard<'_, FastMap<Key, State>> {
    // A panic while holding the lock leaves the map consistent (every update is one insert or
    // remove), so a poisoned lock is still usable.
    r.map.lock().unwrap_or_else(|p| p.into_inner())
}

/// The plugin open under `key`, if one is (not one still loading or initialising).
pub(crate) fn get(key: &Key) -> Option<&'static Plugin> {
    match lock(registry()).get(key) {
        Some(State::Ready(p)) => Some(p),
        _ => None,
    }
}

/// Returns the plugin registered under `key`, or loads it with `load` and runs its initialisers.
///
/// `load` runs without the lock held and must not run any plugin code; `Plugin::initialise`
/// runs the plugin's initialisers, also without the lock.
pub(crate) fn open(
    key: Key,
    path: &Path,
    load: impl FnOnce() -> Result<Plugin, Error>,
) -> Result<&'static Plugin, Error> {
    let r = registry();
    let me = thread::current().id();
    let mut map = lock(r);
    loop {
        match map.get(&key) {
            Some(State::Ready(p)) => return Ok(p),
            Some(State::Loading(t) | State::Initialising(t, _)) if *t == me => {
                return Err(Error::RecursiveOpen {
                    path: path.to_path_buf(),
                });
            }
            Some(State::Loading(t) | State::Initialising(t, _)) => {
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
    set(&mut map, key.clone(), State::Initialising(me, plugin));
    drop(map);

    // SAFETY: this thread alone got here for this key, once: the initialisers run exactly once.
    unsafe { plugin.initialise() };

    let mut map = lock(r);
    set(&mut map, key, State::Ready(plugin));
    r.notify();
    Ok(plugin)
}

/// Moves `key` to `state`: in place when it is there (it is, since this thread marked it
/// loading; the lookup does not rehash or move the key), else inserted.
fn set(map: &mut FastMap<Key, State>, key: Key, state: State) {
    match map.get_mut(&key) {
        Some(s) => *s = state,
        None => {
            map.insert(key, state);
        }
    }
}
