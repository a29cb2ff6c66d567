//! The Mach-O reader on the fixtures built from `testdata/macho/` (x86_64 and arm64, chained and
//! opcode fixups, dylib and bundle): segments and symbols checked against llvm-objdump, exports
//! against the nlist symbol table, opcode fixups against llvm-objdump's listing, and chained
//! fixups against the opcode build of the same object, symbol by symbol.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use dynplug_loader::macho::symtab::{self, Symbol};
use dynplug_loader::macho::{
    Arch, BindStream, DylibKind, ExportKind, FileKind, FixupKind, LibOrdinal, MachO, SectionKind,
};

const ARCHES: [&str; 2] = ["x86_64", "arm64"];

fn fixture(arch: &str, fixups: &str, ext: &str) -> PathBuf {
    dynplug_fixtures::macho_dir(arch).join(format!("macho_plugin_{fixups}.{ext}"))
}

fn plugins() -> Vec<(String, String, String, PathBuf)> {
    let mut v = Vec::new();
    for arch in ARCHES {
        for fixups in ["chained", "opcodes"] {
            for ext in ["dylib", "bundle"] {
                let p = fixture(arch, fixups, ext);
                v.push((arch.into(), fixups.into(), ext.into(), p));
            }
        }
    }
    v
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// llvm-objdump 14 (the llvm-14 package, which clang recommends) or any on PATH.
fn objdump(args: &[&str], file: &Path) -> String {
    let exe = ["/usr/lib/llvm-14/bin/llvm-objdump", "llvm-objdump"]
        .into_iter()
        .find(|e| Command::new(e).arg("--version").output().is_ok())
        .expect("these tests need llvm-objdump (apt-get install llvm-14)");
    let out = Command::new(exe).args(args).arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "llvm-objdump {args:?} {}",
        file.display()
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `--private-headers`' segments: (name, vmaddr, vmsize, fileoff, filesize, maxprot, initprot).
fn objdump_segments(file: &Path) -> Vec<(String, u64, u64, u64, u64, String, String)> {
    let text = objdump(&["--macho", "--private-headers"], file);
    let mut v = Vec::new();
    let mut cur: Option<Vec<String>> = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["cmd", "LC_SEGMENT_64"] => cur = Some(Vec::new()),
            [key, value] if cur.is_some() => {
                let c = cur.as_mut().unwrap();
                if [
                    "segname", "vmaddr", "vmsize", "fileoff", "filesize", "maxprot", "initprot",
                ]
                .contains(key)
                {
                    c.push(value.to_string());
                }
                if *key == "initprot" {
                    let c = cur.take().unwrap();
                    // objdump prints addresses in hex, file offsets and sizes in decimal.
                    let num = |s: &String| match s.strip_prefix("0x") {
                        Some(h) => u64::from_str_radix(h, 16).unwrap(),
                        None => s.parse().unwrap(),
                    };
                    v.push((
                        c[0].clone(),
                        num(&c[1]),
                        num(&c[2]),
                        num(&c[3]),
                        num(&c[4]),
                        c[5].clone(),
                        c[6].clone(),
                    ));
                }
            }
            _ => {}
        }
    }
    v
}

