//! dynplug side by side with glibc's dlopen/dlsym, in one run (`cargo bench --bench compare`).
//!
//! Every measurement runs in a fresh child process (this binary re-executed), so that neither
//! loader sees the other's modules, and memory deltas are clean. Each repetition opens a fresh
//! copy of the file (a new path and inode): both loaders return a cached object for a file they
//! already hold. Results are printed as markdown and written to docs/benchmarks.md.
use std::ffi::{c_void, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "common/copies.rs"]
mod copies;
use copies::{median, timed_opens};

/// Fresh copies of `path` for this driver's children (see `copies::copies`).
fn copies(path: &Path, n: usize) -> (PathBuf, Vec<PathBuf>) {
    copies::copies("copies", path, n)
}

const LIBS: &[&str] = &[
    "libz.so.1",
    "libsqlite3.so.0",
    "libcrypto.so.3",
    "libstdc++.so.6",
];
const LIBDIR: &str = "/lib/x86_64-linux-gnu";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1..]);
    }
    if args.iter().any(|a| a == "--list" || a == "--test") {
        // `cargo test --benches` and the harness protocol: nothing to run here.
        return;
    }
    parent();
}

// ---------------------------------------------------------------- parent: orchestrates, reports

fn run_child(args: &[&str]) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        return format!(
            "fails: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("?")
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn num(s: &str) -> Option<f64> {
    s.parse().ok()
}

fn ratio(a: &str, b: &str) -> String {
    match (num(a), num(b)) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

/// Plugins opened one after the other in the "many plugins" measurement.
const MANY: usize = 1000;
/// Copies of a library the host opens RTLD_LOCAL with the system loader before the timed opens
/// of the "crowded" measurement.
const CROWD: usize = 30;

/// Child runs of each open and lookup measurement, the loaders interleaved round by round (a
/// slow spell of the machine then hits every loader, not one).
const ROUNDS: usize = 3;

/// Runs `measure` (one measurement per loader) `ROUNDS` times; per loader, the median of the
/// rounds, or its first failure.
fn rounds<const N: usize>(measure: impl Fn() -> [String; N]) -> [String; N] {
    let runs: Vec<[String; N]> = (0..ROUNDS).map(|_| measure()).collect();
    std::array::from_fn(|i| {
        let all: Vec<&String> = runs.iter().map(|r| &r[i]).collect();
        if let Some(failed) = all.iter().find(|v| num(v).is_none()) {
            return (*failed).clone();
        }
        let mut v: Vec<f64> = all.iter().filter_map(|v| num(v)).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        format!("{:.1}", v[v.len() / 2])
    })
}

fn fmt_us(s: &str) -> String {
    if s.starts_with("fails") {
        // The reason, short enough for a table cell.
        let short: String = s.chars().take(70).collect();
        return if short.len() < s.len() {
            format!("{short}…")
        } else {
            short
        };
    }
    num(s).map_or_else(|| s.to_string(), |v| format!("{v:.0} µs"))
}

/// Builds a peer loader's driver, each in its own binary: dlopen-rs replaces dlopen and friends
/// where it is linked, and neither peer should share a process with another loader.
fn build_peer(dir: &str, bin: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "-q"])
        .status()
        .ok()?;
    st.success().then(|| root.join("target/release").join(bin))
}

fn run_peer(peer: &Option<PathBuf>, args: &[&str]) -> String {
    let Some(peer) = peer else {
        return "not built".into();
    };
    match Command::new(peer).args(args).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(o) => format!(
            "fails: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("?")
        ),
        Err(e) => format!("fails: {e}"),
    }
}

