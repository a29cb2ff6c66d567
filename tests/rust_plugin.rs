//! A Rust cdylib plugin (testdata/rust-plugin) using std, opened with `Plugin::open`.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use dynplug::Plugin;

/// Builds the cdylib once (its own target directory: this test runs inside `cargo test`).
fn built() -> &'static PathBuf {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = root.join("target").join("rust-plugin");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .current_dir(&root)
            .args(["build", "-p", "dynplug-rust-plugin", "--target"])
            .arg(dynplug_fixtures::TARGET)
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("run cargo");
        assert!(st.success(), "building the Rust plugin");
        target
            .join(dynplug_fixtures::TARGET)
            .join("debug")
            .join("libdynplug_rust_plugin.so")
    })
}

fn plugin() -> &'static Plugin {
    unsafe { Plugin::open(built()) }.unwrap_or_else(|e| panic!("{e}"))
}

fn f<T: Copy>(name: &str) -> T {
    unsafe { plugin().lookup(name).unwrap().cast::<T>() }
}

#[test]
fn std_collections_and_println() {
    let words: extern "C" fn(u32) -> u64 = f("rust_words");
    assert_eq!(words(1000), 1000);
}

#[test]
fn thread_local_from_eight_host_threads() {
    let calls: extern "C" fn() -> u64 = f("rust_thread_calls");
    let handles: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..=i {
                    last = calls();
                }
                last
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(
            h.join().unwrap(),
            i as u64 + 1,
            "thread {i} counts its own calls"
        );
    }
}

#[test]
fn plugin_spawns_threads() {
    let sum: extern "C" fn(u64) -> u64 = f("rust_spawn_sum");
    assert_eq!(sum(1001), 500_500);
}

#[test]
fn panic_caught_inside_the_plugin() {
    let catch: extern "C" fn() -> u32 = f("rust_catch_panic");
    assert_eq!(catch(), 1);
}

#[test]
fn std_sees_the_program_arguments() {
    let args: extern "C" fn() -> usize = f("rust_args");
    assert_eq!(args(), std::env::args_os().count());
}
