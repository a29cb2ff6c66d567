//! A plugin opened from memory, with `Loader::perf_map(true)` or `DYNPLUG_PERFMAP=1`, has its
//! functions in `/tmp/perf-PID.map` (perf's map for code outside file mappings), at their
//! run-time addresses with their sizes.
// SAFETY (this file): the plugins opened are fixtures built from testdata/c; symbols are only
// compared as addresses.
use std::process::Command;

use dynplug::Loader;
use dynplug_fixtures::path;

/// Each `START SIZE name` line of this process's map (empty if there is none).
fn map_lines() -> Vec<(u64, u64, String)> {
    let text = std::fs::read_to_string(format!("/tmp/perf-{}.map", std::process::id()))
        .unwrap_or_default();
    text.lines()
        .map(|l| {
            let mut f = l.splitn(3, ' ');
            let hex = |s: Option<&str>| u64::from_str_radix(s.unwrap(), 16).unwrap();
            (hex(f.next()), hex(f.next()), f.next().unwrap().to_string())
        })
        .collect()
}

/// Opens crash.so from bytes (as `name`) with the loader given; its `plugin_spin` address.
fn open_from_bytes(loader: Loader, name: &str) -> u64 {
    let bytes = std::fs::read(path("crash")).unwrap();
    let loader = loader.search_dir(dynplug_fixtures::dir());
    let p = unsafe { loader.open_bytes(name, &bytes) }.unwrap();
    unsafe { p.lookup("plugin_spin").unwrap().cast::<*const u8>() as u64 }
}

/// The symbol size the file gives `name` (from `nm -S`).
fn size_in_file(name: &str) -> u64 {
    let out = Command::new("nm")
        .arg("-S")
        .arg(path("crash"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.ends_with(&format!(" {name}")))
        .unwrap();
    u64::from_str_radix(line.split(' ').nth(1).unwrap(), 16).unwrap()
}

#[test]
fn perf_map_is_written_when_asked_and_only_then() {
    // One test: the map is per process, and both cases run here in order.
    let addr = open_from_bytes(Loader::new(), "not-asked");
    assert!(
        !map_lines().iter().any(|(start, _, _)| *start == addr),
        "written without being asked"
    );
    let addr = open_from_bytes(Loader::new().perf_map(true), "asked");
    let lines = map_lines();
    let spin = lines
        .iter()
        .find(|(start, _, _)| *start == addr)
        .unwrap_or_else(|| panic!("plugin_spin at {addr:#x} not in the map: {lines:?}"));
    assert_eq!(spin.2, "plugin_spin");
    assert_eq!(spin.1, size_in_file("plugin_spin"));
    assert!(lines.iter().any(|(_, _, n)| n == "crash_here"));
    assert!(lines.iter().all(|(_, size, _)| *size > 0));
    let _ = std::fs::remove_file(format!("/tmp/perf-{}.map", std::process::id()));
}

#[test]
fn dynplug_perfmap_1_in_the_environment_writes_the_map() {
    if std::env::var_os("DYNPLUG_PERFMAP").is_some() {
        // The child: open from bytes with a default loader and report where plugin_spin is.
        let addr = open_from_bytes(Loader::new(), "env");
        let found = map_lines()
            .iter()
            .any(|(s, _, n)| *s == addr && n == "plugin_spin");
        println!("FOUND {found}");
        let _ = std::fs::remove_file(format!("/tmp/perf-{}.map", std::process::id()));
        return;
    }
    let out = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "dynplug_perfmap_1_in_the_environment_writes_the_map",
            "--nocapture",
        ])
        .env("DYNPLUG_PERFMAP", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FOUND true"), "{stdout}");
}