fn parent() {
    let peer = build_peer("benches/peer", "dynplug-bench-peer");
    let elf_loader = build_peer("benches/peer-elf-loader", "dynplug-bench-peer-elf-loader");
    let work = std::env::temp_dir().join(format!("dynplug-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let synth = synthetic(&work, "synthetic", 1_000_000, 100_000, 10_000);
    // Opened first in memory measurements, so that neither loader's one-time set-up counts.
    let warm = synthetic(&work, "warm-up", 16, 4, 4);
    let mut files: Vec<(String, PathBuf)> = LIBS
        .iter()
        .map(|l| (l.to_string(), Path::new(LIBDIR).join(l)))
        .collect();
    files.push((
        "synthetic (1M relative, 100k symbol relocations)".into(),
        synth.clone(),
    ));
    files.push((SMALL_NAME.into(), small_c_plugin(&work)));

    let mut md = String::new();
    md.push_str("# Benchmarks\n\n");
    md.push_str(&machine());
    md.push_str(
        "\nCommand: `cargo bench --bench compare` (release build; an open or lookup cell is the median of ",
    );
    md.push_str(
        "three rounds, the loaders interleaved, of the median of the repetitions in a fresh child ",
    );
    md.push_str("process per loader, each repetition opening a fresh copy of the file). dynplug's ratio is ");
    md.push_str("dynplug ÷ glibc: below 1 is faster.\n\n");

    md.push_str("## Open latency (load + relocate + bind all + initialisers)\n\n");
    md.push_str("| library | dynplug median | glibc `dlopen(RTLD_NOW\\|RTLD_LOCAL)` median | ratio | dlopen-rs 0.8 median | dlopen-rs ÷ glibc | elf_loader 0.14 median | elf_loader ÷ glibc |\n|---|---|---|---|---|---|---|---|\n");
    for (name, path) in &files {
        let reps = if name.starts_with("synthetic") {
            "7"
        } else {
            "25"
        };
        let p = path.to_str().unwrap();
        let [d, g, r, e] = rounds(|| {
            [
                run_child(&["open", "dynplug", p, reps]),
                run_child(&["open", "glibc", p, reps]),
                run_peer(&peer, &["open", p, reps]),
                run_peer(&elf_loader, &["open", p, reps]),
            ]
        });
        md.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} |\n",
            fmt_us(&d),
            fmt_us(&g),
            ratio(&d, &g),
            fmt_us(&r),
            ratio(&r, &g),
            fmt_us(&e),
            ratio(&e, &g)
        ));
        eprintln!("open {name}: dynplug {d} glibc {g} dlopen-rs {r}");
    }

    md.push_str("\nPeers: `dlopen-rs` 0.8 (`ElfLibrary::dlopen` with `RTLD_NOW | RTLD_LOCAL`; it loads \
        dependencies itself) and `elf_loader` 0.14 (`load_dylib` + `relocate`, imports resolved with \
        glibc's `dlsym` in the global scope: it cannot load a library whose dependencies the process \
        lacks, shown as \"fails\"). Each runs in its own binary (`benches/peer*`).\n");
    md.push_str("\n## Lookup latency (libcrypto.so.3 exports)\n\n");
    md.push_str(
        "| lookup | dynplug `Plugin::lookup` | glibc `dlsym` | ratio | dlopen-rs `get` |\n|---|---|---|---|---|\n",
    );
    let crypto = Path::new(LIBDIR).join("libcrypto.so.3");
    let names_file = work.join("names.txt");
    std::fs::write(&names_file, exports(&crypto).join("\n")).unwrap();
    for kind in ["hit", "miss"] {
        let c = crypto.to_str().unwrap();
        let names = names_file.to_str().unwrap();
        let [d, g, r] = rounds(|| {
            [
                run_child(&["lookup", "dynplug", c, kind]),
                run_child(&["lookup", "glibc", c, kind]),
                run_peer(&peer, &["lookup", c, kind, names]),
            ]
        })
        .map(|v| num(&v).map_or(v, |n| format!("{n:.0}")));
        let label = if kind == "hit" {
            "existing names"
        } else {
            "missing names"
        };
        md.push_str(&format!(
            "| {label} | {d} ns | {g} ns | {} | {r} ns |\n",
            ratio(&d, &g)
        ));
        eprintln!("lookup {kind}: dynplug {d} glibc {g} dlopen-rs {r}");
    }

    md.push_str("\n## Memory added by one open (from /proc/self/smaps_rollup)\n\n");
    md.push_str("Measured after a warm-up open of a tiny library with the same loader.\n\n");
    md.push_str("| library | dynplug RSS | glibc RSS | dynplug private dirty | glibc private dirty | private dirty ratio |\n|---|---|---|---|---|---|\n");
    for (name, path) in &files {
        let d = run_child(&[
            "memory",
            "dynplug",
            path.to_str().unwrap(),
            warm.to_str().unwrap(),
        ]);
        let g = run_child(&[
            "memory",
            "glibc",
            path.to_str().unwrap(),
            warm.to_str().unwrap(),
        ]);
        let (dr, dd) = d.split_once(' ').unwrap_or((&d, ""));
        let (gr, gd) = g.split_once(' ').unwrap_or((&g, ""));
        md.push_str(&format!(
            "| {name} | {dr} kB | {gr} kB | {dd} kB | {gd} kB | {} |\n",
            ratio(dd, gd)
        ));
        eprintln!("memory {name}: dynplug {d} glibc {g}");
    }

    md.push_str("\n## Scaling: open time against relocation count (synthetic plugins)\n\n");
    md.push_str("| relative + symbol relocations | dynplug | glibc | ratio | dynplug ns per relocation |\n|---|---|---|---|---|\n");
    for n in [10_000usize, 100_000, 1_000_000] {
        let p = synthetic(&work, &format!("scale{n}"), n, n / 10, (n / 100).max(10));
        let reps = if n >= 1_000_000 { "7" } else { "15" };
        let p = p.to_str().unwrap();
        let [d, g] = rounds(|| {
            [
                run_child(&["open", "dynplug", p, reps]),
                run_child(&["open", "glibc", p, reps]),
            ]
        });
        let per = num(&d).map_or("—".into(), |v| {
            format!("{:.1}", v * 1000.0 / (n + n / 10) as f64)
        });
        md.push_str(&format!(
            "| {n} + {} | {} | {} | {} | {per} |\n",
            n / 10,
            fmt_us(&d),
            fmt_us(&g),
            ratio(&d, &g)
        ));
        eprintln!("scale {n}: dynplug {d} glibc {g}");
    }

    md.push_str("\n## Many plugins: open time as plugins accumulate\n\n");
    md.push_str(&format!(
        "{MANY} copies of libz.so.1 opened one after the other in one process; each cell is the \
         median of 50 consecutive opens.\n\n"
    ));
    md.push_str("| loader | opens 1–50 | opens 451–500 | opens 951–1000 |\n|---|---|---|---|\n");
    let libz = Path::new(LIBDIR).join("libz.so.1");
    for loader in ["dynplug", "glibc"] {
        let out = run_child(&["many", loader, libz.to_str().unwrap()]);
        let cells: Vec<String> = out.split_whitespace().map(fmt_us).collect();
        md.push_str(&format!("| {loader} | {} |\n", cells.join(" | ")));
        eprintln!("many {loader}: {out}");
    }
    md.push_str("\n## Open in a crowded process\n\n");
    md.push_str(&format!(
        "The host first opens {CROWD} copies of libcrypto.so.3 with the system's \
         `dlopen(RTLD_NOW|RTLD_LOCAL)`; then the open of further copies is timed (25 repetitions), \
         against the same opens in a clean process. They are outside the global scope: an open \
         should not slow down with them.\n\n"
    ));
    md.push_str(
        "| loader | clean process | crowded process | crowded ÷ clean |\n|---|---|---|---|\n",
    );
    let crypto = Path::new(LIBDIR).join("libcrypto.so.3");
    let crypto = crypto.to_str().unwrap();
    for loader in ["dynplug", "glibc"] {
        let [clean, crowded] = rounds(|| {
            [
                run_child(&["open", loader, crypto, "25"]),
                run_child(&["crowded", loader, crypto, "25"]),
            ]
        });
        md.push_str(&format!(
            "| {loader} | {} | {} | {} |\n",
            fmt_us(&clean),
            fmt_us(&crowded),
            ratio(&crowded, &clean)
        ));
        eprintln!("crowded {loader}: clean {clean} crowded {crowded}");
    }
    println!("{md}");
    let doc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/benchmarks.md");
    let analysis = std::fs::read_to_string(&doc)
        .ok()
        .and_then(|t| t.find("## Analysis").map(|i| t[i..].to_string()))
        .unwrap_or_else(|| "## Analysis\n\n(to be written)\n".into());
    std::fs::write(&doc, format!("{md}\n{analysis}")).unwrap();
    std::fs::remove_dir_all(&work).ok();
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    // SAFETY: gnu_get_libc_version returns a static string.
    let glibc = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) }
        .to_string_lossy()
        .into_owned();
    format!(
        "Machine: {cpu}, {cores} cores, Linux {}, glibc {glibc}.\n",
        kernel.trim()
    )
}

