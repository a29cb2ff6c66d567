//! Compiles every `c/*.c` into `$OUT_DIR/fixtures/<name>.so` with the system C compiler.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("fixtures");
    std::fs::create_dir_all(&out).expect("create fixtures dir");
    println!("cargo:rustc-env=DYNPLUG_FIXTURES_DIR={}", out.display());
    println!("cargo:rerun-if-changed=c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    for entry in std::fs::read_dir("c").expect("read testdata/c") {
        let src = entry.expect("dir entry").path();
        if src.extension().and_then(|e| e.to_str()) != Some("c") {
            continue;
        }
        let name = src.file_stem().and_then(|s| s.to_str()).expect("name").to_string();
        let so = out.join(format!("{name}.so"));
        let st = Command::new(&cc)
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&so)
            .arg(&src)
            .status()
            .expect("run cc");
        assert!(st.success(), "compiling {}", src.display());
    }
}
