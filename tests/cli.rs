//! The `dynplug` command line, run as a program: `inspect --json` checked field by field against
//! what readelf (and, for dependencies, the system's `ldd`) says of the same file; `check` with
//! and without a policy; `call` against a C program's answer; usage errors.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The target's machine as `inspect` names it (goblin's `EM_*` names without the prefix).
const MACHINE: &str = if cfg!(target_arch = "aarch64") {
    "AARCH64"
} else if cfg!(target_arch = "riscv64") {
    "RISCV"
} else {
    "X86_64"
};

fn dynplug(args: &[&str]) -> Output {
    dynplug_fixtures::command(env!("CARGO_BIN_EXE_dynplug"))
        .args(args)
        .output()
        .expect("run dynplug")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A system library the test needs: its absence fails the test loudly (.ci/run installs it).
fn system_lib(name: &str) -> PathBuf {
    let p = Path::new(dynplug_fixtures::lib_dir()).join(name);
    assert!(
        p.exists(),
        "{} is missing: install it (see .ci/run)",
        p.display()
    );
    p
}

fn readelf(flag: &str, file: &Path) -> String {
    let o = Command::new("readelf")
        .args([flag, "-W"])
        .arg(dynplug_fixtures::host_path(file))
        .output()
        .expect("readelf (binutils) is needed");
    assert!(o.status.success(), "readelf {flag} {}", file.display());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex number")
}

fn inspect_json(file: &Path) -> Value {
    let o = dynplug(&["inspect", "--json", file.to_str().unwrap()]);
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("inspect --json {}: {e}\n{}", file.display(), stderr(&o)))
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("a string: {v}"))
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("a number: {v}"))
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("an array: {v}"))
}

/// The header fields against the file's own bytes and readelf's words.
fn check_header(file: &Path, j: &Value) {
    let bytes = std::fs::read(file).unwrap();
    assert_eq!(j["class"], 64);
    assert_eq!(j["endian"], "little");
    assert_eq!(
        u64_of(&j["e_machine"]),
        u64::from(u16::from_le_bytes([bytes[18], bytes[19]]))
    );
    assert_eq!(j["machine"], MACHINE);
    assert_eq!(u64_of(&j["ei_osabi"]), u64::from(bytes[7]));
    assert_eq!(
        u64_of(&j["e_type"]),
        u64::from(u16::from_le_bytes([bytes[16], bytes[17]]))
    );
    let h = readelf("-h", file);
    let field = |name: &str| {
        h.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|r| r.trim().to_string()))
            .unwrap_or_else(|| panic!("readelf -h has {name}"))
    };
    assert!(
        field("Type:").starts_with(str_of(&j["type"])),
        "type {}",
        j["type"]
    );
    let abi = field("OS/ABI:");
    match str_of(&j["os_abi"]) {
        "SYSV" => assert_eq!(abi, "UNIX - System V"),
        "GNU" => assert_eq!(abi, "UNIX - GNU"),
        other => panic!("unexpected OS ABI {other} ({abi})"),
    }
}

/// Every program header, in order, against `readelf -l`.
fn check_segments(file: &Path, j: &Value) {
    let text = readelf("-l", file);
    let mut expected = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.trim_start().starts_with("Type ") {
            in_table = true;
            continue;
        }
        if in_table && line.trim().is_empty() {
            break;
        }
        if !in_table || line.trim_start().starts_with('[') {
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        // Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg... Align; flags may hold spaces.
        let flags: String = t[6..t.len() - 1].concat().replace('E', "X");
        expected.push((
            format!("PT_{}", t[0]),
            hex(t[2]),
            hex(t[4]),
            hex(t[5]),
            flags,
            hex(t[t.len() - 1]),
        ));
    }
    let got: Vec<_> = array(&j["segments"])
        .iter()
        .map(|s| {
            // readelf prints 14 characters of a name: "PT_" and those.
            let kind: String = str_of(&s["type"]).chars().take(17).collect();
            (
                kind,
                u64_of(&s["vaddr"]),
                u64_of(&s["filesz"]),
                u64_of(&s["memsz"]),
                str_of(&s["flags"]).replace('-', ""),
                u64_of(&s["align"]),
            )
        })
        .collect();
    assert_eq!(got, expected, "segments of {}", file.display());
}

