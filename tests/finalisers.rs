//! Finalisers run at exit as glibc's `_dl_fini` runs them: after the atexit handlers plugins
//! registered, DT_FINI_ARRAY from its last entry then DT_FINI, a plugin before the library it
//! needs; a plugin whose open failed is not finalised. Each case runs in a child process (this
//! test binary again, asked to open the plugins and exit), once with dynplug and once with the
//! system's dlopen (the reference): the lines the finalisers write must be the same.
// SAFETY (this file): the plugins are fixtures built from testdata/; the system's dlopen is
// used only as the reference, in a child process.
use std::ffi::CString;
use std::path::Path;

use dynplug::Plugin;
use dynplug_fixtures::path;

const MODE: &str = "DYNPLUG_FINI_MODE";
const OUT: &str = "DYNPLUG_FINI_OUT";

/// In a child run by `finalisers_run_as_glibc_runs_them`: opens the plugins (by dynplug or by
/// the system's dlopen) and returns, so the process exits normally. Otherwise does nothing.
#[test]
fn child_opens_the_plugins_and_exits() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    for name in ["fini_plugin", "fini_unopened"] {
        let p = path(name);
        if mode == "dynplug" {
            let _ = unsafe { Plugin::open(&p) };
        } else {
            let c = CString::new(p.to_str().unwrap()).unwrap();
            unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        }
    }
}

/// The lines written by the plugins' initialisers and finalisers in a child using `mode`.
fn lines(mode: &str, dir: &Path) -> Vec<String> {
    let out = dir.join(format!("fini-{mode}.txt"));
    let _ = std::fs::remove_file(&out);
    let st = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_opens_the_plugins_and_exits",
            "--test-threads=1",
        ])
        .env(MODE, mode)
        .env(OUT, &out)
        .status()
        .unwrap();
    assert!(st.success(), "{mode} child: {st}");
    std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn finalisers_run_as_glibc_runs_them() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let glibc = lines("glibc", dir);
    let ours = lines("dynplug", dir);
    assert_eq!(
        glibc.iter().any(|l| l == "plugin DT_FINI"),
        dynplug_fixtures::DT_INIT_RUNS,
        "the reference ran DT_FINI where glibc runs it: {glibc:?}"
    );
    assert_eq!(ours, glibc, "dynplug (left) and glibc (right)");
}