fn prot_string(p: dynplug_loader::macho::Prot) -> String {
    format!(
        "{}{}{}",
        if p.read { 'r' } else { '-' },
        if p.write { 'w' } else { '-' },
        if p.exec { 'x' } else { '-' }
    )
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn headers_commands_and_segments_match_objdump() {
    for (arch, fixups, ext, path) in plugins() {
        let bytes = read(&path);
        let m = MachO::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let want_arch = if arch == "x86_64" {
            Arch::X86_64
        } else {
            Arch::Arm64
        };
        assert_eq!(m.header.arch, want_arch);
        let dylib = ext == "dylib";
        assert_eq!(
            m.header.kind,
            if dylib {
                FileKind::Dylib
            } else {
                FileKind::Bundle
            }
        );
        assert_eq!(
            m.id.as_deref(),
            dylib.then_some("@rpath/macho_plugin.dylib")
        );
        assert_eq!(m.dylibs.len(), 1, "{}", path.display());
        assert_eq!(m.dylibs[0].name, "@rpath/libmacho_dep.dylib");
        assert_eq!(m.dylibs[0].kind, DylibKind::Load);
        assert_eq!(m.chained_fixups.is_some(), fixups == "chained");
        assert_eq!(m.exports_trie.is_some(), fixups == "chained");
        assert_eq!(m.dyld_info.is_some(), fixups == "opcodes");
        assert_ne!(
            m.header.flags & dynplug_loader::macho::MH_HAS_TLV_DESCRIPTORS,
            0
        );
        let want = objdump_segments(&path);
        assert_eq!(want.len(), m.segments.len(), "{}", path.display());
        for (s, w) in m.segments.iter().zip(&want) {
            assert_eq!(
                (&s.name, s.vmaddr, s.vmsize, s.fileoff, s.filesize),
                (&w.0, w.1, w.2, w.3, w.4),
                "{}",
                path.display()
            );
            assert_eq!(prot_string(s.maxprot), w.5, "{} {}", path.display(), s.name);
            assert_eq!(
                prot_string(s.initprot),
                w.6,
                "{} {}",
                path.display(),
                s.name
            );
            assert_eq!(s.read_only_after_fixups, s.name == "__DATA_CONST");
        }
        let names: Vec<&str> = m.segments.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["__TEXT", "__DATA_CONST", "__DATA", "__LINKEDIT"]);
        check_sections(&m, &fixups);
    }
}

/// Initialisers where the reference says each linker mode puts them; two TLV descriptors and one
/// int of each of initialised and zero-filled template.
fn check_sections(m: &MachO<'_>, fixups: &str) {
    let size = |k: SectionKind| -> Vec<u64> {
        m.sections
            .iter()
            .filter(|s| s.kind == k)
            .map(|s| s.size)
            .collect()
    };
    if fixups == "chained" {
        assert_eq!(size(SectionKind::InitOffsets), [4]);
        assert!(size(SectionKind::InitPointers).is_empty());
    } else {
        assert_eq!(size(SectionKind::InitPointers), [8]);
        assert!(size(SectionKind::InitOffsets).is_empty());
    }
    assert_eq!(size(SectionKind::ThreadVars), [48]);
    assert_eq!(size(SectionKind::ThreadData), [4]);
    assert_eq!(size(SectionKind::ThreadBss), [4]);
}

