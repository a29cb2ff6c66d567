//! Mach-O fixtures: `macho/*.c` compiled by clang for `x86_64-apple-macos11` and
//! `arm64-apple-macos11` and linked by the Rust toolchain's `rust-lld -flavor darwin` into
//! `$OUT/fixtures/macho/<arch>/`: `libmacho_slow_dep.dylib` and `macho_slow_user_{1,2}.dylib`
//! (a slow initialiser two plugins wait for), `libmacho_provider.dylib` (a `host_add` for flat
//! lookup), `libmacho_reexport_{inner,outer,user}.dylib` (a symbol bound through a re-export),
//! `libmacho_dep.dylib`, and `macho_plugin_{chained,opcodes}.
//! {dylib,bundle}` (chained fixups with `-fixup_chains`, opcode streams with `-no_fixup_chains`;
//! the host's symbols flat through `-undefined dynamic_lookup`); `macho_addend{32,64}_{chained,
//! opcodes}.dylib` from `macho_addend.c` (without and with `-DHUGE`: the chained imports formats
//! DYLD_CHAINED_IMPORT_ADDEND and _ADDEND64); `libmacho_cycle_{a,b}.dylib`, two libraries that
//! need each other. The plugins find the dependency through
//! `@rpath` with `-rpath @loader_path`. Built for every Linux target (clang and rust-lld run on
//! the build machine); a missing clang or rust-lld fails the build saying so.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The architectures, as clang's triples and ld64's `-arch` name them.
const ARCHES: [&str; 2] = ["x86_64", "arm64"];

/// Builds every Mach-O fixture into `out`.
pub fn build(out: &Path) {
    println!("cargo:rerun-if-changed=macho");
    let lld = rust_lld();
    for arch in ARCHES {
        let dir = out.join(arch);
        std::fs::create_dir_all(&dir).expect("create the Mach-O fixtures dir");
        let dep = compile(&dir, arch, "macho_dep", &[]);
        let plugin = compile(&dir, arch, "macho_plugin", &[]);
        let libdep = dir.join("libmacho_dep.dylib");
        link(
            &lld,
            arch,
            &["-dylib", "-install_name", "@rpath/libmacho_dep.dylib"],
            &[&dep],
            &libdep,
        );
        for (fixups, flag) in [
            ("chained", "-fixup_chains"),
            ("opcodes", "-no_fixup_chains"),
        ] {
            for (kind, ext) in [("-dylib", "dylib"), ("-bundle", "bundle")] {
                let name = dir.join(format!("macho_plugin_{fixups}.{ext}"));
                let mut args = vec![kind, flag, "-undefined", "dynamic_lookup"];
                args.extend(["-rpath", "@loader_path"]);
                if kind == "-dylib" {
                    args.extend(["-install_name", "@rpath/macho_plugin.dylib"]);
                }
                link(&lld, arch, &args, &[&plugin, &libdep], &name);
            }
        }
        cycle(&lld, &dir, arch);
        slow(&lld, &dir, arch);
        reexport(&lld, &dir, arch);
        let provider = compile(&dir, arch, "macho_provider", &[]);
        let out = dir.join("libmacho_provider.dylib");
        link(&lld, arch, &["-dylib"], &[&provider], &out);
        for (bits, defines) in [("32", &[][..]), ("64", &["-DHUGE"][..])] {
            let obj = compile(&dir, arch, "macho_addend", defines);
            let obj = rename(&obj, &format!("macho_addend{bits}.o"));
            for (fixups, flag) in [
                ("chained", "-fixup_chains"),
                ("opcodes", "-no_fixup_chains"),
            ] {
                let name = dir.join(format!("macho_addend{bits}_{fixups}.dylib"));
                let args = ["-dylib", flag, "-undefined", "dynamic_lookup"];
                link(&lld, arch, &args, &[&obj], &name);
            }
        }
    }
}

/// `libmacho_cycle_{a,b}.dylib`, each needing the other: `a` is linked first without `b` (its
/// symbols left to dynamic lookup) so that `b` can be linked against it, then again against
/// `b`, under the same install name.
fn cycle(lld: &Path, dir: &Path, arch: &str) {
    let a = compile(dir, arch, "macho_cycle_a", &[]);
    let b = compile(dir, arch, "macho_cycle_b", &[]);
    let (liba, libb) = (
        dir.join("libmacho_cycle_a.dylib"),
        dir.join("libmacho_cycle_b.dylib"),
    );
    let common = ["-dylib", "-rpath", "@loader_path"];
    let name_a = ["-install_name", "@rpath/libmacho_cycle_a.dylib"];
    let name_b = ["-install_name", "@rpath/libmacho_cycle_b.dylib"];
    let lookup = ["-undefined", "dynamic_lookup"];
    link(
        lld,
        arch,
        &[&common[..], &name_a, &lookup].concat(),
        &[&a],
        &liba,
    );
    link(
        lld,
        arch,
        &[&common[..], &name_b].concat(),
        &[&b, &liba],
        &libb,
    );
    link(
        lld,
        arch,
        &[&common[..], &name_a].concat(),
        &[&a, &libb],
        &liba,
    );
}

