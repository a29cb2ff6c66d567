//! Compiles the fixtures in `c/` into `$OUT_DIR/fixtures/`: `<name>.c` and `<name>.S` (assembly,
//! through the C preprocessor) with `cc`, `<name>.cpp` with `c++`, each as `-shared -fPIC -O1 -g
//! -fasynchronous-unwind-tables` plus the flags on its first line (`// build: <flags>`, where
//! `$OUT` is the output directory, `$SRC` this directory and `$ARCH` the target's architecture).
//! Sources build in name order, so a library another fixture links against sorts first.
//! `// out: <dir>` puts the result in a subdirectory.
//!
//! Fixtures are built for the target: when cross-compiling (`--target aarch64-unknown-linux-gnu`)
//! with Debian's cross compilers `<arch>-linux-gnu-gcc`/`-g++`. `// arch: <arch>...` limits a
//! fixture to those target architectures (machine code or symbol versions of one machine); one
//! skipped for the target is named in a build warning, and a test that needs it fails saying the
//! file is missing. `// cross: <arch>...` also builds it, on an x86_64 build, with those
//! architectures' cross compilers into `$OUT/fixtures/<arch>/` (the offline relocation oracle
//! runs them under qemu-user). The Mach-O fixtures (`macho/`, `macho_build.rs`) are built for
//! every Linux target (clang and rust-lld are host tools), into `$OUT/fixtures/macho/<arch>/`.
use std::path::{Path, PathBuf};
use std::process::Command;

mod macho_build;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("fixtures");
    // Start empty: a fixture whose source was removed or renamed must not linger (tests that
    // open every fixture in the directory would still find it).
    if out.exists() {
        std::fs::remove_dir_all(&out).expect("clear fixtures dir");
    }
    std::fs::create_dir_all(&out).expect("create fixtures dir");
    println!("cargo:rustc-env=DYNPLUG_FIXTURES_DIR={}", out.display());
    // Where tests copy fixtures (`fresh_copy`): under the build directory, never /tmp.
    let copies = out.with_file_name("copies");
    println!("cargo:rustc-env=DYNPLUG_COPIES_DIR={}", copies.display());
    println!("cargo:rerun-if-changed=c");
    if let Some(os) = foreign_os() {
        // The fixtures are Linux objects built by this machine's compilers for a Linux target:
        // for another OS the crate is only checked (`cargo check --target x86_64-unknown-freebsd`),
        // so the variables are set and the directory stays empty.
        println!("cargo:warning=not building fixtures: the target OS is {os}, not linux");
        for key in ["RUNNER", "CC", "DLREF"] {
            println!("cargo:rustc-env=DYNPLUG_{key}=");
        }
        let triple = std::env::var("TARGET").expect("TARGET is set by cargo");
        println!("cargo:rustc-env=DYNPLUG_TARGET={triple}");
        return;
    }
    let mut sources: Vec<PathBuf> = std::fs::read_dir("c")
        .expect("read testdata/c")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("c" | "S" | "cpp")
            )
        })
        .collect();
    sources.sort();
    let target = Target::from_env();
    for src in &sources {
        build(src, &out, &target);
    }
    if target.arch == "x86_64" {
        for arch in ["aarch64", "riscv64"] {
            build_cross(&sources, &out.join(arch), &Target::cross(arch));
        }
    }
    // clang and rust-lld are host tools: every Linux target's tests get both architectures'.
    macho_build::build(&out.join("macho"));
    build_oracle(&out, &target);
    reference_harness(&out, &target);
    println!("cargo:rustc-env=DYNPLUG_RUNNER={}", target.runner());
    println!("cargo:rustc-env=DYNPLUG_CC={}", target.cc);
    let triple = std::env::var("TARGET").expect("TARGET is set by cargo");
    println!("cargo:rustc-env=DYNPLUG_TARGET={triple}");
}

/// The target's OS when it is not Linux (fixtures are built only for Linux targets).
fn foreign_os() -> Option<String> {
    let os = std::env::var("CARGO_CFG_TARGET_OS").expect("CARGO_CFG_TARGET_OS is set by cargo");
    (os != "linux").then_some(os)
}