fn symbols<'a>(m: &MachO<'a>) -> Vec<Symbol<'a>> {
    symtab::symbols(m).collect::<Result<_, _>>().unwrap()
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn symbols_match_objdump_and_exports_match_symbols() {
    for (_, _, _, path) in plugins() {
        let bytes = read(&path);
        let m = MachO::parse(&bytes).unwrap();
        let syms = symbols(&m);
        // The nlist reader against objdump's symbol table: every defined symbol's address.
        let text = objdump(&["--macho", "--syms"], &path);
        let mut listed = BTreeSet::new();
        for line in text.lines().filter(|l| !l.contains("*UND*")) {
            let w: Vec<&str> = line.split_whitespace().collect();
            if let (Some(addr), Some(name)) = (w.first(), w.last()) {
                if let Ok(a) = u64::from_str_radix(addr, 16) {
                    listed.insert((name.to_string(), a));
                }
            }
        }
        let ours: BTreeSet<(String, u64)> = syms
            .iter()
            .filter(|s| s.n_type & symtab::N_TYPE == symtab::N_SECT)
            .map(|s| (s.name.to_string(), s.n_value))
            .collect();
        assert_eq!(ours, listed, "{}", path.display());
        // The trie exports exactly the external defined symbols, at their addresses.
        let exports: Vec<_> = m.exports().collect::<Result<_, _>>().unwrap();
        let from_trie: BTreeSet<(String, u64)> = exports
            .iter()
            .map(|(n, e)| match e.kind {
                ExportKind::Regular { offset } | ExportKind::ThreadLocal { offset } => {
                    (n.clone(), offset)
                }
                k => panic!("{n}: unexpected {k:?}"),
            })
            .collect();
        let external: BTreeSet<(String, u64)> = syms
            .iter()
            .filter(|s| s.is_defined_external())
            .map(|s| (s.name.to_string(), s.n_value - m.base()))
            .collect();
        assert_eq!(from_trie, external, "{}", path.display());
        for (name, e) in &exports {
            let tls = name.starts_with("_tls_");
            assert_eq!(
                matches!(e.kind, ExportKind::ThreadLocal { .. }),
                tls,
                "{name}"
            );
            assert_eq!(e.weak, name == "_wdef", "{name}");
            assert_eq!(m.export(name).unwrap(), Some(*e), "lookup of {name}");
        }
        let add = syms.iter().find(|s| s.name == "_plugin_add").unwrap();
        let found = m.export("_plugin_add").unwrap().unwrap();
        assert_eq!(
            found.kind,
            ExportKind::Regular {
                offset: add.n_value - m.base()
            }
        );
        for absent in [
            "plugin_add",
            "_plugin_ad",
            "_plugin_addx",
            "",
            "_host_add",
            "_twice",
        ] {
            assert_eq!(m.export(absent).unwrap(), None, "{absent:?}");
        }
    }
}

/// What a fixup does, in terms that do not depend on the layout: where (the symbol holding the
/// word, or the section when no symbol names it) and what (the symbol a rebase points at, or the
/// bind's library, name, addend and weakness).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Meaning {
    at: String,
    what: String,
}

fn place(m: &MachO<'_>, syms: &[Symbol<'_>], off: u64) -> String {
    let addr = off.wrapping_add(m.base());
    // The symbol with the highest address at or below, in the same section.
    let sect = m
        .sections
        .iter()
        .position(|s| s.vmoffset <= off && off < s.vmoffset + s.size.max(1));
    let best = syms
        .iter()
        .filter(|s| s.n_type & symtab::N_TYPE == symtab::N_SECT && s.n_value <= addr)
        .filter(|s| sect.is_some_and(|i| usize::from(s.n_sect) == i + 1))
        .max_by_key(|s| (s.n_value, s.name));
    match (best, sect) {
        (Some(s), _) => format!("{}+{}", s.name, addr - s.n_value),
        (None, Some(i)) => m.sections[i].name.clone(),
        (None, None) => format!("?{off:#x}"),
    }
}