extern "C" {
    fn gnu_get_libc_version() -> *const std::ffi::c_char;
}

/// The row of the small C plugin (`benches/fixtures/small20.c`).
const SMALL_NAME: &str = "small C plugin (20 relocations)";

/// Compiles `benches/fixtures/small20.c`: a plugin of the size people write by hand, 20
/// relocations (11 RELATIVE, 4 GLOB_DAT, 5 JUMP_SLOT against libc), where an open is mostly
/// fixed costs.
fn small_c_plugin(work: &Path) -> PathBuf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures/small20.c");
    let so = work.join("small20.so");
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&so)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "compiling {}", src.display());
    so
}

/// Writes and compiles a synthetic plugin: `rel` relative relocations (pointers to its own
/// static data) and `symrel` symbol relocations against `nsyms` distinct exported symbols.
fn synthetic(work: &Path, name: &str, rel: usize, symrel: usize, nsyms: usize) -> PathBuf {
    use std::fmt::Write;
    let mut s = String::with_capacity(rel * 24 + symrel * 24 + nsyms * 64);
    s.push_str(".data\n.balign 8\nlocal_data:\n.zero 4096\n");
    for i in 0..nsyms {
        let _ = writeln!(
            s,
            ".globl sym_{i}\n.type sym_{i},@object\n.size sym_{i},8\nsym_{i}:\n.quad {i}"
        );
    }
    s.push_str(".section .data.rel,\"aw\"\n.balign 8\n.globl table\ntable:\n");
    for i in 0..rel {
        let _ = writeln!(s, ".quad local_data+{}", (i % 512) * 8);
    }
    for i in 0..symrel {
        let _ = writeln!(s, ".quad sym_{}", i % nsyms);
    }
    s.push_str(".section .note.GNU-stack,\"\",@progbits\n");
    let src = work.join(format!("{name}.s"));
    let so = work.join(format!("{name}.so"));
    std::fs::write(&src, s).unwrap();
    let st = Command::new("cc")
        .args(["-shared", "-o"])
        .arg(&so)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "assembling {name}");
    so
}

