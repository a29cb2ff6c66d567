//! Fixtures for dynplug's tests and example: shared objects compiled by `build.rs` from the
//! sources in `testdata/c`, [`edit`] to derive malformed or unusual objects from them, and
//! [`inspect`] to check what a fixture carries, and [`oracle`] for what glibc's ld.so made of one.
#![warn(missing_docs)]

pub mod edit;
pub mod inspect;
pub mod oracle;

use std::path::PathBuf;

/// The directory holding every process's scratch directory, under the build directory.
fn scratch_root() -> PathBuf {
    PathBuf::from(env!("DYNPLUG_COPIES_DIR"))
}

/// This process's scratch directory (named by its process id) under the build directory, never
/// /tmp: removed when the process exits normally; those of processes that ended otherwise
/// (killed, `_exit`) are removed when the next process makes its own.
pub fn scratch_dir() -> PathBuf {
    use std::sync::OnceLock;
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = scratch_root();
        let ended = |pid: &str| !std::path::Path::new("/proc").join(pid).exists();
        for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.parse::<u32>().is_ok() && ended(&name) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let dir = root.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        extern "C" {
            fn atexit(f: extern "C" fn()) -> std::ffi::c_int;
        }
        // SAFETY: registers a function of the type atexit takes.
        unsafe { atexit(remove_scratch_dir) };
        dir
    })
    .clone()
}

/// At exit: removes the directory of the exiting process (a forked child that exits has none).
extern "C" fn remove_scratch_dir() {
    let _ = std::fs::remove_dir_all(scratch_root().join(std::process::id().to_string()));
}

/// Directory holding the compiled fixtures (`<name>.so`).
pub fn dir() -> PathBuf {
    PathBuf::from(env!("DYNPLUG_FIXTURES_DIR"))
}

/// The Mach-O fixtures for `arch` ("x86_64" or "arm64"), built from `testdata/macho/` for
/// every Linux target: `libmacho_dep.dylib` and `macho_plugin_{chained,opcodes}.{dylib,bundle}`.
pub fn macho_dir(arch: &str) -> PathBuf {
    dir().join("macho").join(arch)
}

/// Path of the compiled fixture `name` (`testdata/c/<name>.c` → `<name>.so`).
pub fn path(name: &str) -> PathBuf {
    dir().join(format!("{name}.so"))
}

/// A command that runs `program`, a program of the target: natively as itself, when
/// cross-testing through the target's runner (qemu-user, as `.cargo/config.toml` names it; no
/// binfmt_misc is needed). Every test that spawns a program of the target uses it.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut runner = env!("DYNPLUG_RUNNER").split('\t').filter(|w| !w.is_empty());
    match runner.next() {
        None => std::process::Command::new(program),
        Some(emulator) => {
            let mut c = std::process::Command::new(emulator);
            c.args(runner).arg(program);
            c
        }
    }
}

/// The host's file for `path` as a program of the target sees it: under qemu-user, whose `-L
/// <prefix>` shows `<prefix>/<path>` at `path` where it exists (riscv64's `/lib/libc.so.6` is
/// `/usr/riscv64-linux-gnu/lib/libc.so.6`); natively `path` itself. For host tools (readelf)
/// reading a file the target reported.
pub fn host_path(path: &std::path::Path) -> PathBuf {
    let runner: Vec<&str> = env!("DYNPLUG_RUNNER").split('\t').collect();
    let prefix = runner
        .windows(2)
        .find(|w| w[0] == "-L")
        .map(|w| std::path::Path::new(w[1]));
    match (prefix, path.strip_prefix("/")) {
        (Some(prefix), Ok(relative)) if prefix.join(relative).exists() => prefix.join(relative),
        _ => path.to_path_buf(),
    }
}

/// `ldd file` of the target: the system's `ldd` natively; when cross-testing, the target's
/// `ld.so --list` through its runner (the host's `ldd` cannot run a foreign object's loader).
pub fn ldd(file: &std::path::Path) -> std::process::Command {
    let program = if cfg!(target_arch = "aarch64") {
        "/lib/ld-linux-aarch64.so.1"
    } else if cfg!(target_arch = "riscv64") {
        "/lib/ld-linux-riscv64-lp64d.so.1"
    } else {
        "ldd"
    };
    let mut c = command(program);
    if emulated() {
        c.arg("--list");
    }
    c.arg(file);
    c
}

/// The target's C compiler (`cc` natively, else `<arch>-linux-gnu-gcc`), for a test's own C
/// program.
pub const CC: &str = env!("DYNPLUG_CC");

/// The target triple the tests are built for (what a test's own nested cargo build targets).
pub const TARGET: &str = env!("DYNPLUG_TARGET");

/// Whether the tests run emulated (cross-testing under the target's runner).
pub fn emulated() -> bool {
    !env!("DYNPLUG_RUNNER").is_empty()
}

/// The directory of the target's libraries: Debian's multiarch `libdir`; riscv64's cross C
/// library, libstdc++ and libgcc (Debian 12 has no riscv64 multiarch packages), which its
/// runner also shows as `/lib`.
pub fn lib_dir() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "/usr/lib/aarch64-linux-gnu"
    } else if cfg!(target_arch = "riscv64") {
        "/usr/riscv64-linux-gnu/lib"
    } else {
        "/usr/lib/x86_64-linux-gnu"
    }
}

/// Whether DT_INIT and DT_FINI run (glibc's `ELF_INITFINI`, which dynplug follows): not on
/// riscv64, whose glibc runs only DT_INIT_ARRAY and DT_FINI_ARRAY.
pub const DT_INIT_RUNS: bool = !cfg!(target_arch = "riscv64");

/// The order `c/init.c`'s initialisers note themselves in: its DT_INIT ('I') where DT_INIT
/// runs, then its DT_INIT_ARRAY ('a', 'b', 'c').
pub const INIT_ORDER: &str = if DT_INIT_RUNS { "Iabc" } else { "abc" };

/// glibc's oldest symbol version on the target (the version of most of libc's functions):
/// `GLIBC_2.2.5` on x86_64, `GLIBC_2.17` on aarch64, `GLIBC_2.27` on riscv64.
pub const GLIBC_BASE: &str = if cfg!(target_arch = "aarch64") {
    "GLIBC_2.17"
} else if cfg!(target_arch = "riscv64") {
    "GLIBC_2.27"
} else {
    "GLIBC_2.2.5"
};

/// What glibc's `dlopen` does with the same steps, run by the reference harness
/// (`harness/dlref.c`) in a process of its own: one line of output per step (see its comment).
/// Panics if the harness cannot run a step.
pub fn glibc(steps: &[&str]) -> Vec<String> {
    glibc_with(command(env!("DYNPLUG_DLREF")).args(steps))
}

/// [`glibc`] with these environment variables set for the harness.
pub fn glibc_env(env: &[(&str, &std::ffi::OsStr)], steps: &[&str]) -> Vec<String> {
    let mut c = command(env!("DYNPLUG_DLREF"));
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

/// Path of fixture `name` built for `arch` ("aarch64", "riscv64") by its `// cross:` directive
/// (on an x86_64 build, with Debian's cross compilers).
pub fn cross_path(arch: &str, name: &str) -> PathBuf {
    dir().join(arch).join(format!("{name}.so"))
}

/// A copy of fixture `name` at a new path (so an open of it is a first open, with its own
/// registry entry and initialisers), in [`scratch_dir`].
pub fn fresh_copy(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let to = scratch_dir().join(format!("{name}-{}.so", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::copy(path(name), &to).expect("copy fixture");
    to
}
