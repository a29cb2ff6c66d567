//! 64 threads opening the same path and different paths, and looking symbols up, for a few
//! seconds: no deadlock, every plugin's initialisers ran exactly once, every result consistent.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dynplug::Plugin;
use dynplug_fixtures::fresh_copy;

#[test]
fn sixty_four_threads_open_and_lookup() {
    let shared = fresh_copy("init");
    let others: Vec<PathBuf> = (0..16).map(|_| fresh_copy("init")).collect();
    let deadline = Instant::now() + Duration::from_secs(3);
    let handles: Vec<_> = (0..64u64)
        .map(|t| {
            let shared = shared.clone();
            let others = others.clone();
            std::thread::spawn(move || {
                let mut seed = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                let mut seen = Vec::new();
                let mut rounds = 0u64;
                while Instant::now() < deadline {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let path = if seed % 2 == 0 {
                        &shared
                    } else {
                        &others[(seed / 2 % 16) as usize]
                    };
                    let p = unsafe { Plugin::open(path) }.unwrap();
                    let count = unsafe { *p.lookup("init_count").unwrap().cast::<*const i32>() };
                    assert_eq!(count, 1, "initialisers ran once before open returned");
                    assert!(p.lookup("no_such_symbol").is_err());
                    seen.push((path.clone(), p as *const Plugin as usize));
                    rounds += 1;
                }
                (seen, rounds)
            })
        })
        .collect();
    let mut by_path = std::collections::HashMap::new();
    let mut total = 0;
    for h in handles {
        let (seen, rounds) = h.join().expect("no thread panicked");
        total += rounds;
        for (path, ptr) in seen {
            assert_eq!(
                *by_path.entry(path).or_insert(ptr),
                ptr,
                "one plugin per path"
            );
        }
    }
    assert_eq!(by_path.len(), 17);
    assert!(total > 64, "threads made progress: {total} opens");
}
