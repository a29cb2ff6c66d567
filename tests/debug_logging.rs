//! `DYNPLUG_DEBUG`: a child process opens libxml2 (which needs libraries the process lacks) and
//! its debug output is checked against what readelf and the system's `ldd` say of the file; a
//! host's own `log` logger receives the same records.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

const CHILD: &str = "DYNPLUG_DEBUG_TEST_CHILD";

fn libxml2() -> PathBuf {
    let p = Path::new(dynplug_fixtures::lib_dir()).join("libxml2.so.2");
    assert!(
        p.exists(),
        "{} is missing: install libxml2 (see .ci/run)",
        p.display()
    );
    p
}

/// Runs test `test` of this file in a child with `env`; its (stdout, stderr).
fn child(test: &str, env: &[(&str, &str)]) -> (String, String) {
    let mut c = dynplug_fixtures::command(std::env::current_exe().unwrap());
    c.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1");
    c.env_remove("DYNPLUG_DEBUG")
        .env_remove("DYNPLUG_DEBUG_OUTPUT");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "child {test}: {:?}\n{o}{e}",
        out.status
    );
    assert!(o.contains("1 passed"), "child {test} ran its test: {o}");
    (o, e)
}

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// The child's body: open libxml2 (its dependencies are loaded by dynplug).
#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 libxml2: its riscv64 packages are only the cross C library, libstdc++ and libgcc"
)]
fn open_libxml2() {
    if !in_child() {
        return;
    }
    let p = unsafe { dynplug::Plugin::open(libxml2()) }.expect("open libxml2");
    assert!(p.lookup("xmlCheckVersion").is_ok());
}

fn needed(file: &Path) -> Vec<String> {
    let out = Command::new("readelf")
        .args(["-dW"])
        .arg(file)
        .output()
        .expect("readelf");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .map(|l| {
            l.split('[')
                .nth(1)
                .unwrap()
                .trim_end_matches(']')
                .to_string()
        })
        .collect()
}