/// The effect of the fixups on each word: the last one in dyld's order wins (a weak bind
/// overrides the rebase to the image's own weak definition), the stream it came from left out.
fn meanings(m: &MachO<'_>) -> Vec<Meaning> {
    let syms = symbols(m);
    let mut last = std::collections::BTreeMap::new();
    for f in m.fixups() {
        let f = f.unwrap();
        last.insert(f.offset, f.kind);
    }
    let mut v: Vec<Meaning> = last
        .into_iter()
        .map(|(offset, kind)| {
            let what = match kind {
                FixupKind::Rebase { target } => format!("-> {}", place(m, &syms, target)),
                FixupKind::Bind(b) => format!(
                    "bind {:?} {} {:+} weak_import={}",
                    b.ordinal, b.name, b.addend, b.weak_import
                ),
            };
            Meaning {
                at: place(m, &syms, offset),
                what,
            }
        })
        .collect();
    v.sort();
    v
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn chained_and_opcode_builds_fix_the_same_data() {
    for arch in ARCHES {
        for ext in ["dylib", "bundle"] {
            let (cb, ob) = (
                read(&fixture(arch, "chained", ext)),
                read(&fixture(arch, "opcodes", ext)),
            );
            let (c, o) = (MachO::parse(&cb).unwrap(), MachO::parse(&ob).unwrap());
            let (cm, om) = (meanings(&c), meanings(&o));
            // Words named by a data symbol: the same fixups, symbol for symbol.
            let named = |v: &[Meaning]| -> Vec<Meaning> {
                v.iter()
                    .filter(|x| !x.at.starts_with("__"))
                    .cloned()
                    .collect()
            };
            let (cn, on) = (named(&cm), named(&om));
            assert_eq!(cn, on, "{arch} {ext}");
            let expect = [
                ("_fp_table+0", "-> _twice+0"),
                ("_counter_ptr+0", "-> _counter+0"),
                (
                    "_dep_value_ptr_off+0",
                    "bind Dylib(0) _dep_value +8 weak_import=false",
                ),
                (
                    "_import_ptr+0",
                    "bind FlatLookup _host_add +0 weak_import=false",
                ),
                (
                    "_opt_ptr+0",
                    "bind FlatLookup _host_opt +0 weak_import=true",
                ),
                (
                    "_tls_var+0",
                    "bind FlatLookup __tlv_bootstrap +0 weak_import=false",
                ),
                (
                    "_tls_zero+0",
                    "bind FlatLookup __tlv_bootstrap +0 weak_import=false",
                ),
            ];
            for (at, what) in expect {
                let m = Meaning {
                    at: at.into(),
                    what: what.into(),
                };
                assert!(cn.contains(&m), "{arch} {ext}: missing {m:?} in {cn:#?}");
            }
            // _fp_table[1] = wdef: weak-definition coalescing (opcodes: a rebase to the local
            // definition then a weak-bind override; chained: a bind with ordinal -3).
            let wdef = Meaning {
                at: "_fp_table+8".into(),
                what: "bind WeakLookup _wdef +0 weak_import=false".into(),
            };
            assert!(cn.contains(&wdef), "{arch} {ext}: {cn:#?}");
            // Every imported name, with its library and weakness, is bound in both builds;
            // only the opcode build's stub helper needs dyld_stub_binder.
            let binds = |m: &MachO<'_>| -> BTreeSet<(String, String, bool)> {
                m.fixups()
                    .filter_map(|f| match f.unwrap().kind {
                        FixupKind::Bind(b) if b.name != "dyld_stub_binder" => Some((
                            b.name.to_string(),
                            format!("{:?}", b.ordinal),
                            b.weak_import,
                        )),
                        _ => None,
                    })
                    .collect()
            };
            let (cb2, ob2) = (binds(&c), binds(&o));
            assert_eq!(cb2, ob2, "{arch} {ext}");
            for name in ["_host_add", "_host_opt", "_dep_mul", "_dep_value", "_wdef"] {
                assert!(
                    cb2.iter().any(|b| b.0 == name),
                    "{arch} {ext}: no bind of {name}"
                );
            }
            assert!(cb2.contains(&("_host_opt".into(), "FlatLookup".into(), true)));
            assert!(cb2.contains(&("_wdef".into(), "WeakLookup".into(), false)));
            check_initialisers(&c, &o);
        }
    }
}

/// The chained build's `__init_offsets` entry and the opcode build's rebased `__mod_init_func`
/// pointer both name `_init`.
fn check_initialisers(c: &MachO<'_>, o: &MachO<'_>) {
    let s = c
        .sections
        .iter()
        .find(|s| s.kind == SectionKind::InitOffsets)
        .unwrap();
    let at = s.fileoff as usize;
    let off = u32::from_le_bytes(c.bytes[at..at + 4].try_into().unwrap());
    assert_eq!(place(c, &symbols(c), off.into()), "_init+0");
    let s = o
        .sections
        .iter()
        .find(|s| s.kind == SectionKind::InitPointers)
        .unwrap();
    let syms = symbols(o);
    let targets: Vec<String> = o
        .fixups()
        .map(Result::unwrap)
        .filter(|f| f.offset >= s.vmoffset && f.offset < s.vmoffset + s.size)
        .map(|f| match f.kind {
            FixupKind::Rebase { target } => place(o, &syms, target),
            k => panic!("{k:?} in __mod_init_func"),
        })
        .collect();
    assert_eq!(targets, ["_init+0"]);
}

