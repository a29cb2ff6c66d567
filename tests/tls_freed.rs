//! Per-thread TLS blocks of modules dynplug loaded are freed when their thread exits: 500
//! threads each make a block (and a table), and the process's live allocations come back.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use dynplug::Plugin;
use dynplug_fixtures::path;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn blocks_are_freed_at_thread_exit() {
    let p = unsafe { Plugin::open(path("tls_gd")) }.unwrap();
    let set: extern "C" fn(i32) = unsafe { p.lookup("tls_set").unwrap().cast() };
    let get: extern "C" fn() -> i32 = unsafe { p.lookup("tls_get").unwrap().cast() };
    // Warm up thread creation and this thread's own block.
    std::thread::spawn(move || set(1)).join().unwrap();
    set(2);
    let before = LIVE.load(Ordering::Relaxed);
    for i in 0..500 {
        let v = std::thread::spawn(move || {
            set(i);
            get()
        })
        .join()
        .unwrap();
        assert_eq!(v, 3 * i);
    }
    let after = LIVE.load(Ordering::Relaxed);
    // Without freeing, 500 threads leave 1000 allocations (a block and a table each).
    assert!(
        after - before < 50,
        "live allocations grew by {}",
        after - before
    );
}
