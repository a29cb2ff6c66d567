//! gdb sees the modules dynplug maps, with no user action: it names the function and line of a
//! crash in a plugin and unwinds to the host, resolves a breakpoint set before the open, and
//! names plugin addresses. Each test runs this test binary under `gdb -batch` as the host
//! (`host` below, which does nothing unless `DYNPLUG_GDB_HOST` says what to open).
// SAFETY (this file): the plugins opened are fixtures built from testdata/c; each symbol is cast
// to the type its source declares.
use std::path::PathBuf;
use std::process::Command;

use dynplug::{Loader, Plugin};
use dynplug_fixtures::path;

/// The host run under gdb: opens `crash.so` (from its file, or from bytes with `bytes`) and calls
/// what `DYNPLUG_GDB_HOST` names.
#[test]
fn host() {
    let Ok(what) = std::env::var("DYNPLUG_GDB_HOST") else {
        return; // run as a test: nothing to do (the tests below run it under gdb)
    };
    let plugin: &Plugin = if what.starts_with("bytes") {
        let bytes = std::fs::read(path("crash")).unwrap();
        let loader = Loader::new().search_dir(dynplug_fixtures::dir());
        unsafe { loader.open_bytes("crash-from-bytes", &bytes) }.unwrap()
    } else {
        unsafe { Plugin::open(path("crash")) }.unwrap()
    };
    let call = |name: &str| {
        let f = unsafe {
            plugin
                .lookup(name)
                .unwrap()
                .cast::<extern "C" fn(i32) -> i32>()
        };
        println!("{name} -> {}", f(5));
    };
    if what == "attach-later" {
        // Opened before gdb attaches; gdb is told at the next open, once it listens.
        let go = PathBuf::from(std::env::var("DYNPLUG_GDB_GO").unwrap());
        println!("READY");
        while !go.exists() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        unsafe { Plugin::open(path("bt_symbols")) }.unwrap();
        call("crash");
    } else if what.ends_with("crash") {
        call("crash");
    } else if what.ends_with("spin") {
        // For perf (see the report of issue 13): a plugin function busy for a while.
        let spin = unsafe {
            plugin
                .lookup("plugin_spin")
                .unwrap()
                .cast::<extern "C" fn(i64) -> i64>()
        };
        println!("plugin_spin -> {}", spin(300_000_000));
    } else {
        call("plugin_fn");
        // SAFETY: raise(SIGTRAP) stops the process under gdb.
        unsafe { libc::raise(libc::SIGTRAP) };
    }
}

/// Runs `host` under `gdb -batch` with `commands`; gdb's output. Fails loudly without gdb.
fn gdb(mode: &str, commands: &[&str]) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("gdb");
    cmd.args(["-nx", "-batch", "-ex", "set pagination off"]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    cmd.arg("--args")
        .arg(&exe)
        .args(["--exact", "host", "--nocapture", "--test-threads=1"])
        .env("DYNPLUG_GDB_HOST", mode);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("gdb is needed for this test (apt-get install gdb): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    text
}

/// The line of `crash.c` that faults.
fn faulting_line() -> usize {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/c/crash.c");
    let text = std::fs::read_to_string(src).unwrap();
    1 + text
        .lines()
        .position(|l| l.contains("the faulting line"))
        .unwrap()
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "cross-testing runs the test under qemu-user, which the host's gdb cannot attach \
              to or start (and dynplug's gdb JIT interface is x86_64's only)"
)]
fn crash_backtrace_names_function_and_line_and_unwinds_to_the_host() {
    let out = gdb("crash", &["run", "bt"]);
    let line = faulting_line();
    assert!(
        out.contains(&format!("crash_here (p=0x0) at c/crash.c:{line}")),
        "the faulting frame is not named with its line"
    );
    assert!(out.contains("in crash () at c/crash.c:"), "no caller frame");
    assert!(
        out.contains("in gdb::host") && out.contains("at tests/gdb.rs:"),
        "no host frame below the plugin's"
    );
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "cross-testing runs the test under qemu-user, which the host's gdb cannot attach \
              to or start (and dynplug's gdb JIT interface is x86_64's only)"
)]
fn pending_breakpoints_in_a_plugin_and_its_dependency_are_hit() {
    let out = gdb(
        "break",
        &[
            "set breakpoint pending on",
            "break plugin_fn",
            "break crash_dep_value",
            "run",
            "continue",
        ],
    );
    assert!(out.contains("Breakpoint 1 (plugin_fn) pending."));
    assert!(
        out.contains("hit Breakpoint 1, plugin_fn (x=5) at c/crash.c:"),
        "the breakpoint on the plugin's function was not hit"
    );
    assert!(
        out.contains("hit Breakpoint 2, crash_dep_value (x=5) at c/a_crash_dep.c:"),
        "the breakpoint on the dependency's function was not hit"
    );
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "cross-testing runs the test under qemu-user, which the host's gdb cannot attach \
              to or start (and dynplug's gdb JIT interface is x86_64's only)"
)]
fn info_symbol_names_plugin_and_dependency_addresses() {
    let out = gdb(
        "break",
        &[
            "run",
            "info symbol plugin_fn+3",
            "info symbol crash_dep_value",
        ],
    );
    assert!(
        out.contains("plugin_fn + 3 in section .text"),
        "plugin address not named"
    );
    assert!(
        out.contains("crash_dep_value in section .text"),
        "dependency address not named"
    );
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "cross-testing runs the test under qemu-user, which the host's gdb cannot attach \
              to or start (and dynplug's gdb JIT interface is x86_64's only)"
)]
fn a_plugin_from_bytes_is_seen_by_name() {
    let out = gdb("bytes-crash", &["run", "bt", "info symbol $pc"]);
    assert!(
        out.contains("in crash_here ()"),
        "the faulting frame is not named"
    );
    assert!(out.contains("in crash ()"), "no caller frame");
    assert!(
        out.contains("in gdb::host"),
        "no host frame below the plugin's"
    );
    assert!(
        out.contains("crash_here + "),
        "the faulting address is not named"
    );
}