/// One `readelf --dyn-syms` row.
struct RowSym {
    name: String,
    version: Option<(String, bool)>,
    kind: String,
    bind: String,
    vis: String,
    ndx: String,
    value: u64,
    size: u64,
}

fn dyn_syms(file: &Path) -> Vec<RowSym> {
    let text = readelf("--dyn-syms", file);
    let mut out = Vec::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() < 8 || !t[0].ends_with(':') || t[0] == "0:" || t[0] == "Num:" {
            continue;
        }
        let (name, version) = match t[7].split_once('@') {
            Some((n, v)) => match v.strip_prefix('@') {
                Some(v) => (n, Some((v.to_string(), true))),
                None => (n, Some((v.to_string(), false))),
            },
            None => (t[7], None),
        };
        let size = if t[2].starts_with("0x") {
            hex(t[2])
        } else {
            t[2].parse().unwrap()
        };
        out.push(RowSym {
            name: name.to_string(),
            version,
            kind: t[3].to_string(),
            bind: t[4].to_string(),
            vis: t[5].to_string(),
            ndx: t[6].to_string(),
            value: hex(t[1]),
            size,
        });
    }
    out
}

/// Exports and imports against `readelf --dyn-syms`; returns the imports by name with the
/// module each binds to.
fn check_symbols(file: &Path, j: &Value) -> BTreeMap<String, (Option<String>, String, Value)> {
    let rows = dyn_syms(file);
    let exported = |r: &RowSym| {
        r.ndx != "UND"
            && ["GLOBAL", "WEAK", "UNIQUE"].contains(&r.bind.as_str())
            && ["DEFAULT", "PROTECTED"].contains(&r.vis.as_str())
            && ["NOTYPE", "OBJECT", "FUNC", "COMMON", "TLS", "IFUNC"].contains(&r.kind.as_str())
            && (r.value != 0 || r.ndx == "ABS" || r.kind == "TLS")
    };
    let want: Vec<&RowSym> = rows.iter().filter(|r| exported(r)).collect();
    let got = array(&j["exports"]);
    assert_eq!(got.len(), want.len(), "export count of {}", file.display());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(str_of(&g["name"]), w.name);
        assert_eq!(
            str_of(&g["kind"]).to_uppercase(),
            w.kind.replace("GNU_", "")
        );
        assert_eq!(
            str_of(&g["bind"]).to_uppercase(),
            w.bind.replace("GNU_", "")
        );
        assert_eq!(u64_of(&g["size"]), w.size, "{}", w.name);
        assert_eq!(u64_of(&g["value"]), w.value, "{}", w.name);
        // readelf prints no version when it equals the name (a version's own symbol).
        if let Some((v, default)) = &w.version {
            assert_eq!(g["version"].as_str(), Some(v.as_str()), "{}", w.name);
            assert_eq!(g["default_version"].as_bool(), Some(*default), "{}", w.name);
        }
    }
    let want: Vec<&RowSym> = rows.iter().filter(|r| r.ndx == "UND").collect();
    let got = array(&j["imports"]);
    assert_eq!(got.len(), want.len(), "import count of {}", file.display());
    let mut out = BTreeMap::new();
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(str_of(&g["name"]), w.name);
        assert_eq!(
            g["version"].as_str(),
            w.version.as_ref().map(|v| v.0.as_str()),
            "{}",
            w.name
        );
        assert_eq!(g["weak"].as_bool(), Some(w.bind == "WEAK"), "{}", w.name);
        out.insert(
            w.name.clone(),
            (
                g["version"].as_str().map(str::to_string),
                str_of(&g["binding"]).to_string(),
                g["module"].clone(),
            ),
        );
    }
    out
}

