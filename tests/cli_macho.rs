//! `dynplug inspect` of Mach-O images, run as a program: its `--json` checked against what
//! llvm-objdump says of the same file (exports trie, bind tables, rebases), and a file the
//! Mach-O reader refuses.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn dynplug(args: &[&str]) -> Output {
    dynplug_fixtures::command(env!("CARGO_BIN_EXE_dynplug"))
        .args(args)
        .output()
        .expect("run dynplug")
}

fn objdump(args: &[&str], file: &Path) -> String {
    let exe = ["/usr/lib/llvm-14/bin/llvm-objdump", "llvm-objdump"]
        .into_iter()
        .find(|e| Command::new(e).arg("--version").output().is_ok())
        .expect("these tests need llvm-objdump (apt-get install llvm-14; .ci/run does)");
    let out = Command::new(exe).args(args).arg(file).output().unwrap();
    assert!(out.status.success(), "llvm-objdump {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    let p = dynplug_fixtures::macho_dir("x86_64").join(name);
    assert!(
        p.exists(),
        "{}: the Mach-O fixtures are built on x86_64 Linux",
        p.display()
    );
    p
}

fn inspect_json(file: &Path) -> Value {
    let o = dynplug(&["inspect", "--json", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

/// The rows of one of llvm-objdump's tables (`--bind`, `--lazy-bind`, `--weak-bind`, `--rebase`):
/// the lines after its column header, up to a blank line.
fn table(file: &Path, flag: &str) -> Vec<Vec<String>> {
    let text = objdump(&["--macho", flag], file);
    let mut rows = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("segment") {
            inside = true;
        } else if inside && line.trim().is_empty() {
            break;
        } else if inside {
            rows.push(line.split_whitespace().map(str::to_string).collect());
        }
    }
    rows
}

#[test]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    ignore = "the Mach-O fixtures are built on x86_64 Linux"
)]
fn inspect_json_agrees_with_llvm_objdump() {
    let file = fixture("macho_plugin_opcodes.bundle");
    let v = inspect_json(&file);
    assert_eq!(
        (v["format"].as_str(), v["machine"].as_str()),
        (Some("Mach-O"), Some("x86_64"))
    );
    assert_eq!(
        (v["type"].as_str(), v["fixup_format"].as_str()),
        (Some("bundle"), Some("opcodes"))
    );
    // Exports: name, offset and flags as the trie listing gives them.
    let mut want = BTreeSet::new();
    for line in objdump(&["--macho", "--exports-trie"], &file).lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let [addr, name, rest @ ..] = w.as_slice() {
            if let Some(hex) = addr.strip_prefix("0x") {
                let kind = if rest.contains(&"[per-thread]") {
                    "thread_local"
                } else {
                    "regular"
                };
                let off = u64::from_str_radix(hex, 16).unwrap();
                want.insert((
                    name.to_string(),
                    kind.to_string(),
                    off,
                    rest.contains(&"[weak_def]"),
                ));
            }
        }
    }
    let got: BTreeSet<_> = (v["exports"].as_array().unwrap().iter())
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            let kind = e["kind"].as_str().unwrap().to_string();
            (
                name,
                kind,
                e["value"].as_u64().unwrap(),
                e["weak"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(want.iter().any(|e| e.0 == "_plugin_add"));
    // Imports: every name the bind, lazy-bind and weak-bind tables bind; fixup counts per table.
    let (binds, lazy) = (table(&file, "--bind"), table(&file, "--lazy-bind"));
    let weak = table(&file, "--weak-bind");
    let rebases = table(&file, "--rebase");
    let symbol = |r: &Vec<String>, at: usize| r.get(at).cloned().unwrap_or_default();
    let mut names: BTreeSet<String> = binds.iter().map(|r| symbol(r, 6)).collect();
    names.extend(lazy.iter().map(|r| symbol(r, 4)));
    names.extend(weak.iter().filter(|r| r.len() > 4).map(|r| symbol(r, 5)));
    let imports: BTreeSet<String> = (v["imports"].as_array().unwrap().iter())
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(imports, names);
    let count = |k: &str| v["fixups"][k].as_u64().unwrap_or(0) as usize;
    assert_eq!(count("bind_eager"), binds.len());
    assert_eq!(count("bind_lazy"), lazy.len());
    assert_eq!(count("rebase"), rebases.len());
    let host_opt = (v["imports"].as_array().unwrap().iter()).find(|i| i["name"] == "_host_opt");
    assert_eq!(host_opt.unwrap()["weak_import"], true);
}

#[test]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    ignore = "the Mach-O fixtures are built on x86_64 Linux"
)]
fn inspect_of_a_refused_mach_o_fails_saying_why() {
    let dir = dynplug_fixtures::scratch_dir().join("cli-macho");
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = std::fs::read(fixture("macho_plugin_chained.dylib")).unwrap();
    // cpusubtype 2 of CPU_TYPE_ARM64 is arm64e; make the x86_64 file claim it.
    bytes[4..8].copy_from_slice(&0x0100_000cu32.to_le_bytes());
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let bad = dir.join("arm64e.dylib");
    std::fs::write(&bad, &bytes).unwrap();
    let o = dynplug(&["inspect", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("arm64e"), "{err}");
}
