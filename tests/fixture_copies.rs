//! The copies of fixtures tests make (`fresh_copy`) live under the build directory, not in
//! /tmp, and go with the process that made them: a test run leaves nothing behind.

use dynplug_fixtures::fresh_copy;

const CHILD: &str = "DYNPLUG_COPY_CHILD";

/// In the child run below: makes a copy and prints its path. Otherwise does nothing.
#[test]
fn child_makes_a_copy() {
    if std::env::var_os(CHILD).is_some() {
        println!("COPY {}", fresh_copy("hello").display());
    }
}

#[test]
fn copies_are_under_the_build_directory_and_removed_at_exit() {
    let out = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_makes_a_copy",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let copy = stdout
        .lines()
        .find_map(|l| l.split_once("COPY ").map(|(_, p)| p))
        .unwrap_or_else(|| panic!("no copy made: {stdout}"));
    let copy = std::path::Path::new(copy);
    assert!(
        copy.starts_with(env!("CARGO_TARGET_TMPDIR").rsplit_once('/').unwrap().0),
        "{} is not under the build directory",
        copy.display()
    );
    assert!(!copy.exists(), "{} outlived its process", copy.display());
    assert!(
        !copy.parent().unwrap().exists(),
        "{} outlived its process",
        copy.parent().unwrap().display()
    );
}