/// gdb's JIT descriptor (the interface's layout), defined by dynplug's loader.
#[cfg(target_arch = "x86_64")]
#[repr(C)]
struct JitDescriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *const u8,
    first_entry: *const u8,
}

#[cfg(target_arch = "x86_64")]
extern "C" {
    static __jit_debug_descriptor: JitDescriptor;
}

/// dynplug defines the descriptor on x86_64 only (loader/src/debugger.rs): elsewhere the tests
/// that read it fail, saying so.
#[cfg(not(target_arch = "x86_64"))]
fn announced() -> bool {
    panic!("gdb's JIT interface is implemented on x86_64 only (loader/src/debugger.rs)")
}

#[cfg(target_arch = "x86_64")]
fn announced() -> bool {
    // SAFETY: dynplug writes the descriptor only while it holds its lock and this thread reads a
    // pointer-sized field (only its nullness matters here).
    !unsafe { std::ptr::addr_of!(__jit_debug_descriptor.first_entry).read_volatile() }.is_null()
}

/// Without a debugger, opening builds nothing for one (no cost); `DYNPLUG_DEBUGGER=1` asks for
/// every module to be announced as it opens (for core files or a debugger attached later).
#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "cross-testing runs the test under qemu-user, which the host's gdb cannot attach \
              to or start (and dynplug's gdb JIT interface is x86_64's only)"
)]
fn modules_are_announced_to_a_listening_debugger_or_when_asked() {
    if std::env::var_os("DYNPLUG_DEBUGGER").is_some() {
        unsafe { Plugin::open(path("crash")) }.unwrap();
        println!("ANNOUNCED {}", announced());
        return;
    }
    unsafe { Plugin::open(path("crash")) }.unwrap();
    assert!(!announced(), "announced with no debugger listening");
    let out = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "modules_are_announced_to_a_listening_debugger_or_when_asked",
        ])
        .args(["--nocapture"])
        .env("DYNPLUG_DEBUGGER", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ANNOUNCED true"), "{stdout}");
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "cross-testing runs the test under qemu-user, which the host's gdb cannot attach \
              to or start (and dynplug's gdb JIT interface is x86_64's only)"
)]
fn a_debugger_attached_later_sees_earlier_modules_at_the_next_open() {
    use std::io::{BufRead, BufReader};
    let go = dynplug_fixtures::scratch_dir().join("gdb-go");
    let _ = std::fs::remove_file(&go);
    let mut host = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .args(["--exact", "host", "--nocapture", "--test-threads=1"])
        .env("DYNPLUG_GDB_HOST", "attach-later")
        .env("DYNPLUG_GDB_GO", &go)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(host.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("READY")));
    let pid = host.id().to_string();
    let touch = format!("shell touch {}", go.display());
    let out = Command::new("gdb")
        .args(["-nx", "-batch", "-ex", "set pagination off", "-p", &pid])
        .args(["-ex", &touch, "-ex", "continue", "-ex", "bt", "-ex", "kill"])
        .output()
        .unwrap_or_else(|e| panic!("gdb is needed for this test (apt-get install gdb): {e}"));
    let _ = host.kill();
    let _ = host.wait();
    let _ = std::fs::remove_file(&go);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    println!("{text}");
    let line = faulting_line();
    assert!(
        text.contains(&format!("crash_here (p=0x0) at c/crash.c:{line}")),
        "the module opened before gdb attached is not named"
    );
}

/// Runs `host` under `lldb --batch` with `commands`; lldb's output. Fails loudly without lldb.
fn lldb(mode: &str, commands: &[&str]) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("lldb");
    cmd.args(["--no-lldbinit", "--batch"]);
    for c in commands {
        cmd.args(["-o", c]);
    }
    cmd.arg("--")
        .arg(&exe)
        .args(["--exact", "host", "--nocapture", "--test-threads=1"])
        .env("DYNPLUG_GDB_HOST", mode);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("lldb is needed for this test (apt-get install lldb): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    text
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "cross-testing runs the test under qemu-user, which the host's lldb cannot attach \
              to or start"
)]
fn lldb_names_plugin_frames_and_resolves_a_pending_breakpoint() {
    // lldb reads the same JIT descriptor (its JITLoaderGDB plugin, on by default on Linux): the
    // stub's symbols name the frames (no lines: lldb 14 does not follow the stub's debuglink).
    let out = lldb("crash", &["run", "bt 3"]);
    assert!(
        out.contains("`crash_here + "),
        "the faulting frame is not named"
    );
    assert!(out.contains("`crash + "), "no caller frame");
    assert!(
        out.contains("gdb::host"),
        "no host frame below the plugin's"
    );
    let out = lldb("break", &["breakpoint set -n plugin_fn", "run", "bt 2"]);
    assert!(
        out.contains("stop reason = breakpoint 1.1"),
        "the pending breakpoint was not hit"
    );
    assert!(
        out.contains("`plugin_fn\n"),
        "the breakpoint's frame is not the plugin's function"
    );
}
