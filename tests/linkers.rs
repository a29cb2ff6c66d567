//! The same plugin linked by every linker a user may have (GNU ld, gold, mold, LLD 14 and LLD
//! 19), with and without `-z separate-code`, opens and runs, its RELRO read-only. LLD pads
//! PT_GNU_RELRO's memsz to the end of its page, past the end of the PT_LOAD: glibc protects RELRO
//! in whole pages and loads these; so must dynplug.
//!
//! Every linker must be installed (`.ci/run` installs them): a missing one fails the test.
// SAFETY (this file): the plugins are testdata/c/linkers/linked.c linked here; every symbol is
// cast to the type its source declares.
use std::path::{Path, PathBuf};
use std::process::Command;

use dynplug::Plugin;

/// (label, compiler, linker flags, the marker the linker leaves in the file, Debian package).
type Linker = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
);

#[cfg(target_arch = "x86_64")]
const LINKERS: &[Linker] = &[
    ("bfd", "gcc", &["-fuse-ld=bfd"], "", "binutils"),
    ("gold", "gcc", &["-fuse-ld=gold"], "gold 1.", "binutils"),
    ("mold", "gcc", &["-fuse-ld=mold"], "mold ", "mold"),
    ("lld14-gcc", "gcc", &["-fuse-ld=lld"], "LLD 14.", "lld"),
    (
        "lld14-clang",
        "clang",
        &["-fuse-ld=lld"],
        "LLD 14.",
        "clang lld",
    ),
    (
        "lld19",
        "gcc",
        &["-fuse-ld=lld", "-B/usr/lib/llvm-19/bin"],
        "LLD 19.",
        "lld-19",
    ),
];

/// Cross-testing: the target's gcc with each linker, and clang for the target. The cross gcc
/// looks for `ld.<name>` only in its own directories: `-B` names where mold's `ld` and each
/// LLD's `ld.lld` are.
#[cfg(not(target_arch = "x86_64"))]
const LINKERS: &[Linker] = &[
    (
        "bfd",
        dynplug_fixtures::CC,
        &["-fuse-ld=bfd"],
        "",
        "binutils",
    ),
    #[cfg(target_arch = "aarch64")] // gold has no riscv64 target
    (
        "gold",
        dynplug_fixtures::CC,
        &["-fuse-ld=gold"],
        "gold 1.",
        "binutils",
    ),
    (
        "mold",
        dynplug_fixtures::CC,
        &["-B/usr/libexec/mold"],
        "mold ",
        "mold",
    ),
    (
        "lld14-gcc",
        dynplug_fixtures::CC,
        &["-fuse-ld=lld", "-B/usr/lib/llvm-14/bin"],
        "LLD 14.",
        "lld",
    ),
    (
        "lld14-clang",
        "clang",
        &[CLANG_TARGET, "-fuse-ld=lld"],
        "LLD 14.",
        "clang lld",
    ),
    (
        "lld19",
        dynplug_fixtures::CC,
        &["-fuse-ld=lld", "-B/usr/lib/llvm-19/bin"],
        "LLD 19.",
        "lld-19",
    ),
];

/// clang's flag for the target.
#[cfg(not(target_arch = "x86_64"))]
const CLANG_TARGET: &str = if cfg!(target_arch = "aarch64") {
    "--target=aarch64-linux-gnu"
} else {
    "--target=riscv64-linux-gnu"
};

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/c/linkers/linked.c")
}

/// Links the plugin with `linker`, `separate` code or not; panics naming what to install.
fn link(dir: &Path, linker: &Linker, separate: bool) -> PathBuf {
    let (label, cc, flags, marker, package) = *linker;
    let z = if separate {
        "separate-code"
    } else {
        "noseparate-code"
    };
    // gold has no `-z separate-code`: its `--rosegment` puts read-only data in a segment of its
    // own, away from the code; without it, code and read-only data share one segment.
    let layout = match (label, separate) {
        ("gold", true) => "-Wl,--rosegment".to_string(),
        ("gold", false) => "-Wl,--no-rosegment".to_string(),
        _ => format!("-Wl,-z,{z}"),
    };
    let out = dir.join(format!("linked-{label}-{z}.so"));
    let status = Command::new(cc)
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&out)
        .arg(source())
        .args(flags)
        .arg(layout)
        .status();
    let ok = status.as_ref().is_ok_and(|s| s.success());
    assert!(
        ok,
        "{label}: `{cc} {}` failed ({status:?}): install {package}",
        flags.join(" ")
    );
    let bytes = std::fs::read(&out).unwrap();
    let has = |m: &str| bytes.windows(m.len()).any(|w| w == m.as_bytes());
    let linked_by_other = ["gold 1.", "mold ", "LLD "].iter().any(|m| has(m));
    assert!(
        if marker.is_empty() {
            !linked_by_other
        } else {
            has(marker)
        },
        "{label}: the file was not linked by the linker asked for (install {package})"
    );
    out
}

/// The permissions `/proc/self/maps` gives the page holding `addr`.
fn permissions(addr: usize) -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (range, perms) = (f.next().unwrap(), f.next().unwrap());
        let (lo, hi) = range.split_once('-').unwrap();
        let lo = usize::from_str_radix(lo, 16).unwrap();
        let hi = usize::from_str_radix(hi, 16).unwrap();
        if (lo..hi).contains(&addr) {
            return perms.to_string();
        }
    }
    panic!("{addr:#x} is not mapped")
}

#[test]
fn every_linker_s_output_opens_and_runs() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("linkers");
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    for linker in LINKERS {
        for separate in [true, false] {
            let so = link(&dir, linker, separate);
            let p = match unsafe { Plugin::open(&so) } {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{}: {e}", so.display()));
                    continue;
                }
            };
            let value: extern "C" fn(i32) -> i32 =
                unsafe { p.lookup("linked_value").unwrap().cast() };
            assert_eq!(value(2), 44, "{}", so.display());
            let names = p.lookup("linked_names").unwrap().addr() as usize;
            assert_eq!(permissions(names), "r--p", "RELRO of {}", so.display());
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