/// One line of llvm-objdump's `--rebase`/`--bind`/`--lazy-bind`/`--weak-bind` tables, as
/// (table, address, symbol or "", addend, library or "").
fn objdump_fixups(file: &Path) -> BTreeSet<(String, u64, String, i64, String)> {
    let text = objdump(
        &[
            "--macho",
            "--rebase",
            "--bind",
            "--lazy-bind",
            "--weak-bind",
        ],
        file,
    );
    let mut table = String::new();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if let Some(t) = line.strip_suffix(" table:") {
            table = t.to_string();
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let Some(addr) = w.get(2).and_then(|a| a.strip_prefix("0x")) else {
            continue;
        };
        let addr = u64::from_str_radix(addr, 16).unwrap();
        let entry = match table.as_str() {
            "Rebase" => (String::new(), 0, String::new()),
            "Bind" => (w[6].to_string(), w[4].parse().unwrap(), w[5].to_string()),
            "Lazy bind" => (w[4].to_string(), 0, w[3].to_string()),
            "Weak bind" => (w[5].to_string(), w[4].parse().unwrap(), String::new()),
            t => panic!("table {t}"),
        };
        out.insert((table.clone(), addr, entry.0, entry.1, entry.2));
    }
    out
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn opcode_fixups_match_objdump() {
    for arch in ARCHES {
        for ext in ["dylib", "bundle"] {
            let path = fixture(arch, "opcodes", ext);
            let bytes = read(&path);
            let m = MachO::parse(&bytes).unwrap();
            let mut ours = BTreeSet::new();
            for f in m.fixups() {
                let f = f.unwrap();
                let addr = f.offset + m.base();
                let entry = match f.kind {
                    FixupKind::Rebase { .. } => ("Rebase", String::new(), 0, String::new()),
                    FixupKind::Bind(b) => {
                        let lib = match b.ordinal {
                            LibOrdinal::FlatLookup => "flat-namespace".to_string(),
                            LibOrdinal::Dylib(0) => "libmacho_dep".to_string(),
                            LibOrdinal::WeakLookup => String::new(),
                            o => format!("{o:?}"),
                        };
                        let table = match b.stream {
                            BindStream::Eager => "Bind",
                            BindStream::Lazy => "Lazy bind",
                            BindStream::Weak => "Weak bind",
                        };
                        (table, b.name.to_string(), b.addend, lib)
                    }
                };
                ours.insert((entry.0.to_string(), addr, entry.1, entry.2, entry.3));
            }
            let want = objdump_fixups(&path);
            assert!(want.len() > 10, "{}: {want:?}", path.display());
            assert_eq!(ours, want, "{}", path.display());
        }
    }
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn rebase_targets_are_the_words_in_the_file() {
    // Opcode rebases carry no target: it is the unslid pointer in the file. Both builds must
    // point `_counter_ptr` at `_counter`, which the symbol table places.
    for (_, _, _, path) in plugins() {
        let bytes = read(&path);
        let m = MachO::parse(&bytes).unwrap();
        let syms = symbols(&m);
        let at = |n: &str| syms.iter().find(|s| s.name == n).unwrap().n_value - m.base();
        let fixup_at = |off: u64| {
            let f = m.fixups().map(Result::unwrap).find(|f| f.offset == off);
            f.unwrap().kind
        };
        let counter = at("_counter");
        assert_eq!(
            fixup_at(at("_counter_ptr")),
            FixupKind::Rebase { target: counter }
        );
        // `&counter + 3`: past the object, wherever the layout puts its neighbours.
        let past = FixupKind::Rebase {
            target: counter + 12,
        };
        assert_eq!(fixup_at(at("_counter_ptr_off")), past);
    }
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn dependency_parses_as_a_dylib_with_its_exports() {
    for arch in ARCHES {
        let bytes = read(&dynplug_fixtures::macho_dir(arch).join("libmacho_dep.dylib"));
        let m = MachO::parse(&bytes).unwrap();
        assert_eq!(m.id.as_deref(), Some("@rpath/libmacho_dep.dylib"));
        assert!(m.dylibs.is_empty());
        for n in ["_dep_mul", "_dep_value"] {
            assert!(
                matches!(m.export(n).unwrap(), Some(e) if matches!(e.kind, ExportKind::Regular { .. }))
            );
        }
        assert_eq!(m.fixups().count(), 0);
    }
}

/// The binds of an image as (symbol holding the word, name, addend), sorted.
fn binds_by_place(m: &MachO<'_>) -> Vec<(String, String, i64)> {
    let syms = symbols(m);
    let mut v: Vec<_> = m
        .fixups()
        .map(Result::unwrap)
        .filter_map(|f| match f.kind {
            FixupKind::Bind(b) => Some((place(m, &syms, f.offset), b.name.to_string(), b.addend)),
            FixupKind::Rebase { .. } => None,
        })
        .collect();
    v.sort();
    v
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn chained_import_addend_formats() {
    for arch in ARCHES {
        for (bits, format) in [("32", 2), ("64", 3)] {
            let dir = dynplug_fixtures::macho_dir(arch);
            let cb = read(&dir.join(format!("macho_addend{bits}_chained.dylib")));
            let ob = read(&dir.join(format!("macho_addend{bits}_opcodes.dylib")));
            let (c, o) = (MachO::parse(&cb).unwrap(), MachO::parse(&ob).unwrap());
            // The imports format the linker chose for these addends (the header's 6th word).
            let blob = c.chained_fixups.unwrap().offset as usize;
            let imports_format = u32::from_le_bytes(cb[blob + 20..blob + 24].try_into().unwrap());
            assert_eq!(imports_format, format, "{arch} {bits}");
            let mut want = vec![
                ("_p_big+0".to_string(), "_host_buf".to_string(), 100_000),
                ("_p_neg+0".into(), "_host_buf".into(), -100_000),
                ("_p_small+0".into(), "_host_counter".into(), 8),
            ];
            if bits == "64" {
                want.push(("_p_huge+0".into(), "_host_buf".into(), 0x1_2345_6789));
                want.sort();
            }
            assert_eq!(binds_by_place(&c), want, "{arch} {bits} chained");
            assert_eq!(binds_by_place(&o), want, "{arch} {bits} opcodes");
        }
    }
}

#[test]
fn the_code_signature_is_where_llvm_objdump_says() {
    // rust-lld signs arm64 images ad hoc (macOS runs no unsigned arm64 code); x86_64 ones not.
    for arch in ["x86_64", "arm64"] {
        for (fixups, ext) in [("chained", "dylib"), ("opcodes", "bundle")] {
            let file = fixture(arch, fixups, ext);
            let text = objdump(&["--macho", "--private-headers"], &file);
            let mut lines = text
                .lines()
                .skip_while(|l| !l.contains("cmd LC_CODE_SIGNATURE"));
            let field =
                |l: Option<&str>| -> Option<u64> { l?.split_whitespace().nth(1)?.parse().ok() };
            let want = lines.next().map(|_| {
                let _cmdsize = lines.next();
                (field(lines.next()).unwrap(), field(lines.next()).unwrap())
            });
            let bytes = read(&file);
            let got = MachO::parse(&bytes)
                .unwrap()
                .code_signature
                .map(|r| (r.offset, r.size));
            assert_eq!(got, want, "{arch} {fixups} {ext}");
            assert_eq!(got.is_some(), arch == "arm64", "{arch}");
        }
    }
}
