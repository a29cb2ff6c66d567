//! `dynplug inspect` of a Mach-O image: what dynplug's Mach-O reader finds in it (header,
//! segments, dependencies, exports, imports, fixups, initialisers), or why it refuses it.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use dynplug_loader::macho::{self, MachO};
use serde_json::{json, Value};

/// Whether the file at `path` starts like a Mach-O (or universal) file.
pub fn is_macho(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| macho::is_macho(&head))
}

/// `inspect FILE [--json]` of a Mach-O file: exit status 1 if dynplug's reader refuses it or
/// finds a problem in its fixups or exports.
pub fn run(file: &Path, as_json: bool) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("dynplug: {}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let image = match MachO::parse(&bytes) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("dynplug: {}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let (facts, problems) = describe(file, &image);
    let mut out = io::stdout().lock();
    let written = if as_json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&facts).unwrap_or_default()
        )
    } else {
        print_text(&mut out, &facts)
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("dynplug: {e}");
            return ExitCode::from(1);
        }
    }
    if problems {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn prot(p: &macho::Prot) -> String {
    [(p.read, 'r'), (p.write, 'w'), (p.exec, 'x')]
        .iter()
        .map(|&(on, c)| if on { c } else { '-' })
        .collect()
}

/// The facts as the JSON object docs/cli.md documents, and whether a problem was found.
fn describe(file: &Path, m: &MachO<'_>) -> (Value, bool) {
    let mut problems = Vec::new();
    let segments: Vec<Value> = (m.segments.iter())
        .map(|s| {
            json!({
                "name": s.name, "vmaddr": s.vmaddr, "vmsize": s.vmsize, "fileoff": s.fileoff,
                "filesize": s.filesize, "initprot": prot(&s.initprot), "maxprot": prot(&s.maxprot),
                "read_only_after_fixups": s.read_only_after_fixups,
            })
        })
        .collect();
    let dependencies: Vec<Value> = (m.dylibs.iter())
        .map(|d| json!({ "name": d.name, "kind": format!("{:?}", d.kind).to_lowercase() }))
        .collect();
    let mut exports = Vec::new();
    for e in m.exports() {
        match e {
            Ok((name, e)) => exports.push(export(&name, &e)),
            Err(e) => problems.push(e.to_string()),
        }
    }
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut imports = BTreeMap::new();
    for f in m.fixups() {
        match f {
            Ok(f) => match f.kind {
                macho::FixupKind::Rebase { .. } => {
                    *counts.entry("rebase".into()).or_insert(0u64) += 1
                }
                macho::FixupKind::Bind(b) => {
                    let stream = format!("bind_{:?}", b.stream).to_lowercase();
                    *counts.entry(stream).or_insert(0u64) += 1;
                    imports.insert(b.name.to_string(), import(m, &b));
                }
            },
            Err(e) => {
                problems.push(e.to_string());
                break;
            }
        }
    }
    let initialisers = (m.sections.iter())
        .filter(|s| {
            matches!(
                s.kind,
                macho::SectionKind::InitPointers | macho::SectionKind::InitOffsets
            )
        })
        .map(|s| json!({ "section": s.name, "vmoffset": s.vmoffset, "size": s.size }))
        .collect::<Vec<_>>();
    let facts = json!({
        "file": file.display().to_string(),
        "format": "Mach-O",
        "machine": match m.header.arch { macho::Arch::X86_64 => "x86_64", macho::Arch::Arm64 => "arm64" },
        "type": match m.header.kind { macho::FileKind::Dylib => "dylib", macho::FileKind::Bundle => "bundle" },
        "install_name": m.id,
        "fixup_format": if m.chained_fixups.is_some() { "chained" } else if m.dyld_info.is_some() { "opcodes" } else { "none" },
        "segments": segments,
        "dependencies": dependencies,
        "rpaths": m.rpaths,
        "exports": exports,
        "imports": imports.into_values().collect::<Vec<_>>(),
        "fixups": counts,
        "routines": m.routines,
        "initialisers": initialisers,
        "problems": problems,
    });
    (facts, !problems.is_empty())
}

fn export(name: &str, e: &macho::Export<'_>) -> Value {
    let (kind, value) = match e.kind {
        macho::ExportKind::Regular { offset } => ("regular", json!(offset)),
        macho::ExportKind::ThreadLocal { offset } => ("thread_local", json!(offset)),
        macho::ExportKind::Absolute { value } => ("absolute", json!(value)),
        macho::ExportKind::Reexport { library, name } => {
            ("reexport", json!({ "library": library, "name": name }))
        }
        macho::ExportKind::StubAndResolver { stub, resolver } => (
            "stub_and_resolver",
            json!({ "stub": stub, "resolver": resolver }),
        ),
    };
    json!({ "name": name, "kind": kind, "value": value, "weak": e.weak })
}

fn import(m: &MachO<'_>, b: &macho::Bind<'_>) -> Value {
    let from = match b.ordinal {
        macho::LibOrdinal::Self_ => "self".to_string(),
        macho::LibOrdinal::MainExecutable => "main executable".to_string(),
        macho::LibOrdinal::FlatLookup => "flat lookup".to_string(),
        macho::LibOrdinal::WeakLookup => "weak lookup".to_string(),
        macho::LibOrdinal::Dylib(i) => m.dylibs.get(i).map_or_else(String::new, |d| d.name.clone()),
    };
    json!({ "name": b.name, "from": from, "weak_import": b.weak_import })
}

fn print_text(o: &mut impl Write, f: &Value) -> io::Result<()> {
    let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
    writeln!(o, "{}", s("file"))?;
    writeln!(
        o,
        "  Mach-O {} {}, {} fixups",
        s("machine"),
        s("type"),
        s("fixup_format")
    )?;
    if let Some(n) = f["install_name"].as_str() {
        writeln!(o, "  install name {n}")?;
    }
    writeln!(o, "segments:")?;
    for g in f["segments"].as_array().into_iter().flatten() {
        writeln!(
            o,
            "  {:<16} {}/{} vmaddr {:#010x} vmsize {:#x} fileoff {:#x} filesize {:#x}{}",
            g["name"].as_str().unwrap_or(""),
            g["initprot"].as_str().unwrap_or(""),
            g["maxprot"].as_str().unwrap_or(""),
            g["vmaddr"].as_u64().unwrap_or(0),
            g["vmsize"].as_u64().unwrap_or(0),
            g["fileoff"].as_u64().unwrap_or(0),
            g["filesize"].as_u64().unwrap_or(0),
            if g["read_only_after_fixups"].as_bool() == Some(true) {
                " (read-only after fixups)"
            } else {
                ""
            }
        )?;
    }
    writeln!(o, "dependencies:")?;
    for d in f["dependencies"].as_array().into_iter().flatten() {
        writeln!(
            o,
            "  {} ({})",
            d["name"].as_str().unwrap_or(""),
            d["kind"].as_str().unwrap_or("")
        )?;
    }
    let list = |k: &str| f[k].as_array().cloned().unwrap_or_default();
    writeln!(o, "exports ({}):", list("exports").len())?;
    for e in list("exports") {
        let weak = if e["weak"].as_bool() == Some(true) {
            " weak"
        } else {
            ""
        };
        writeln!(
            o,
            "  {} {}{weak} {}",
            e["name"].as_str().unwrap_or(""),
            e["kind"].as_str().unwrap_or(""),
            e["value"]
        )?;
    }
    writeln!(o, "imports ({}):", list("imports").len())?;
    for i in list("imports") {
        let weak = if i["weak_import"].as_bool() == Some(true) {
            " (weak)"
        } else {
            ""
        };
        writeln!(
            o,
            "  {} from {}{weak}",
            i["name"].as_str().unwrap_or(""),
            i["from"].as_str().unwrap_or("")
        )?;
    }
    writeln!(o, "fixups: {}", f["fixups"])?;
    writeln!(o, "initialisers:")?;
    for i in list("initialisers") {
        writeln!(
            o,
            "  {} at {:#x} ({} bytes)",
            i["section"].as_str().unwrap_or(""),
            i["vmoffset"].as_u64().unwrap_or(0),
            i["size"].as_u64().unwrap_or(0)
        )?;
    }
    for p in list("problems") {
        writeln!(o, "problem: {}", p.as_str().unwrap_or(""))?;
    }
    Ok(())
}
