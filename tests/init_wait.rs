//! While a plugin's initialisers run (reenter.so's constructor calls the host, which holds it
//! there until told to go on): other threads opening the same path wait for them to finish and
//! get the same plugin, the initialiser ran once, and opening another plugin meanwhile is not
//! blocked (the registry's lock is not held during initialisers).
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dynplug::{Loader, Plugin};
use dynplug_fixtures::fresh_copy;

static CALLS: AtomicUsize = AtomicUsize::new(0);
/// The initialiser says it started; the test tells it to go on.
static STARTED: Mutex<Option<Sender<()>>> = Mutex::new(None);
static GO: Mutex<Option<Receiver<()>>> = Mutex::new(None);

extern "C" fn host_in_init() {
    CALLS.fetch_add(1, Ordering::SeqCst);
    STARTED.lock().unwrap().take().unwrap().send(()).unwrap();
    let go = GO.lock().unwrap().take().unwrap();
    // Bounded, so that a loader bug fails the test instead of hanging it.
    let _ = go.recv_timeout(Duration::from_secs(20));
}

fn done(p: &Plugin) -> i32 {
    unsafe { *p.lookup("reenter_done").unwrap().cast::<*const i32>() }
}

#[test]
fn callers_during_initialisation_wait_and_others_proceed() {
    let (started_tx, started_rx) = channel();
    let (go_tx, go_rx) = channel();
    *STARTED.lock().unwrap() = Some(started_tx);
    *GO.lock().unwrap() = Some(go_rx);

    let copy = fresh_copy("reenter");
    let c = copy.clone();
    let first = std::thread::spawn(move || {
        let loader = Loader::new().export("host_in_init", host_in_init as *const c_void);
        let p = unsafe { loader.open(&c) }.unwrap();
        (p as *const Plugin as usize, done(p))
    });
    started_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the initialiser started");

    // Another plugin opens while the first one's initialiser is held.
    let (other_tx, other_rx) = channel();
    std::thread::spawn(move || {
        let p = unsafe { Plugin::open(fresh_copy("hello")) };
        other_tx.send(p.is_ok()).unwrap();
    });
    assert_eq!(
        other_rx.recv_timeout(Duration::from_secs(10)),
        Ok(true),
        "opening another plugin during an initialiser is not blocked"
    );

    // Threads opening the same path now must wait for the initialiser.
    let waiters: Vec<_> = (0..16)
        .map(|_| {
            let c = copy.clone();
            std::thread::spawn(move || {
                let p = unsafe { Plugin::open(&c) }.unwrap();
                (p as *const Plugin as usize, done(p), Instant::now())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    let released = Instant::now();
    go_tx.send(()).unwrap();

    let (p, first_done) = first.join().unwrap();
    assert_eq!(first_done, 1);
    for w in waiters {
        let (q, d, returned) = w.join().unwrap();
        assert_eq!(q, p, "the same plugin");
        assert_eq!(d, 1, "open returned only after the initialiser finished");
        assert!(returned >= released);
    }
    assert_eq!(CALLS.load(Ordering::SeqCst), 1, "the initialiser ran once");
}