/// `oracle/harness.c` → `$OUT/oracle_harness`, a program (see `dynplug_fixtures::oracle`);
/// also `oracle_harness-aarch64` and `-riscv64` for the machines other than the target's, for the
/// foreign fixtures, where their cross compiler is installed.
fn build_oracle(out: &Path, target: &Target) {
    println!("cargo:rerun-if-changed=oracle");
    let mut builds = vec![(target.cc.clone(), out.join("oracle_harness"))];
    for arch in ["aarch64", "riscv64"]
        .into_iter()
        .filter(|&a| a != target.arch)
    {
        let cc = format!("{arch}-linux-gnu-gcc");
        if Command::new(&cc).arg("--version").output().is_err() {
            println!("cargo:warning=skipping oracle_harness-{arch}: {cc} is not installed");
            continue;
        }
        builds.push((cc, out.join(format!("oracle_harness-{arch}"))));
    }
    for (cc, exe) in builds {
        let st = Command::new(&cc)
            .args(["-O1", "-g", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&exe)
            .arg("oracle/harness.c")
            .arg("-ldl")
            .status()
            .unwrap_or_else(|e| panic!("running {cc}: {e}"));
        assert!(st.success(), "compiling oracle/harness.c with {cc}");
    }
}

/// Compiles `harness/dlref.c`, the program that runs the same steps with glibc's dlopen (the
/// reference tests compare dynplug against), next to the fixtures directory.
fn reference_harness(out: &Path, target: &Target) {
    println!("cargo:rerun-if-changed=harness");
    let exe = out.with_file_name("dlref");
    let st = Command::new(&target.cc)
        .args(["-O1", "-o"])
        .arg(&exe)
        .arg("harness/dlref.c")
        .status()
        .unwrap_or_else(|e| panic!("running {}: {e}", target.cc));
    assert!(st.success(), "compiling harness/dlref.c");
    println!("cargo:rustc-env=DYNPLUG_DLREF={}", exe.display());
}

/// The fixtures of `sources` whose `// cross:` names `target`'s architecture, into `out`.
fn build_cross(sources: &[PathBuf], out: &Path, target: &Target) {
    for src in sources {
        let text = std::fs::read_to_string(src).expect("read fixture");
        let wanted = text.lines().take(3).any(|l| {
            l.strip_prefix("// cross:")
                .is_some_and(|a| a.split_whitespace().any(|a| a == target.arch))
        });
        if !wanted {
            continue;
        }
        if Command::new(&target.cc).arg("--version").output().is_err() {
            println!(
                "cargo:warning=skipping {} for {}: {} is not installed",
                src.display(),
                target.arch,
                target.cc
            );
            continue;
        }
        std::fs::create_dir_all(out).expect("create cross fixtures dir");
        build(src, out, target);
    }
}

/// The architecture fixtures are built for, and its compilers.
struct Target {
    /// `CARGO_CFG_TARGET_ARCH`: "x86_64", "aarch64", "riscv64".
    arch: String,
    /// The C compiler ("cc" natively, else `<arch>-linux-gnu-gcc`).
    cc: String,
    /// The C++ compiler ("c++" natively, else `<arch>-linux-gnu-g++`).
    cxx: String,
}

impl Target {
    fn from_env() -> Target {
        let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is set by cargo"));
        let arch = var("CARGO_CFG_TARGET_ARCH");
        let (cc, cxx) = if var("TARGET") == var("HOST") {
            ("cc".to_string(), "c++".to_string())
        } else {
            (
                format!("{arch}-linux-gnu-gcc"),
                format!("{arch}-linux-gnu-g++"),
            )
        };
        Target { arch, cc, cxx }
    }

    /// Debian's cross compilers for `arch`.
    fn cross(arch: &str) -> Target {
        Target {
            arch: arch.to_string(),
            cc: format!("{arch}-linux-gnu-gcc"),
            cxx: format!("{arch}-linux-gnu-g++"),
        }
    }

    /// How a program of the target is run (tab-separated words, empty natively): the runner
    /// `.cargo/config.toml` names, overridden by `CARGO_TARGET_<TRIPLE>_RUNNER` (space-separated)
    /// as for cargo itself. Tests spawn their children through it (`dynplug_fixtures::command`):
    /// without binfmt_misc a foreign program cannot be exec'd directly.
    fn runner(&self) -> String {
        let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is set by cargo"));
        let triple = var("TARGET");
        if triple == var("HOST") {
            return String::new();
        }
        let key = format!(
            "CARGO_TARGET_{}_RUNNER",
            triple.to_uppercase().replace('-', "_")
        );
        println!("cargo:rerun-if-env-changed={key}");
        if let Ok(r) = std::env::var(&key) {
            return r.split_whitespace().collect::<Vec<_>>().join("\t");
        }
        match self.arch.as_str() {
            "aarch64" => "qemu-aarch64\t-L\t/".into(),
            "riscv64" => "qemu-riscv64\t-L\t/usr/riscv64-linux-gnu".into(),
            a => panic!("no runner known for {a}: set {key}"),
        }
    }

    /// `flags` as this target's compiler spells them, or why the fixture cannot be built here.
    fn flags(&self, flags: String) -> Result<String, String> {
        // The traditional dialect (`__tls_get_addr`), x86_64's default: aarch64's default is
        // descriptors, riscv64's gcc has only the traditional one (and no such flag).
        let traditional = match self.arch.as_str() {
            "aarch64" => "-mtls-dialect=trad",
            "riscv64" => "",
            _ => "-mtls-dialect=gnu",
        };
        let flags = flags
            .split(' ')
            .map(|f| {
                if f == "-mtls-dialect=gnu" {
                    traditional
                } else {
                    f
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        if !flags.contains("-mtls-dialect=gnu2") {
            return Ok(flags);
        }
        match self.arch.as_str() {
            "x86_64" => Ok(flags),
            // aarch64's name for the descriptor dialect (its default).
            "aarch64" => Ok(flags.replace("-mtls-dialect=gnu2", "-mtls-dialect=desc")),
            a => Err(format!("gcc has no TLS descriptors for {a}")),
        }
    }
}

fn build(src: &Path, out: &Path, target: &Target) {
    let text = std::fs::read_to_string(src).expect("read fixture");
    let directive = |key: &str| {
        text.lines().take(3).find_map(|l| {
            l.strip_prefix(&format!("// {key}:"))
                .map(|s| s.trim().to_string())
        })
    };
    let src_dir = std::fs::canonicalize("c").expect("testdata/c");
    let skip = |why: &str| println!("cargo:warning=skipping {}: {why}", src.display());
    if let Some(arches) = directive("arch") {
        if !arches.split_whitespace().any(|a| a == target.arch) {
            return skip(&format!("only for {arches}, not {}", target.arch));
        }
    }
    let flags = directive("build")
        .unwrap_or_default()
        .replace("$OUT", &out.display().to_string())
        .replace("$SRC", &src_dir.display().to_string())
        .replace("$ARCH", &target.arch);
    let flags = match target.flags(flags) {
        Ok(f) => f,
        Err(why) => return skip(&why),
    };
    let dir = match directive("out") {
        Some(d) => out.join(d),
        None => out.to_path_buf(),
    };
    std::fs::create_dir_all(&dir).expect("create output dir");
    let name = src.file_stem().and_then(|s| s.to_str()).expect("name");
    let so = dir.join(format!("{name}.so"));
    let cpp = src.extension().and_then(|e| e.to_str()) == Some("cpp");
    let default = if cpp { &target.cxx } else { &target.cc };
    // `// cc: <compiler>` picks another compiler (a cross compiler for a foreign fixture); one that
    // is not installed skips the fixture, and the tests that need it say which to install.
    let compiler = directive("cc").unwrap_or_else(|| default.to_string());
    if compiler != *default && Command::new(&compiler).arg("--version").output().is_err() {
        return skip(&format!("{compiler} is not installed"));
    }
    // Unwind tables as x86_64's and aarch64's gcc make by default (riscv64's gcc 12 does not):
    // backtraces, exceptions and panics cross every fixture's frames.
    let st = Command::new(&compiler)
        .args([
            "-shared",
            "-fPIC",
            "-O1",
            "-g",
            "-fasynchronous-unwind-tables",
            "-o",
        ])
        .arg(&so)
        .arg(src)
        .args(flags.split_whitespace())
        .status()
        .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
    assert!(st.success(), "compiling {}", src.display());
}
