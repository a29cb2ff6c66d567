//! Compiles the fixtures in `c/` into `$OUT_DIR/fixtures/`: `<name>.c` and `<name>.S` (assembly,
//! through the C preprocessor) with `cc`, `<name>.cpp` with `c++`, each as `-shared -fPIC -O1`
//! plus the flags on its first line (`// build: <flags>`, where `$OUT` is the output directory
//! and `$SRC` this directory). Sources build in name order, so a library another fixture links
//! against sorts first. `// out: <dir>` puts the result in a subdirectory.
use std::path::{Path, PathBuf};
use std::process::Command;

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
    for src in sources {
        build(&src, &out);
    }
}

fn build(src: &Path, out: &Path) {
    let text = std::fs::read_to_string(src).expect("read fixture");
    let directive = |key: &str| {
        text.lines().take(3).find_map(|l| {
            l.strip_prefix(&format!("// {key}:"))
                .map(|s| s.trim().to_string())
        })
    };
    let src_dir = std::fs::canonicalize("c").expect("testdata/c");
    let flags = directive("build")
        .unwrap_or_default()
        .replace("$OUT", &out.display().to_string())
        .replace("$SRC", &src_dir.display().to_string());
    let dir = match directive("out") {
        Some(d) => out.join(d),
        None => out.to_path_buf(),
    };
    std::fs::create_dir_all(&dir).expect("create output dir");
    let name = src.file_stem().and_then(|s| s.to_str()).expect("name");
    let so = dir.join(format!("{name}.so"));
    let cpp = src.extension().and_then(|e| e.to_str()) == Some("cpp");
    let default = if cpp { "c++" } else { "cc" };
    // `// cc: <compiler>` picks another compiler (a cross compiler for a foreign fixture); one that
    // is not installed skips the fixture, and the tests that need it say which to install.
    let compiler = directive("cc").unwrap_or_else(|| default.to_string());
    if compiler != default && Command::new(&compiler).arg("--version").output().is_err() {
        println!(
            "cargo:warning=skipping {}: {compiler} is not installed",
            src.display()
        );
        return;
    }
    let st = Command::new(&compiler)
        .args(["-shared", "-fPIC", "-O1", "-g", "-o"])
        .arg(&so)
        .arg(src)
        .args(flags.split_whitespace())
        .status()
        .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
    assert!(st.success(), "compiling {}", src.display());
}