/// Where the system's loader finds each library libxml2 needs (`ldd`), canonical.
fn ldd(file: &Path) -> Vec<(String, PathBuf)> {
    let o = dynplug_fixtures::ldd(file).output().expect("ldd");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(" => ")?;
            let path = rest.split_whitespace().next()?;
            Some((name.to_string(), std::fs::canonicalize(path).ok()?))
        })
        .collect()
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 libxml2: its riscv64 packages are only the cross C library, libstdc++ and libgcc"
)]
fn files_shows_the_search_for_libxml2s_dependencies() {
    if in_child() {
        return;
    }
    let file = libxml2();
    let canonical = std::fs::canonicalize(&file).unwrap();
    let (_, log) = child("open_libxml2", &[("DYNPLUG_DEBUG", "files")]);
    // glibc's line shape: `PID:\tmessage`.
    for line in log.lines().filter(|l| l.contains("file=")) {
        let (pid, rest) = line.split_once(":\t").unwrap_or_else(|| panic!("{line}"));
        assert!(pid.trim().parse::<u32>().is_ok(), "{line}");
        assert!(!rest.is_empty());
    }
    let names = needed(&file);
    assert!(
        names.len() >= 3,
        "libxml2 needs several libraries: {names:?}"
    );
    for name in &names {
        let asked = format!("file={name} [0];  needed by {} [0]", canonical.display());
        assert!(log.contains(&asked), "{asked:?} in\n{log}");
    }
    // Every library the process lacks is searched for, and found where glibc finds it.
    let mut searched = 0;
    for (name, path) in ldd(&file) {
        let found = format!("file={name} [0];  found: {}", path.display());
        if log.contains(&format!("find library={name} [0]; searching")) {
            assert!(log.contains(&found), "{found:?} in\n{log}");
            assert!(log.contains("  trying file="), "{log}");
            searched += 1;
        } else {
            let satisfied = format!("file={name} [0];  satisfied by");
            assert!(log.contains(&satisfied), "{satisfied:?} in\n{log}");
        }
    }
    assert!(
        searched >= 2,
        "libz, liblzma, libicuuc are not in the test process: {log}"
    );
    // Only the category asked for.
    assert!(!log.contains("binding file"), "{log}");
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 libxml2: its riscv64 packages are only the cross C library, libstdc++ and libgcc"
)]
fn bindings_to_a_file_show_known_imports() {
    if in_child() {
        return;
    }
    let file = libxml2();
    let canonical = std::fs::canonicalize(&file).unwrap();
    let dir = dynplug_fixtures::scratch_dir().join("debug");
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("log");
    let (_, stderr) = child(
        "open_libxml2",
        &[
            ("DYNPLUG_DEBUG", "bindings"),
            ("DYNPLUG_DEBUG_OUTPUT", base.to_str().unwrap()),
        ],
    );
    assert!(
        !stderr.contains("binding file"),
        "written to the file, not stderr"
    );
    // PATH.PID, as glibc names it: the one file in the directory.
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    let pid = name.strip_prefix("log.").expect("log.PID");
    assert!(pid.parse::<u32>().is_ok(), "{name}");
    let log = std::fs::read_to_string(&files[0]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let libc =
        std::fs::canonicalize(Path::new(dynplug_fixtures::lib_dir()).join("libc.so.6")).unwrap();
    let lzma = ldd(&file)
        .into_iter()
        .find(|(n, _)| n == "liblzma.so.5")
        .expect("libxml2 needs liblzma")
        .1;
    let from = format!("binding file {} [0] to ", canonical.display());
    let bound = |sym: &str, to: &Path| {
        log.lines().any(|l| {
            l.contains(&from)
                && l.contains(&format!("normal symbol '{sym}'"))
                && l.split(" to ")
                    .nth(1)
                    .and_then(|t| t.split(" [0]").next())
                    .is_some_and(|t| std::fs::canonicalize(t).ok().as_deref() == Some(to))
        })
    };
    assert!(bound("malloc", &libc), "malloc bound to libc in\n{log}");
    assert!(
        bound("lzma_code", &lzma),
        "lzma_code bound to liblzma in\n{log}"
    );
    assert!(
        log.contains("normal symbol 'lzma_code' [XZ_5.0]"),
        "with its version"
    );
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 libxml2: its riscv64 packages are only the cross C library, libstdc++ and libgcc"
)]
fn off_nothing_is_written_and_help_lists_the_categories() {
    if in_child() {
        return;
    }
    let (_, log) = child("open_libxml2", &[]);
    assert!(!log.contains("file=") && !log.contains("binding"), "{log}");
    let (_, help) = child("open_libxml2", &[("DYNPLUG_DEBUG", "help")]);
    for cat in [
        "files",
        "bindings",
        "relocs",
        "init",
        "scope",
        "statistics",
        "all",
    ] {
        assert!(help.contains(&format!("  {cat} ")), "{cat} in {help}");
    }
    let (_, all) = child(
        "open_libxml2",
        &[("DYNPLUG_DEBUG", "relocs,init,scope,statistics")],
    );
    let canonical = std::fs::canonicalize(libxml2()).unwrap();
    let c = canonical.display();
    assert!(
        all.contains(&format!("relocation processing: {c}: ")),
        "{all}"
    );
    assert!(all.contains(&format!("calling init: {c} (")), "{all}");
    assert!(all.contains(&format!("object={c} [0]")), "{all}");
    assert!(all.contains(&format!("open of {c}: ")), "{all}");
}

/// Records a host's logger received: (target, message).
static RECORDS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

struct HostLogger;

impl log::Log for HostLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        RECORDS
            .lock()
            .unwrap()
            .push((r.target().to_string(), r.args().to_string()));
    }
    fn flush(&self) {}
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 libxml2: its riscv64 packages are only the cross C library, libstdc++ and libgcc"
)]
fn a_hosts_logger_receives_the_records() {
    if !in_child() {
        child("a_hosts_logger_receives_the_records", &[]);
        return;
    }
    log::set_logger(&HostLogger).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let p = unsafe { dynplug::Plugin::open(libxml2()) }.expect("open libxml2");
    assert!(p.lookup("xmlCheckVersion").is_ok());
    let records = RECORDS.lock().unwrap();
    let has =
        |target: &str, text: &str| records.iter().any(|(t, m)| t == target && m.contains(text));
    assert!(
        has("dynplug::files", "file=liblzma.so.5 [0];  needed by"),
        "{records:?}"
    );
    assert!(
        has("dynplug::bindings", "normal symbol 'lzma_code'"),
        "{records:?}"
    );
    assert!(
        has("dynplug::relocs", "relocation processing: "),
        "{records:?}"
    );
    assert!(has("dynplug::statistics", "open of "), "{records:?}");
}
