//! Loading the Mach-O fixtures of this machine's architecture (x86_64 natively, arm64 under
//! qemu-aarch64 in the aarch64 suite) with `macho::load::load`: chained and opcode fixups, dylib
//! and bundle. Relocated pointers, calls to host exports, weak imports, the initialiser, the
//! two-image dependency, missing and forbidden imports, every value checked.
//! On riscv64, which Mach-O has no images for, only the refusal of the others' is checked.
#![cfg(target_os = "linux")]
#![cfg_attr(target_arch = "riscv64", allow(dead_code))]

use std::collections::{HashMap, HashSet};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use dynplug_loader::macho::load::{load, Loaded, Source};
use dynplug_loader::{LoadError, Options, Policy};

/// The fixtures' architecture for this process.
const ARCH: &str = if cfg!(target_arch = "x86_64") {
    "x86_64"
} else {
    "arm64"
};

extern "C" fn host_add(a: i32, b: i32) -> i32 {
    a + b
}

extern "C" fn host_opt() -> i32 {
    99
}

static mut HOST_COUNTER: i32 = 0;
static mut HOST_BUF: [u8; 16] = [0; 16];

fn addr<T>(p: *const T) -> u64 {
    p as usize as u64
}

/// Host exports: `host_add`, and `host_opt` if `opt`.
fn options(opt: bool) -> Options {
    let mut exports = HashMap::new();
    exports.insert(b"host_add".to_vec(), addr(host_add as *const ()));
    if opt {
        exports.insert(b"host_opt".to_vec(), addr(host_opt as *const ()));
    }
    Options {
        exports,
        ..Options::default()
    }
}