/// Relocation counts by type against `readelf -r`, and the init/fini arrays against the
/// RELATIVE relocations that fill them.
fn check_relocations(file: &Path, j: &Value) {
    let text = readelf("-r", file);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut relative: BTreeMap<u64, u64> = BTreeMap::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        let prefix = dynplug_fixtures::inspect::R_PREFIX;
        if t.len() >= 3 && t[2].starts_with(prefix) {
            // binutils keeps aarch64's old TLS names (DTPMOD64, DTPREL64, TPREL64); dynplug
            // uses the ABI's and glibc's (TLS_DTPMOD, TLS_DTPREL, TLS_TPREL).
            let name = match t[2] {
                "R_AARCH64_TLS_DTPMOD64" => "R_AARCH64_TLS_DTPMOD",
                "R_AARCH64_TLS_DTPREL64" => "R_AARCH64_TLS_DTPREL",
                "R_AARCH64_TLS_TPREL64" => "R_AARCH64_TLS_TPREL",
                other => other,
            };
            *counts.entry(name.to_string()).or_default() += 1;
            if t[2].strip_prefix(prefix) == Some("RELATIVE") {
                relative.insert(hex(t[0]), hex(t[t.len() - 1]));
            }
        }
    }
    let got: BTreeMap<String, u64> = j["relocations"]
        .as_object()
        .expect("relocations object")
        .iter()
        .map(|(k, v)| (k.clone(), u64_of(v)))
        .collect();
    assert_eq!(got, counts, "relocation counts of {}", file.display());
    let dynamic = readelf("-d", file);
    let tag = |name: &str| {
        dynamic.lines().find_map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            (t.get(1) == Some(&name)).then(|| t[2].to_string())
        })
    };
    assert_eq!(j["init"]["init"].as_u64(), tag("(INIT)").map(|v| hex(&v)));
    assert_eq!(j["init"]["fini"].as_u64(), tag("(FINI)").map(|v| hex(&v)));
    for (arr, size) in [
        ("init_array", "(INIT_ARRAYSZ)"),
        ("fini_array", "(FINI_ARRAYSZ)"),
    ] {
        let at = tag(&format!("({})", arr.to_uppercase())).map_or(0, |v| hex(&v));
        let n = tag(size).map_or(0, |v| v.parse::<u64>().unwrap()) / 8;
        let want: Vec<u64> = (0..n)
            .filter_map(|k| relative.get(&(at + 8 * k)).copied())
            .collect();
        let got: Vec<u64> = array(&j["init"][arr]).iter().map(u64_of).collect();
        assert_eq!(got, want, "{arr} of {}", file.display());
    }
}

