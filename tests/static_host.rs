//! A fully static host (crt-static: no PT_INTERP, no DT_NEEDED) opens plugins.
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use dynplug_fixtures::path;

/// Builds examples/static_host.rs with crt-static, once.
fn host() -> &'static PathBuf {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target_dir = root.join("target").join("static-host");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .current_dir(&root)
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .args([
                "build",
                "--example",
                "static_host",
                "--target",
                dynplug_fixtures::TARGET,
                "--target-dir",
            ])
            .arg(&target_dir)
            .status()
            .expect("run cargo");
        assert!(st.success(), "building the static host");
        target_dir
            .join(dynplug_fixtures::TARGET)
            .join("debug/examples/static_host")
    })
}

fn run(mode: &str, plugin: &str) -> String {
    let out = dynplug_fixtures::command(host())
        .arg(mode)
        .arg(path(plugin))
        .output()
        .expect("run static host");
    assert!(
        out.status.success(),
        "{mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn host_is_really_static() {
    let bytes = std::fs::read(host()).unwrap();
    let out = Command::new("readelf")
        .args(["-ldW"])
        .arg(host())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("INTERP"), "no PT_INTERP:\n{text}");
    assert!(!text.contains("(NEEDED)"), "no DT_NEEDED:\n{text}");
    assert!(bytes.starts_with(b"\x7fELF"));
}

#[test]
fn nostdlib_plugin_with_host_exports_only() {
    assert_eq!(run("exports", "nostdlib"), "result 50\n");
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "the riscv64 static host's malloc, fflush and strlen are local symbols (nm: t): nothing \
              global to bind the plugin's imports to"
)]
fn libc_imports_resolve_from_the_static_executable() {
    assert_eq!(run("libc", "static_user"), "static user 42\nresult 14\n");
}

#[test]
fn initial_exec_tls_in_a_static_host() {
    // Each thread's block starts at zero: 3 + 3 here, 4 in a new thread.
    assert_eq!(run("tls_ie", "tls_ie_zero"), "result 604\n");
}

#[test]
fn policy_violations_are_all_listed() {
    let out = run("policy", "static_user");
    assert!(out.starts_with("error "), "{out}");
    for name in ["malloc", "snprintf", "free", "fflush"] {
        assert!(out.contains(name), "{name} missing from: {out}");
    }
    assert!(
        !out.contains("strlen,") && !out.contains("host_add"),
        "allowed names are not listed: {out}"
    );
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "the riscv64 static host's malloc, fflush and strlen are local symbols (nm: t): nothing \
              global to bind the plugin's imports to"
)]
fn plugin_from_bytes_in_a_static_host() {
    assert_eq!(run("bytes", "static_user"), "static user 7\nresult 13\n");
}