/// A fresh directory holding copies of `names` (each test its own images: loaded once per path).
fn copies(tag: &str, names: &[&str]) -> PathBuf {
    let dir = dynplug_fixtures::scratch_dir().join(format!("macho-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    for n in names {
        let from = dynplug_fixtures::macho_dir(ARCH).join(n);
        std::fs::copy(&from, dir.join(n)).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    dir
}

/// Loads `path` from its file.
fn open(path: &Path, opts: &Options) -> Result<Loaded, LoadError> {
    let bytes = std::fs::read(path).unwrap();
    let file = std::fs::File::open(path).unwrap();
    load(&bytes, Source::File(file.as_fd()), Some(path), opts)
}

fn plugin(fixups: &str, ext: &str) -> String {
    format!("macho_plugin_{fixups}.{ext}")
}

const VARIANTS: [(&str, &str); 4] = [
    ("chained", "dylib"),
    ("chained", "bundle"),
    ("opcodes", "dylib"),
    ("opcodes", "bundle"),
];

/// The 64-bit word at `a`.
fn word(a: u64) -> u64 {
    // SAFETY: the tests read words of the image's data they looked up.
    unsafe { (a as *const u64).read_unaligned() }
}

fn int(a: u64) -> i32 {
    // SAFETY: an `int` of the image's data that a lookup found.
    unsafe { (a as *const i32).read_unaligned() }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn pointers_calls_weak_imports_and_the_initialiser() {
    for (fixups, ext) in VARIANTS {
        let name = plugin(fixups, ext);
        let dir = copies(
            &format!("all-{fixups}-{ext}"),
            &[&name, "libmacho_dep.dylib"],
        );
        let p = open(&dir.join(&name), &options(false)).unwrap();
        let what = format!("{ARCH} {name}");
        let (lo, hi) = p.span();
        let look = |s: &str| p.lookup(s).unwrap_or_else(|| panic!("{what}: no {s}"));
        let counter = look("counter");
        assert!(counter >= lo && counter < hi, "{what}");
        assert_eq!(
            int(counter),
            41,
            "{what}: initialiser ran before it was asked"
        );
        // Rebases: pointers into the image.
        assert_eq!(word(look("counter_ptr")), counter, "{what}");
        assert_eq!(word(look("counter_ptr_off")), counter + 12, "{what}");
        let table = look("fp_table");
        assert_eq!(
            word(table + 8),
            look("wdef"),
            "{what}: weak definition kept"
        );
        assert!(
            p.lookup("twice").is_none(),
            "{what}: a static function is exported"
        );
        assert!(word(table) >= lo && word(table) < hi, "{what}");
        // Binds: the host's function, the missing weak import 0.
        assert_eq!(
            word(look("import_ptr")),
            addr(host_add as *const ()),
            "{what}"
        );
        assert_eq!(word(look("opt_ptr")), 0, "{what}");
        // Into the dependency, with an addend.
        let dep_ptr = word(look("dep_value_ptr_off"));
        assert_eq!(int(dep_ptr - 8), 5, "{what}: dep_value");
        assert!(
            dep_ptr < lo || dep_ptr >= hi,
            "{what}: dep_value is the dependency's"
        );
        // SAFETY: plugin_add is `int plugin_add(int, int)`; it calls host_add, dep_mul, wdef.
        let add: extern "C" fn(i32, i32) -> i32 =
            unsafe { std::mem::transmute(look("plugin_add") as usize) };
        assert_eq!(add(2, 3), 2 + 3 + 5 * 2 + 1, "{what}");
        // The initialiser (counter = host_add(counter, 1)) runs once.
        // SAFETY: the fixture's initialiser calls host_add only.
        unsafe { p.run_initialisers() };
        assert_eq!(int(counter), 42, "{what}");
        // SAFETY: as above (it must not run again).
        unsafe { p.run_initialisers() };
        assert_eq!(int(counter), 42, "{what}: initialiser ran twice");
        assert_eq!(
            p.install_name(),
            (ext == "dylib").then_some(&b"@rpath/macho_plugin.dylib"[..]),
            "{what}"
        );
        assert_eq!(p.machine(), dynplug_arch::Machine::host().unwrap());
    }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn a_resolved_weak_import_is_the_host_s() {
    for (fixups, ext) in VARIANTS {
        let name = plugin(fixups, ext);
        let dir = copies(
            &format!("opt-{fixups}-{ext}"),
            &[&name, "libmacho_dep.dylib"],
        );
        let p = open(&dir.join(&name), &options(true)).unwrap();
        let opt = p.lookup("opt_ptr").unwrap();
        assert_eq!(word(opt), addr(host_opt as *const ()), "{name}");
    }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn from_bytes_the_image_is_mapped_from_memory() {
    let name = plugin("chained", "dylib");
    let dir = copies("bytes", &[&name, "libmacho_dep.dylib"]);
    let path = dir.join(&name);
    let bytes = std::fs::read(&path).unwrap();
    let p = load(&bytes, Source::Bytes(&bytes), Some(&path), &options(false)).unwrap();
    let counter = p.lookup("counter").unwrap();
    assert_eq!(word(p.lookup("counter_ptr").unwrap()), counter);
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn the_dependency_is_loaded_once_and_shared() {
    let names: Vec<String> = VARIANTS.iter().map(|(f, e)| plugin(f, e)).collect();
    let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
    all.push("libmacho_dep.dylib");
    let dir = copies("shared", &all);
    let targets: HashSet<u64> = names
        .iter()
        .map(|n| {
            let p = open(&dir.join(n), &options(false)).unwrap();
            word(p.lookup("dep_value_ptr_off").unwrap())
        })
        .collect();
    assert_eq!(targets.len(), 1, "one copy of libmacho_dep: {targets:x?}");
    // The dependency opened itself is that copy.
    let dep = open(&dir.join("libmacho_dep.dylib"), &options(false)).unwrap();
    assert_eq!(
        dep.lookup("dep_value").map(|a| a + 8),
        targets.into_iter().next()
    );
    // And the plugin opened again is the same image.
    let a = open(&dir.join(&names[0]), &options(false)).unwrap();
    let b = open(&dir.join(&names[0]), &options(false)).unwrap();
    assert_eq!(a.bias(), b.bias());
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn every_missing_import_is_named() {
    let name = plugin("opcodes", "dylib");
    let dir = copies("missing", &[&name, "libmacho_dep.dylib"]);
    let opts = Options::default();
    match open(&dir.join(&name), &opts) {
        Err(LoadError::UndefinedSymbols(v)) => assert_eq!(v, ["host_add"]),
        other => panic!("{other:?}"),
    }
    // The failed load left nothing mapped: neither image's segments nor their files' bytes.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(
        !maps.contains(dir.to_str().unwrap()),
        "mapped after a failed load:\n{maps}"
    );
    // (As a load that succeeds leaves them.)
    open(&dir.join(&name), &options(false)).unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(maps.contains(dir.to_str().unwrap()), "{maps}");
    let name = "macho_addend32_chained.dylib";
    let dir = copies("missing-addend", &[name]);
    match open(&dir.join(name), &opts) {
        Err(LoadError::UndefinedSymbols(mut v)) => {
            v.sort();
            assert_eq!(v, ["host_buf", "host_counter"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn a_missing_dependency_is_an_error() {
    let name = plugin("chained", "bundle");
    let dir = copies("nodep", &[&name]);
    match open(&dir.join(&name), &options(false)) {
        Err(LoadError::MissingDependency {
            library, searched, ..
        }) => {
            assert_eq!(library, "@rpath/libmacho_dep.dylib");
            assert_eq!(searched, [dir.join("libmacho_dep.dylib")]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn the_policy_refuses_a_forbidden_import() {
    for (fixups, ext) in VARIANTS {
        let name = plugin(fixups, ext);
        let dir = copies(
            &format!("policy-{fixups}-{ext}"),
            &[&name, "libmacho_dep.dylib"],
        );
        let opts = Options {
            policy: Policy::Deny(HashSet::from([b"dep_mul".to_vec()])),
            ..options(false)
        };
        match open(&dir.join(&name), &opts) {
            Err(LoadError::ImportsNotAllowed(v)) => assert_eq!(v, ["dep_mul"], "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        // A host export is always allowed: host_add binds though the list lacks it; the
        // image's own weak definition wdef is no import (opcodes: the weak-bind stream;
        // chained: weak-lookup binds).
        let opts = Options {
            policy: Policy::Allow(HashSet::from([b"dep_mul".to_vec(), b"dep_value".to_vec()])),
            ..options(false)
        };
        let p = open(&dir.join(&name), &opts).unwrap();
        let table = p.lookup("fp_table").unwrap();
        assert_eq!(word(table + 8), p.lookup("wdef").unwrap(), "{name}");
        assert_eq!(
            word(p.lookup("import_ptr").unwrap()),
            addr(host_add as *const ())
        );
        assert_eq!(word(p.lookup("opt_ptr").unwrap()), 0);
        // Loaded already, it is held to a stricter policy (host exports still allowed).
        let deny = |n: &[u8]| Options {
            policy: Policy::Deny(HashSet::from([n.to_vec()])),
            ..options(false)
        };
        match open(&dir.join(&name), &deny(b"dep_value")) {
            Err(LoadError::ImportsNotAllowed(v)) => assert_eq!(v, ["dep_value"], "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        assert!(open(&dir.join(&name), &deny(b"host_add")).is_ok(), "{name}");
        assert!(open(&dir.join(&name), &opts).is_ok(), "{name}");
    }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn binds_with_addends_of_every_chained_format() {
    let mut exports = HashMap::new();
    let counter = addr(&raw const HOST_COUNTER);
    let buf = addr(&raw const HOST_BUF);
    exports.insert(b"host_counter".to_vec(), counter);
    exports.insert(b"host_buf".to_vec(), buf);
    let opts = Options {
        exports,
        ..Options::default()
    };
    for bits in ["32", "64"] {
        for fixups in ["chained", "opcodes"] {
            let name = format!("macho_addend{bits}_{fixups}.dylib");
            let dir = copies(&format!("addend-{bits}-{fixups}"), &[&name]);
            let p = open(&dir.join(&name), &opts).unwrap();
            let at = |s: &str| word(p.lookup(s).unwrap());
            assert_eq!(at("p_small"), counter + 8, "{name}");
            assert_eq!(at("p_big"), buf + 100_000, "{name}");
            assert_eq!(at("p_neg"), buf.wrapping_sub(100_000), "{name}");
            if bits == "64" {
                assert_eq!(at("p_huge"), buf + 0x1_2345_6789, "{name}");
            }
        }
    }
}

/// `perms` of the mapping holding `addr` (`rwxp`), from /proc/self/maps.
fn perms_at(addr: u64) -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    for l in maps.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (a, b) = f[0].split_once('-').unwrap();
        let (a, b) = (
            u64::from_str_radix(a, 16).unwrap(),
            u64::from_str_radix(b, 16).unwrap(),
        );
        if addr >= a && addr < b {
            return f[1].to_string();
        }
    }
    panic!("{addr:#x} not mapped");
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn segments_have_their_protections_and_sg_read_only_is_read_only() {
    use dynplug_loader::macho::MachO;
    for (fixups, ext) in VARIANTS {
        let name = plugin(fixups, ext);
        let dir = copies(
            &format!("prot-{fixups}-{ext}"),
            &[&name, "libmacho_dep.dylib"],
        );
        let path = dir.join(&name);
        let p = open(&path, &options(false)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let m = MachO::parse(&bytes).unwrap();
        let mut seen_read_only = false;
        for s in m.segments.iter().filter(|s| s.vmsize > 0) {
            let perms = perms_at(p.bias().wrapping_add(s.vmaddr));
            let write = s.initprot.write && !s.read_only_after_fixups;
            seen_read_only |= s.read_only_after_fixups;
            assert_eq!(
                &perms[1..2],
                if write { "w" } else { "-" },
                "{name} {}",
                s.name
            );
            assert_eq!(&perms[..1], "r", "{name} {}", s.name);
            assert!(!perms.contains("wx"), "{name} {}: {perms}", s.name);
        }
        assert!(seen_read_only, "{name}: no SG_READ_ONLY segment to check");
    }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn thread_local_variables_are_per_thread() {
    for (fixups, ext) in VARIANTS {
        let name = plugin(fixups, ext);
        let dir = copies(
            &format!("tls-{fixups}-{ext}"),
            &[&name, "libmacho_dep.dylib"],
        );
        let p = open(&dir.join(&name), &options(true)).unwrap();
        // SAFETY: `int get_tls(void)`: tls_var + tls_zero + host_opt().
        let get: extern "C" fn() -> i32 =
            unsafe { std::mem::transmute(p.lookup("get_tls").unwrap() as usize) };
        assert_eq!(get(), 7 + 99, "{name}");
        let var = p.lookup("tls_var").unwrap();
        let zero = p.lookup("tls_zero").unwrap();
        assert_ne!(var, zero, "{name}");
        assert_eq!(int(var), 7, "{name}");
        assert_eq!(int(zero), 0, "{name}");
        // SAFETY: this thread's `tls_var`, an int.
        unsafe { *(var as *mut i32) = 1000 };
        assert_eq!(get(), 1000 + 99, "{name}");
        let p2 = p.clone();
        let (other, value) = std::thread::spawn(move || {
            let var = p2.lookup("tls_var").unwrap();
            // SAFETY: as above, in this thread.
            let f: extern "C" fn() -> i32 =
                unsafe { std::mem::transmute(p2.lookup("get_tls").unwrap() as usize) };
            (var, f())
        })
        .join()
        .unwrap();
        assert_ne!(other, var, "{name}: one block for two threads");
        assert_eq!(
            value,
            7 + 99,
            "{name}: a new thread's block starts from the template"
        );
        assert_eq!(get(), 1000 + 99, "{name}");
    }
}

/// The run-time address of the thread-local descriptor of `_name` in the loaded `p` (`path`).
fn descriptor(p: &Loaded, path: &Path, name: &str) -> u64 {
    use dynplug_loader::macho::{ExportKind, MachO};
    let bytes = std::fs::read(path).unwrap();
    let m = MachO::parse(&bytes).unwrap();
    match m.export(name).unwrap().map(|e| e.kind) {
        Some(ExportKind::ThreadLocal { offset }) => p.bias() + m.base() + offset,
        other => panic!("{name}: {other:?}"),
    }
}

/// Calls the descriptor's thunk as macOS code does (`call *(%rdi)`), every register the
/// contract preserves holding a value it must keep; the address and the registers after.
#[cfg(target_arch = "x86_64")]
fn call_thunk(desc: u64) -> (u64, Vec<u64>) {
    let addr: u64;
    let mut r = [1u64, 2, 3, 4, 5, 6, 7, 8];
    let xmm: u64;
    // SAFETY: the descriptor's thunk is dynplug's getter, which takes the descriptor in rdi and
    // returns in rax; every register given here is declared.
    unsafe {
        std::arch::asm!(
            "movq xmm0, {x}",
            "call qword ptr [rdi]",
            "movq {x}, xmm0",
            x = inout(reg) 0x5151_5151_u64 => xmm,
            inout("rdi") desc => r[0],
            inout("rsi") r[1],
            inout("rdx") r[2],
            inout("rcx") r[3],
            inout("r8") r[4],
            inout("r9") r[5],
            inout("r10") r[6],
            inout("r11") r[7],
            out("rax") addr,
            out("xmm0") _,
        );
    }
    r[0] = u64::from(r[0] == desc);
    let mut v = r.to_vec();
    v.push(xmm);
    (addr, v)
}

#[cfg(target_arch = "aarch64")]
fn call_thunk(desc: u64) -> (u64, Vec<u64>) {
    let addr: u64;
    let mut r = [1u64, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15];
    let v0: u64;
    // SAFETY: as above: x0 in, x0 out, x8 and x30 used for the call.
    unsafe {
        std::arch::asm!(
            "fmov d0, {x}",
            "ldr x8, [x0]",
            "blr x8",
            "fmov {x}, d0",
            x = inout(reg) 0x5151_5151_u64 => v0,
            inout("x0") desc => addr,
            inout("x1") r[0],
            inout("x2") r[1],
            inout("x3") r[2],
            inout("x4") r[3],
            inout("x5") r[4],
            inout("x6") r[5],
            inout("x7") r[6],
            inout("x9") r[7],
            inout("x10") r[8],
            inout("x11") r[9],
            inout("x12") r[10],
            inout("x13") r[11],
            inout("x14") r[12],
            inout("x15") r[13],
            out("x8") _,
            out("x30") _,
            out("v0") _,
        );
    }
    let mut v = r.to_vec();
    v.push(v0);
    (addr, v)
}

#[test]
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn the_thread_local_getter_preserves_registers() {
    let name = plugin("chained", "dylib");
    let dir = copies("tlv-regs", &[&name, "libmacho_dep.dylib"]);
    let path = dir.join(&name);
    let p = open(&path, &options(false)).unwrap();
    let desc = descriptor(&p, &path, "_tls_zero");
    // Twice: the first call makes the thread's block (the slow path's allocation), the second
    // finds it.
    for _ in 0..2 {
        let (addr, regs) = call_thunk(desc);
        assert_eq!(addr, p.lookup("tls_zero").unwrap());
        let want: Vec<u64> = if cfg!(target_arch = "x86_64") {
            vec![1, 2, 3, 4, 5, 6, 7, 8, 0x5151_5151]
        } else {
            vec![1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 0x5151_5151]
        };
        assert_eq!(regs, want);
    }
}

#[test]
fn another_architecture_s_image_is_refused() {
    let others: &[&str] = match ARCH {
        _ if cfg!(target_arch = "riscv64") => &["x86_64", "arm64"],
        "x86_64" => &["arm64"],
        _ => &["x86_64"],
    };
    for arch in others {
        let path = dynplug_fixtures::macho_dir(arch).join(plugin("chained", "dylib"));
        match open(&path, &options(false)) {
            Err(LoadError::WrongArchitecture { found, .. }) => {
                assert_eq!(found, format!("Mach-O {arch}"))
            }
            other => panic!("{arch}: {other:?}"),
        }
    }
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn two_libraries_that_need_each_other_load_once_each() {
    let (a, b) = ("libmacho_cycle_a.dylib", "libmacho_cycle_b.dylib");
    let dir = copies("cycle", &[a, b]);
    let la = open(&dir.join(a), &Options::default()).unwrap();
    let lb = open(&dir.join(b), &Options::default()).unwrap();
    // b was loaded as a's dependency: opened itself, it is that copy.
    let (sa, sb) = (la.span(), lb.span());
    assert!(sa.1 <= sb.0 || sb.1 <= sa.0, "{sa:x?} {sb:x?}");
    assert_eq!(lb.path(), Some(dir.join(b).as_path()));
    let call = |l: &Loaded, f: &str| {
        // SAFETY: `int f(void)` of the fixture.
        let f: extern "C" fn() -> i32 =
            unsafe { std::mem::transmute(l.lookup(f).unwrap() as usize) };
        f()
    };
    assert_eq!(call(&la, "a_get_b"), 2);
    assert_eq!(call(&lb, "b_get_a"), 1);
    assert_eq!(int(la.lookup("a_value").unwrap()), 1);
    // Dependencies first; in a cycle the image asked for runs last.
    // SAFETY: the fixtures' initialisers only count.
    unsafe { la.run_initialisers() };
    // SAFETY: as above (already run: nothing happens).
    unsafe { lb.run_initialisers() };
    assert_eq!(int(lb.lookup("b_turn").unwrap()), 1);
    assert_eq!(int(la.lookup("a_turn").unwrap()), 2);
    assert_eq!(int(lb.lookup("init_turns").unwrap()), 2);
}

#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "Mach-O has no riscv64 images")]
fn an_image_in_memory_is_looked_up_through_its_mapped_trie() {
    // What macOS's dyld images are read with (`os::macho_symbol`): here images dynplug mapped.
    for (fixups, ext) in VARIANTS {
        let name = plugin(fixups, ext);
        let dir = copies(
            &format!("mem-{fixups}-{ext}"),
            &[&name, "libmacho_dep.dylib"],
        );
        let p = open(&dir.join(&name), &options(false)).unwrap();
        // The header lies at the bias: __TEXT is at link-time address 0.
        let header = p.bias();
        for sym in ["plugin_add", "counter", "fp_table", "wdef"] {
            let mem =
                unsafe { dynplug_loader::macho::in_memory::lookup(header, &format!("_{sym}")) };
            assert_eq!(mem, p.lookup(sym), "{name}: {sym}");
            assert!(mem.is_some());
        }
        // An import, a name no image has, and a thread-local variable: none.
        for sym in ["_host_add", "_nothing_here", "_tls_var"] {
            assert_eq!(
                unsafe { dynplug_loader::macho::in_memory::lookup(header, sym) },
                None,
                "{sym}"
            );
        }
        // Not a Mach-O header.
        let elf = [
            0x7fu8, b'E', b'L', b'F', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            unsafe { dynplug_loader::macho::in_memory::lookup(elf.as_ptr() as u64, "_x") },
            None
        );
    }
}