/// The paths the system's loader finds each library at (`ldd`), canonical.
fn ldd(file: &Path) -> BTreeMap<String, PathBuf> {
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

/// Each DT_NEEDED of the file is listed, and found where the system's loader finds it.
fn check_dependencies(file: &Path, j: &Value) {
    let needed: Vec<String> = readelf("-d", file)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .map(|l| {
            l.split('[')
                .nth(1)
                .unwrap()
                .trim_end_matches(']')
                .to_string()
        })
        .collect();
    let system = ldd(file);
    let canonical = std::fs::canonicalize(file).unwrap();
    let deps = array(&j["dependencies"]);
    let own: Vec<&Value> = deps
        .iter()
        .filter(|d| Path::new(str_of(&d["needed_by"])) == canonical)
        .collect();
    let names: Vec<&str> = own.iter().map(|d| str_of(&d["name"])).collect();
    assert_eq!(names, needed, "dependencies of {}", file.display());
    for d in deps {
        let name = str_of(&d["name"]);
        assert_ne!(d["status"], "missing", "{name}: {}", d["reason"]);
        let path = std::fs::canonicalize(str_of(&d["path"])).unwrap();
        if let Some(want) = system.get(name) {
            assert_eq!(&path, want, "{name} found where ldd finds it");
        }
    }
}

/// Every import bound to a module is defined there (its readelf symbol table says so).
fn check_bindings(imports: &BTreeMap<String, (Option<String>, String, Value)>) {
    let mut defined: BTreeMap<String, BTreeSet<(String, Option<String>)>> = BTreeMap::new();
    let mut bound = 0;
    for (name, (version, status, module)) in imports {
        if status != "module" {
            assert!(
                ["absent", "dynplug"].contains(&status.as_str()),
                "{name}: {status}"
            );
            continue;
        }
        let module = str_of(module).to_string();
        let defs = defined.entry(module.clone()).or_insert_with(|| {
            dyn_syms(Path::new(&module))
                .into_iter()
                .filter(|r| r.ndx != "UND")
                .map(|r| (r.name, r.version.map(|v| v.0)))
                .collect()
        });
        let found = defs
            .iter()
            .any(|(n, v)| n == name && (version.is_none() || v == version));
        assert!(found, "{name}@{version:?} is defined in {module}");
        bound += 1;
    }
    assert!(bound > 0, "some import binds to a module");
}

fn check_everything(file: &Path) -> Value {
    let j = inspect_json(file);
    assert_eq!(j["file"], file.to_str().unwrap());
    check_header(file, &j);
    check_segments(file, &j);
    let imports = check_symbols(file, &j);
    check_bindings(&imports);
    check_relocations(file, &j);
    check_dependencies(file, &j);
    assert_eq!(j["ok"], true, "{}: {}", file.display(), j["problems"]);
    assert_eq!(array(&j["problems"]).len(), 0);
    j
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 OpenSSL: its riscv64 packages are only the cross C library, libstdc++ and libgcc"
)]
fn inspect_json_of_libcrypto() {
    let j = check_everything(&system_lib("libcrypto.so.3"));
    assert_eq!(j["soname"], "libcrypto.so.3");
}

#[test]
fn inspect_json_of_libstdcxx_with_its_tls() {
    let file = system_lib("libstdc++.so.6");
    let j = check_everything(&file);
    assert_eq!(j["soname"], "libstdc++.so.6");
    let tls = readelf("-l", &file)
        .lines()
        .find(|l| l.trim_start().starts_with("TLS "))
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .expect("libstdc++ has a PT_TLS");
    assert_eq!(u64_of(&j["tls"]["size"]), hex(&tls[5]));
    assert_eq!(u64_of(&j["tls"]["init_size"]), hex(&tls[4]));
}

#[test]
fn inspect_json_of_a_plugin_with_versioned_imports_from_its_dependency() {
    let file = dynplug_fixtures::path("ver_user");
    let j = check_everything(&file);
    let dep = &array(&j["dependencies"])[0];
    assert_eq!(dep["name"], "a_ver.so");
    assert_eq!(dep["status"], "file");
    assert_eq!(
        Path::new(str_of(&dep["path"])),
        std::fs::canonicalize(dynplug_fixtures::path("a_ver")).unwrap()
    );
    let vfunc: Vec<&Value> = array(&j["imports"])
        .iter()
        .filter(|i| i["name"] == "vfunc")
        .collect();
    assert!(!vfunc.is_empty(), "ver_user imports vfunc");
    for i in vfunc {
        assert_eq!(i["binding"], "module");
        assert_eq!(
            Path::new(str_of(&i["module"])),
            Path::new(str_of(&dep["path"]))
        );
    }
}

#[test]
fn inspect_json_tells_the_tls_model() {
    for (name, model) in [("tls_gd", "dynamic"), ("tls_desc", "descriptor")] {
        if name == "tls_desc" && cfg!(target_arch = "riscv64") {
            eprintln!("tls_desc not inspected: riscv64's gcc 12 makes no TLS descriptors");
            continue;
        }
        let file = dynplug_fixtures::path(name);
        let j = check_everything(&file);
        assert_eq!(j["tls"]["models"], serde_json::json!([model]), "{name}");
    }
}