// ---------------------------------------------------------------- child: one loader, one measure

fn open_with(loader: &str, p: &Path) -> *mut c_void {
    match loader {
        // SAFETY: system libraries and generated data-only plugins, opened the way their own
        // loaders open them.
        "dynplug" => {
            let plugin = unsafe { dynplug::Plugin::open(p) }.unwrap_or_else(|e| panic!("{e}"));
            plugin as *const dynplug::Plugin as *mut c_void
        }
        _ => {
            let c = CString::new(p.to_str().unwrap()).unwrap();
            // SAFETY: a NUL-terminated path; the library is one the system loads anyway.
            let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
            assert!(!h.is_null(), "dlopen failed");
            h
        }
    }
}

fn child(args: &[String]) {
    let (what, loader, path) = (args[0].as_str(), args[1].as_str(), Path::new(&args[2]));
    match what {
        "open" => {
            let reps: usize = args[3].parse().unwrap();
            let (dir, files) = copies(path, reps);
            let times = timed_opens(&files, |f| open_with(loader, f));
            std::fs::remove_dir_all(dir).ok();
            println!("{:.1}", median(times));
        }
        "crowded" => {
            let reps: usize = args[3].parse().unwrap();
            let (crowd_dir, crowd) = copies::copies("crowd", path, CROWD);
            for f in &crowd {
                open_with("glibc", f);
            }
            let (dir, files) = copies(path, reps);
            let times = timed_opens(&files, |f| open_with(loader, f));
            std::fs::remove_dir_all(dir).ok();
            std::fs::remove_dir_all(crowd_dir).ok();
            println!("{:.1}", median(times));
        }
        "many" => {
            let (dir, files) = copies(path, MANY);
            let times = timed_opens(&files, |f| open_with(loader, f));
            std::fs::remove_dir_all(dir).ok();
            let at = |from: usize| median(times.get(from..from + 50).unwrap_or(&[0.0]).to_vec());
            println!("{:.1} {:.1} {:.1}", at(0), at(MANY / 2 - 50), at(MANY - 50));
        }
        "lookup" => {
            let hit = args[3] == "hit";
            let names = exports(path);
            let names: Vec<CString> = names
                .iter()
                .map(|n| {
                    CString::new(if hit {
                        n.clone()
                    } else {
                        format!("{n}_not_there")
                    })
                    .unwrap()
                })
                .collect();
            let (dir, files) = copies(path, 1);
            let h = open_with(loader, &files[0]);
            let mut per = Vec::new();
            for _ in 0..15 {
                let t = Instant::now();
                for n in &names {
                    let a = if loader == "dynplug" {
                        // SAFETY: `h` is the `&'static Plugin` open_with returned.
                        let p = unsafe { &*(h as *const dynplug::Plugin) };
                        p.lookup(n.to_str().unwrap())
                            .map_or(std::ptr::null_mut(), |s| s.addr())
                    } else {
                        // SAFETY: a handle from dlopen and a NUL-terminated name.
                        unsafe { libc::dlsym(h, n.as_ptr()) }
                    };
                    assert_eq!(a.is_null(), !hit);
                    std::hint::black_box(a);
                }
                per.push(t.elapsed().as_secs_f64() * 1e9 / names.len() as f64);
            }
            std::fs::remove_dir_all(dir).ok();
            println!("{:.0}", median(per));
        }
        "memory" => {
            std::hint::black_box(open_with(loader, Path::new(&args[3])));
            let (dir, files) = copies(path, 1);
            let _ = std::fs::read(&files[0]);
            let before = smaps();
            std::hint::black_box(open_with(loader, &files[0]));
            let after = smaps();
            std::fs::remove_dir_all(dir).ok();
            println!("{} {}", after.0 - before.0, after.1 - before.1);
        }
        _ => panic!("unknown child mode {what}"),
    }
}

/// The exported function and object names of `path` (from `nm -D`).
fn exports(path: &Path) -> Vec<String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(path)
        .output()
        .unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && matches!(f[1], "T" | "D" | "B" | "R" | "W" | "i"))
                .then(|| f[2].split('@').next().unwrap().to_string())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// (Rss, Private_Dirty) in kB. Read into a buffer on the stack: a measurement that allocated
/// between its two readings would add its own heap pages to the loader's.
fn smaps() -> (i64, i64) {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    let mut f = std::fs::File::open("/proc/self/smaps_rollup").unwrap();
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    let t = std::str::from_utf8(&buf[..n]).unwrap();
    let get = |k: &str| {
        t.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (get("Rss:"), get("Private_Dirty:"))
}