/// `libmacho_slow_dep.dylib` (a slow initialiser) and two plugins that need it,
/// `macho_slow_user_{1,2}.dylib` (one source, two files: two plugins).
fn slow(lld: &Path, dir: &Path, arch: &str) {
    let dep = compile(dir, arch, "macho_slow_dep", &[]);
    let user = compile(dir, arch, "macho_slow_user", &[]);
    let libdep = dir.join("libmacho_slow_dep.dylib");
    let name = ["-install_name", "@rpath/libmacho_slow_dep.dylib"];
    let lookup = ["-undefined", "dynamic_lookup"];
    link(
        lld,
        arch,
        &[&["-dylib"][..], &name, &lookup].concat(),
        &[&dep],
        &libdep,
    );
    for n in 1..=2 {
        let out = dir.join(format!("macho_slow_user_{n}.dylib"));
        link(
            lld,
            arch,
            &["-dylib", "-rpath", "@loader_path"],
            &[&user, &libdep],
            &out,
        );
    }
}

/// `libmacho_reexport_{inner,outer}.dylib` (outer re-exports inner) and
/// `libmacho_reexport_user.dylib`, linked against outer only. lld finds the re-exported library
/// at link time through `-rpath` of the fixtures' directory.
fn reexport(lld: &Path, dir: &Path, arch: &str) {
    let obj = |n: &str| compile(dir, arch, &format!("macho_reexport_{n}"), &[]);
    let (inner, outer, user) = (obj("inner"), obj("outer"), obj("user"));
    let lib = |n: &str| dir.join(format!("libmacho_reexport_{n}.dylib"));
    let install = |n: &str| format!("@rpath/libmacho_reexport_{n}.dylib");
    let here = dir.to_str().expect("a UTF-8 build directory");
    let inner_name = install("inner");
    link(
        lld,
        arch,
        &["-dylib", "-install_name", &inner_name],
        &[&inner],
        &lib("inner"),
    );
    let outer_name = install("outer");
    let inner_lib = lib("inner");
    let inner_path = inner_lib.to_str().expect("a UTF-8 build directory");
    let outer_args = [
        "-dylib",
        "-install_name",
        &outer_name,
        "-rpath",
        "@loader_path",
        "-reexport_library",
        inner_path,
    ];
    link(lld, arch, &outer_args, &[&outer], &lib("outer"));
    let user_args = [
        "-dylib",
        "-rpath",
        "@loader_path",
        "-rpath",
        here,
        "-undefined",
        "dynamic_lookup",
    ];
    link(lld, arch, &user_args, &[&user, &lib("outer")], &lib("user"));
}

/// Renames `obj` to `name` in its directory (one source compiled twice).
fn rename(obj: &Path, name: &str) -> PathBuf {
    let to = obj.with_file_name(name);
    std::fs::rename(obj, &to).expect("rename an object file");
    to
}

/// The Rust toolchain's rust-lld (in the sysroot of the compiler building this crate).
fn rust_lld() -> PathBuf {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let host = std::env::var("HOST").expect("HOST is set by cargo");
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .unwrap_or_else(|e| panic!("running {rustc} --print sysroot: {e}"));
    let sysroot = String::from_utf8(out.stdout).expect("sysroot is UTF-8");
    let lld = Path::new(sysroot.trim()).join(format!("lib/rustlib/{host}/bin/rust-lld"));
    assert!(
        lld.exists(),
        "Mach-O fixtures need rust-lld, not found at {} (it ships with rustup's toolchains)",
        lld.display()
    );
    lld
}

/// `macho/<name>.c` → `<dir>/<name>.o` for `arch`, with `defines`.
fn compile(dir: &Path, arch: &str, name: &str, defines: &[&str]) -> PathBuf {
    let obj = dir.join(format!("{name}.o"));
    let st = Command::new("clang")
        .arg(format!("--target={arch}-apple-macos11"))
        .args(["-ffreestanding", "-O1", "-c"])
        .args(defines)
        .arg("-o")
        .arg(&obj)
        .arg(format!("macho/{name}.c"))
        .status()
        .unwrap_or_else(|e| panic!("Mach-O fixtures need clang (apt-get install clang): {e}"));
    assert!(
        st.success(),
        "clang --target={arch}-apple-macos11 macho/{name}.c"
    );
    obj
}

/// Links `inputs` into `out` with rust-lld for `arch` (macOS 11 as the platform).
fn link(lld: &Path, arch: &str, args: &[&str], inputs: &[&Path], out: &Path) {
    let st = Command::new(lld)
        .args(["-flavor", "darwin", "-arch", arch])
        .args(["-platform_version", "macos", "11.0.0", "11.0.0"])
        .args(args)
        .arg("-o")
        .arg(out)
        .args(inputs)
        .status()
        .unwrap_or_else(|e| panic!("running {}: {e}", lld.display()));
    assert!(
        st.success(),
        "rust-lld -flavor darwin {args:?} -o {}",
        out.display()
    );
}