#[test]
fn inspect_lists_what_an_open_would_refuse() {
    let file = dynplug_fixtures::path("undefined");
    let o = dynplug(&["inspect", "--json", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "a problem found is exit status 1");
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["ok"], false);
    let problems = array(&j["problems"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = str_of(&problems[0]);
    assert!(
        p.contains("dynplug_missing_one") && p.contains("dynplug_missing_two"),
        "{p}"
    );
    let missing: BTreeSet<&str> = array(&j["imports"])
        .iter()
        .filter(|i| i["binding"] == "missing")
        .map(|i| str_of(&i["name"]))
        .collect();
    assert_eq!(
        missing,
        BTreeSet::from(["dynplug_missing_one", "dynplug_missing_two"])
    );
    // The text form says the same.
    let o = dynplug(&["inspect", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("dynplug_missing_one"), "{}", stdout(&o));
}

#[test]
fn inspect_of_a_missing_dependency_says_where_it_looked() {
    // dep_user_ldpath needs a library only LD_LIBRARY_PATH finds: without it, missing.
    let file = dynplug_fixtures::path("dep_user_ldpath");
    let o = dynplug_fixtures::command(env!("CARGO_BIN_EXE_dynplug"))
        .args(["inspect", "--json", file.to_str().unwrap()])
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &array(&j["dependencies"])[0];
    assert_eq!(d["status"], "missing");
    assert!(d["path"].is_null());
    assert!(
        str_of(&d["reason"]).contains("looked in"),
        "{}",
        d["reason"]
    );
}

fn write_policy(name: &str, text: &str) -> PathBuf {
    let dir = dynplug_fixtures::scratch_dir().join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn check_without_and_with_a_policy() {
    let hello = dynplug_fixtures::path("hello");
    let hello = hello.to_str().unwrap();
    let o = dynplug(&["check", hello]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("ok"));
    // hello.so calls printf: a policy without it refuses it, by name.
    let deny = write_policy(
        "no-printf",
        "# nothing but allocation\nmalloc\n\nfree # and its pair\n",
    );
    let o = dynplug(&["check", hello, "--policy", deny.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("printf"), "{}", stdout(&o));
    let allow = write_policy("printf", "printf\n");
    let o = dynplug(&[
        "check",
        hello,
        "--policy",
        allow.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["ok"], true);
    // Several files, one JSON object per line; one bad file makes the status 1.
    let undefined = dynplug_fixtures::path("undefined");
    let o = dynplug(&["check", "--json", hello, undefined.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[1]["ok"], false);
    assert!(str_of(&array(&lines[1]["problems"])[0]).contains("dynplug_missing_one"));
    // A file that is not ELF: exit 1, the error on stderr.
    let o = dynplug(&["check", deny.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not an ELF"), "{}", stderr(&o));
}

/// What a C program linked against libz gets from `zlibCompileFlags()`.
fn zlib_compile_flags_from_c() -> String {
    let libz = system_lib("libz.so.1");
    let dir = dynplug_fixtures::scratch_dir().join("cli-c");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("zflags.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nunsigned long zlibCompileFlags(void);\n\
         int main(void) { printf(\"%lu\\n\", zlibCompileFlags()); return 0; }\n",
    )
    .unwrap();
    let exe = dir.join("zflags");
    let st = Command::new(dynplug_fixtures::CC)
        .arg(&src)
        .arg(&libz)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("cc");
    assert!(st.success(), "compile the C reference");
    let o = dynplug_fixtures::command(&exe).output().unwrap();
    assert!(o.status.success());
    stdout(&o)
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 zlib: its riscv64 packages are only the cross C library, libstdc++ and libgcc"
)]
fn call_zlib_compile_flags_prints_what_c_gets() {
    let libz = system_lib("libz.so.1");
    let o = dynplug(&["call", libz.to_str().unwrap(), "zlibCompileFlags"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let from_c = zlib_compile_flags_from_c();
    assert_eq!(stdout(&o), from_c);
    // A bare library name is searched as dlopen searches it.
    let o = dynplug(&["call", "libz.so.1", "zlibCompileFlags"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), from_c);
    let o = dynplug(&[
        "call",
        libz.to_str().unwrap(),
        "zlibVersion",
        "--ret",
        "str",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("1."), "{}", stdout(&o));
}

#[test]
fn call_a_fixture_with_arguments_strings_null_and_void() {
    let f = dynplug_fixtures::path("cli_call");
    let f = f.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["call", f];
        all.extend_from_slice(args);
        let o = dynplug(&all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(run(&["cli_sum6", "1", "2", "3", "4", "5", "6"]), "91\n");
    assert_eq!(run(&["cli_sum6", "0x10", "-1"]), "14\n");
    assert_eq!(run(&["cli_negate", "--", "-0x10"]), "16\n");
    assert_eq!(
        run(&["cli_negate", "-9223372036854775807"]),
        "9223372036854775807\n"
    );
    assert_eq!(run(&["cli_name", "--ret", "str"]), "dynplug \"cli\"\n");
    assert_eq!(run(&["cli_null", "--ret", "str"]), "(null)\n");
    assert_eq!(run(&["cli_touch", "--ret", "void"]), "");
    // Problems found: exit 1, the error on stderr.
    let o = dynplug(&["call", f, "cli_nothing"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cli_nothing"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    // A variable is not called (it would crash): said, exit 1.
    let o = dynplug(&["call", f, "cli_variable"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not code"), "{}", stderr(&o));
    let o = dynplug(&["call", "/nonexistent/plugin.so", "f"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).is_empty());
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let f = dynplug_fixtures::path("cli_call");
    let f = f.to_str().unwrap();
    for bad in [
        &[][..],
        &["frobnicate"],
        &["inspect"],
        &["check"],
        &["call", f],
        &["call", f, "cli_sum6", "1", "2", "3", "4", "5", "6", "7"],
        &["call", f, "cli_sum6", "12a"],
        &["call", f, "cli_sum6", "0x1ffffffffffffffff"],
        &["call", f, "cli_name", "--ret", "float"],
        &["check", f, "--policy", "/nonexistent/policy"],
    ] {
        let o = dynplug(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty(), "{bad:?}: the error goes to stderr");
        assert!(stdout(&o).is_empty(), "{bad:?}");
    }
    for help in [
        &["--help"][..],
        &["inspect", "--help"],
        &["check", "--help"],
        &["call", "--help"],
    ] {
        let o = dynplug(help);
        assert_eq!(o.status.code(), Some(0), "{help:?}");
        assert!(
            stdout(&o).contains("Usage: dynplug"),
            "{help:?}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn inspect_of_files_dynplug_refuses_reports_what_it_can() {
    let dir = dynplug_fixtures::scratch_dir().join("cli-bad");
    std::fs::create_dir_all(&dir).unwrap();
    // hello.so marked 32-bit: the header as found, and the refusal.
    let mut bytes = std::fs::read(dynplug_fixtures::path("hello")).unwrap();
    bytes[4] = 1;
    let elf32 = dir.join("elf32.so");
    std::fs::write(&elf32, &bytes).unwrap();
    let o = dynplug(&["inspect", "--json", elf32.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["class"], 32);
    assert_eq!(j["machine"], MACHINE);
    assert_eq!(j["ok"], false);
    assert!(
        str_of(&array(&j["problems"])[0]).contains("32-bit"),
        "{}",
        j["problems"]
    );
    // One rule, as for an open: what does not begin with the ELF magic (an empty file, text)
    // is not ELF at all.
    for (name, bytes) in [("empty.so", &b""[..]), ("text.so", b"hello, world\n")] {
        let file = dir.join(name);
        std::fs::write(&file, bytes).unwrap();
        let o = dynplug(&["inspect", "--json", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stdout(&o).is_empty(), "{name}");
        assert!(stderr(&o).contains("not an ELF"), "{name}: {}", stderr(&o));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
