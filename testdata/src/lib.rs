//! Fixtures for dynplug's tests and example: shared objects compiled by `build.rs` from the
//! sources in `testdata/c`, [`edit`] to derive malformed or unusual objects from them, and
//! [`inspect`] to check what a fixture carries.
#![warn(missing_docs)]

pub mod edit;
pub mod inspect;

use std::path::PathBuf;

/// Directory holding the compiled fixtures (`<name>.so`).
pub fn dir() -> PathBuf {
    PathBuf::from(env!("DYNPLUG_FIXTURES_DIR"))
}

/// Path of the compiled fixture `name` (`testdata/c/<name>.c` → `<name>.so`).
pub fn path(name: &str) -> PathBuf {
    dir().join(format!("{name}.so"))
}

/// What glibc's `dlopen` does with the same steps, run by the reference harness
/// (`harness/dlref.c`) in a process of its own: one line of output per step (see its comment).
/// Panics if the harness cannot run a step.
pub fn glibc(steps: &[&str]) -> Vec<String> {
    glibc_with(std::process::Command::new(env!("DYNPLUG_DLREF")).args(steps))
}

/// [`glibc`] with these environment variables set for the harness.
pub fn glibc_env(env: &[(&str, &std::ffi::OsStr)], steps: &[&str]) -> Vec<String> {
    let mut c = std::process::Command::new(env!("DYNPLUG_DLREF"));
    c.envs(env.iter().copied()).args(steps);
    glibc_with(&mut c)
}

fn glibc_with(c: &mut std::process::Command) -> Vec<String> {
    let steps: Vec<_> = c
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let out = c.output().expect("run the dlref harness");
    assert!(
        out.status.success(),
        "dlref {steps:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A copy of fixture `name` at a new path (so an open of it is a first open, with its own
/// registry entry and initialisers).
pub fn fresh_copy(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("dynplug-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let to = dir.join(format!("{name}-{}.so", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::copy(path(name), &to).expect("copy fixture");
    to
}
