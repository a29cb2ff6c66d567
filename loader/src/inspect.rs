//! What an object is and what a load of it would do, for people (`dynplug inspect`): the dry run
//! ([`crate::check()`]) and the facts it gathered on the way, nothing mapped, nothing run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dynplug_arch::{Machine, RelocKind};
use goblin::elf::header as eh;

pub use crate::binding::Binding;
use crate::check::{examine, Examined};
use crate::elf::dynamic::Table;
use crate::error::LoadError;
use crate::group::{find, in_process, shared};
use crate::link::Options;
use crate::object::Object;
use crate::read;
use crate::relocate::Memory;
use crate::resolve::{Resolver, Scope, Unresolved};
use crate::symbols::{Sym, SymTab};

/// Everything `inspect` reports of one object.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Inspection {
    /// The ELF identification and header.
    pub header: Header,
    /// DT_SONAME.
    pub soname: Option<String>,
    /// Every program header.
    pub segments: Vec<Segment>,
    /// Every DT_NEEDED of the object and of the libraries a load would add, breadth-first.
    pub dependencies: Vec<Dependency>,
    /// The dynamic symbols other modules may bind to, in table order.
    pub exports: Vec<Export>,
    /// The undefined dynamic symbols, in table order, with what each binds to.
    pub imports: Vec<Import>,
    /// DT_RELA and DT_JMPREL entries by type name.
    pub relocations: BTreeMap<String, u64>,
    /// Places DT_RELR relocates.
    pub relr: u64,
    /// The PT_TLS segment, if any.
    pub tls: Option<Tls>,
    /// Initialisers and finalisers.
    pub init: InitFini,
    /// Every problem the dry run found: an open would fail with the first of them.
    pub problems: Vec<LoadError>,
}

/// The ELF header, read as found (also when dynplug refuses the object).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Header {
    /// 32 or 64 (`EI_CLASS`; 0 if unknown).
    pub class: u8,
    /// `little` or `big` (`EI_DATA`).
    pub endian: &'static str,
    /// `e_machine`.
    pub e_machine: u16,
    /// Its name (goblin's, as `EM_*` without the prefix: `X86_64`, `AARCH64`).
    pub machine: &'static str,
    /// `EI_OSABI`.
    pub os_abi: u8,
    /// Its name (`SYSV`, `GNU`, `FREEBSD`, ... or `UNKNOWN`).
    pub os_abi_name: &'static str,
    /// `e_type`.
    pub e_type: u16,
    /// Its name (`DYN`, `EXEC`, ...).
    pub kind: &'static str,
}

/// One program header.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Segment {
    /// `p_type` name (`PT_LOAD`, ...).
    pub kind: &'static str,
    /// `p_type`.
    pub p_type: u32,
    /// `p_flags` (`PF_R` 4, `PF_W` 2, `PF_X` 1).
    pub flags: u32,
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// `p_align`.
    pub align: u64,
}

/// One DT_NEEDED entry and what satisfies it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Dependency {
    /// The name asked for.
    pub name: String,
    /// The object that asks (its path, `<bytes>` for bytes in memory).
    pub needed_by: String,
    /// What satisfies it.
    pub found: Found,
}

/// What satisfies a DT_NEEDED entry.
#[derive(Debug)]
pub enum Found {
    /// A module the process has (its name as `dl_iterate_phdr` gives it; the C runtime's names
    /// are libc's).
    Process(String),
    /// A library dynplug loaded earlier in this process, shared.
    Shared(PathBuf),
    /// The file a load would map, found by the search.
    File(PathBuf),
    /// Not found: why.
    Missing(String),
}

/// One export.
#[derive(Debug)]
#[non_exhaustive]
pub struct Export {
    /// Its name.
    pub name: String,
    /// `func`, `object`, `tls`, `ifunc`, `common` or `notype`.
    pub kind: &'static str,
    /// `global`, `weak` or `unique`.
    pub bind: &'static str,
    /// `st_value` (the offset in the block for `tls`).
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// Its version, if the object versions it.
    pub version: Option<String>,
    /// False for a hidden version (`name@V`, not `name@@V`): only a reference asking for that
    /// version binds to it.
    pub default_version: bool,
}

/// One import.
#[derive(Debug)]
#[non_exhaustive]
pub struct Import {
    /// Its name.
    pub name: String,
    /// The version asked for.
    pub version: Option<String>,
    /// A weak reference (may stay unresolved).
    pub weak: bool,
    /// What a load binds it to.
    pub binding: Binding,
}

/// The PT_TLS segment and the models the object's relocations use.
#[derive(Debug)]
#[non_exhaustive]
pub struct Tls {
    /// Size of the block (`p_memsz`).
    pub size: u64,
    /// Initialised part (`p_filesz`).
    pub init_size: u64,
    /// Alignment.
    pub align: u64,
    /// The models the object's relocations use: `dynamic` (general or local dynamic),
    /// `descriptor`, `initial-exec`.
    pub models: Vec<&'static str>,
}

/// Initialisers and finalisers, as link-time addresses (entries 0 and -1 left out).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct InitFini {
    /// DT_INIT.
    pub init: Option<u64>,
    /// DT_INIT_ARRAY entries, as relocated: an entry bound to another module's function is
    /// `None`.
    pub init_array: Vec<Option<u64>>,
    /// DT_PREINIT_ARRAY entries (only executables run them).
    pub preinit_array: Vec<Option<u64>>,
    /// DT_FINI (run at exit, after DT_FINI_ARRAY).
    pub fini: Option<u64>,
    /// DT_FINI_ARRAY entries (run at exit, from the last).
    pub fini_array: Vec<Option<u64>>,
}

/// The TLS models the relocations counted in `relocations` use.
fn tls_models(relocations: &BTreeMap<String, u64>, machine: Machine) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (name, model) in [
        (RelocKind::TlsModule, "dynamic"),
        (RelocKind::TlsDesc, "descriptor"),
    ] {
        let used = machine
            .table()
            .iter()
            .any(|&(_, n, k)| k == name && relocations.contains_key(n));
        if used {
            out.push(model);
        }
    }
    let ie = machine
        .table()
        .iter()
        .any(|&(_, n, k)| matches!(k, RelocKind::TlsTpOffset(_)) && relocations.contains_key(n));
    if ie {
        out.push("initial-exec");
    }
    out
}

/// Inspects `bytes` (read from `path`, if from a file): its headers, and everything a dry run
/// of it finds. `Err` only if the bytes are not ELF at all.
pub fn inspect(
    bytes: &[u8],
    path: Option<&Path>,
    opts: &Options,
    extra: &[PathBuf],
) -> Result<Inspection, LoadError> {
    let mut out = Inspection {
        header: header(bytes)?,
        segments: segments(bytes),
        ..Inspection::default()
    };
    let (problems, _) = examine(bytes, path, opts, extra, |e| {
        describe(e, opts, extra, &mut out)
    })?;
    out.problems = problems;
    Ok(out)
}

/// The identification and header fields, bounds-checked.
fn header(bytes: &[u8]) -> Result<Header, LoadError> {
    if bytes.get(..4) != Some(eh::ELFMAG) {
        // The start of the magic (an empty or cut file) is a malformed object, as for an open.
        if bytes.len() < 4 && eh::ELFMAG.starts_with(bytes) {
            return Ok(Header::default());
        }
        return Err(LoadError::NotElf);
    }
    let byte = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let big = byte(eh::EI_DATA) == eh::ELFDATA2MSB;
    // Read little-endian; a big-endian file's halves swapped back.
    let half =
        |off: u64| read::u16_at(bytes, off).map_or(0, |v| if big { v.swap_bytes() } else { v });
    let (e_type, e_machine) = (half(16), half(18));
    let os_abi = byte(eh::EI_OSABI);
    Ok(Header {
        class: match byte(eh::EI_CLASS) {
            eh::ELFCLASS32 => 32,
            eh::ELFCLASS64 => 64,
            _ => 0,
        },
        endian: if big { "big" } else { "little" },
        e_machine,
        machine: eh::machine_to_str(e_machine),
        os_abi,
        os_abi_name: os_abi_name(os_abi),
        e_type,
        kind: eh::et_to_str(e_type),
    })
}

fn os_abi_name(abi: u8) -> &'static str {
    match abi {
        0 => "SYSV",
        1 => "HPUX",
        2 => "NETBSD",
        3 => "GNU",
        6 => "SOLARIS",
        9 => "FREEBSD",
        12 => "OPENBSD",
        _ => "UNKNOWN",
    }
}

/// A program header type's name (goblin's), and the processor-specific ones of aarch64 and
/// riscv64 the linkers emit there (goblin names none).
fn segment_kind(machine: Machine, p_type: u32) -> &'static str {
    match (machine, p_type) {
        (Machine::Aarch64, 0x7000_0002) => "PT_AARCH64_MEMTAG_MTE",
        (Machine::Riscv64, 0x7000_0003) => "PT_RISCV_ATTRIBUTES",
        _ => goblin::elf::program_header::pt_to_str(p_type),
    }
}

/// Every program header, when the headers parse (an object dynplug cannot parse has none here).
fn segments(bytes: &[u8]) -> Vec<Segment> {
    let Ok(h) = crate::elf::header::parse(bytes, None) else {
        return Vec::new();
    };
    h.phdrs
        .iter()
        .map(|p| Segment {
            kind: segment_kind(h.machine, p.p_type),
            p_type: p.p_type,
            flags: p.p_flags,
            offset: p.p_offset,
            vaddr: p.p_vaddr,
            filesz: p.p_filesz,
            memsz: p.p_memsz,
            align: p.p_align,
        })
        .collect()
}

/// Fills what the dry run built into `out`.
fn describe(e: &Examined<'_, '_>, opts: &Options, extra: &[PathBuf], out: &mut Inspection) {
    let Some(root) = e.group.first() else { return };
    let obj = &root.obj;
    out.soname = obj
        .dynamic
        .soname
        .and_then(|s| obj.string(s).ok())
        .map(lossy);
    out.dependencies = dependencies(e, extra);
    if let Ok(tab) = obj.symtab() {
        out.exports = exports(&tab);
        out.imports = imports(e, &tab, opts);
    }
    (out.relocations, out.relr) = relocations(obj);
    out.tls = obj.layout.tls.map(|t| Tls {
        size: t.memsz,
        init_size: t.filesz,
        align: t.align,
        models: tls_models(&out.relocations, obj.machine),
    });
    let entries = |t: Option<Table>| array(obj, t, e.base, e.mem);
    out.init = InitFini {
        init: obj.dynamic.init.filter(|&a| a != 0),
        init_array: entries(obj.dynamic.init_array),
        preinit_array: entries(obj.dynamic.preinit_array),
        fini: obj.dynamic.fini.filter(|&a| a != 0),
        fini_array: entries(obj.dynamic.fini_array),
    };
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What satisfies each DT_NEEDED of every object of the group.
fn dependencies(e: &Examined<'_, '_>, extra: &[PathBuf]) -> Vec<Dependency> {
    let shared = shared();
    let mut out = Vec::new();
    for who in e.group {
        for name in who.obj.needed() {
            // A foreign object (no process modules in its dry run) needs its own C runtime.
            let found = if !e.modules.is_empty() && in_process(name, e.modules) {
                let m = e.modules.iter().find(|m| m.is(name));
                let libc = || e.modules.iter().find(|m| m.is(crate::os::C_LIBRARY));
                Found::Process(
                    m.or_else(libc)
                        .map_or_else(|| lossy(name), |m| m.display_name()),
                )
            } else if let Some(g) = e.group.iter().find(|g| g.answers_to(name)) {
                Found::File(g.path.clone().unwrap_or_default())
            } else if let Some(s) = shared.iter().find(|s| s.module().is(name)) {
                Found::Shared(s.path().to_path_buf())
            } else {
                // Not in the group: the search stopped before it (at this one, or an earlier
                // missing library). Searched again here to say which.
                match find(name, who, extra, Some(who.obj.machine), false) {
                    Ok(n) => Found::File(n.path.unwrap_or_default()),
                    Err(err) => Found::Missing(err.to_string()),
                }
            };
            out.push(Dependency {
                name: lossy(name),
                needed_by: who.name(),
                found,
            });
        }
    }
    out
}

fn kind_name(sym: &Sym) -> &'static str {
    match sym.kind() {
        1 => "object",
        2 => "func",
        5 => "common",
        6 => "tls",
        10 => "ifunc",
        _ => "notype",
    }
}

fn bind_name(sym: &Sym) -> &'static str {
    match sym.bind() {
        2 => "weak",
        10 => "unique",
        _ => "global",
    }
}

/// The symbols of `tab` from index 1 on.
fn symbols<'t>(tab: &'t SymTab<'_>) -> impl Iterator<Item = (u32, Sym)> + 't {
    (1..u32::try_from(tab.count()).unwrap_or(u32::MAX)).filter_map(|i| Some((i, tab.sym(i)?)))
}

fn exports(tab: &SymTab<'_>) -> Vec<Export> {
    symbols(tab)
        .filter(|(_, s)| s.is_export())
        .map(|(i, s)| {
            let v = tab.versym(i);
            let ndx = v & 0x7fff;
            Export {
                name: tab.name(&s).map(lossy).unwrap_or_default(),
                kind: kind_name(&s),
                bind: bind_name(&s),
                value: s.value,
                size: s.size,
                version: (ndx >= 2).then(|| tab.defs.name(ndx)).flatten().map(lossy),
                default_version: v & 0x8000 == 0,
            }
        })
        .collect()
}

/// Each undefined symbol of the plugin and what the dry run's scope binds it to (resolved as a
/// load resolves it: the same resolver and scope).
fn imports(e: &Examined<'_, '_>, tab: &SymTab<'_>, opts: &Options) -> Vec<Import> {
    let Some(root) = e.group.first() else {
        return Vec::new();
    };
    let obj = &root.obj;
    let refs = obj.references().unwrap_or_default();
    let syms_at = tab.syms.as_ptr();
    let own_at = e
        .scope
        .iter()
        .position(|m| m.base == e.base && m.tab.syms.as_ptr() == syms_at);
    // Unique symbols bound here are recorded nowhere: nothing is loaded.
    let unique = crate::unique::Unique::default();
    let scope = Scope {
        exports: &opts.exports,
        policy: &opts.policy,
        modules: e.scope,
        exe: crate::process::static_symbols(e.scope),
        unique: &unique,
        served: crate::interpose::served,
        imports: None,
    };
    let code = obj.layout.code_ranges(e.base).collect();
    let mut resolver = Resolver::new(tab, &refs, e.base, obj.dynamic.symbolic, scope, false, code);
    resolver.own_at = own_at;
    resolver.own_modid = e.tls_modid;
    symbols(tab)
        .filter(|(_, s)| !s.is_defined())
        .map(|(i, s)| {
            let name = tab.name(&s).unwrap_or_default();
            let ndx = tab.versym(i) & 0x7fff;
            let binding = if e.scope.is_empty() {
                Binding::Unknown
            } else {
                match resolver.resolve(i) {
                    Ok(d) => scope.binding_of(&d, name),
                    Err(Unresolved::Missing) => Binding::Missing,
                    Err(Unresolved::Forbidden) => Binding::Forbidden,
                    Err(Unresolved::Malformed(_)) => Binding::Unknown,
                }
            };
            Import {
                name: lossy(name),
                version: (ndx >= 2).then(|| refs.name(ndx)).flatten().map(lossy),
                weak: s.is_weak(),
                binding,
            }
        })
        .collect()
}

/// DT_RELA and DT_JMPREL entries by type name, and the places DT_RELR names.
fn relocations<B: AsRef<[u8]>>(obj: &Object<B>) -> (BTreeMap<String, u64>, u64) {
    let view = obj.view();
    let mut by_type = BTreeMap::new();
    for t in [obj.dynamic.rela, obj.dynamic.jmprel].into_iter().flatten() {
        let entries = view.slice(t.addr, t.size).unwrap_or(&[]);
        for info in entries
            .chunks_exact(crate::elf::records::RELA_SIZE as usize)
            .filter_map(|e| read::u64_at(e, 8))
        {
            let r_type = u32::try_from(info & 0xffff_ffff).unwrap_or(u32::MAX);
            let name = match obj.machine.classify(r_type) {
                Some(_) => obj.machine.reloc_name(r_type).to_string(),
                None => format!("unknown type {r_type}"),
            };
            *by_type.entry(name).or_insert(0u64) += 1;
        }
    }
    let relr = obj.dynamic.relr.map_or(0, |t| {
        let words = view.slice(t.addr, t.size).unwrap_or(&[]);
        words
            .chunks_exact(8)
            .filter_map(|w| read::u64_at(w, 0))
            .map(|w| {
                // An address (even) relocates one place; a bitmap (odd) one per bit above bit 0.
                if w & 1 == 0 {
                    1
                } else {
                    u64::from((w >> 1).count_ones())
                }
            })
            .sum()
    });
    (by_type, relr)
}

/// The entries of an init/fini array as relocated by the dry run, as link-time addresses.
fn array<B: AsRef<[u8]>>(
    obj: &Object<B>,
    t: Option<Table>,
    base: u64,
    mem: &impl Memory,
) -> Vec<Option<u64>> {
    let Some(t) = t else { return Vec::new() };
    let layout = &obj.layout;
    let count = t.size / 8;
    (0..count)
        .filter_map(|k| {
            let a = t.addr.checked_add(k.checked_mul(8)?)?;
            let f = if layout.writable(a, 8) {
                mem.read_u64(a)
            } else {
                obj.view().u64_at(a)?
            };
            if f == 0 || f == u64::MAX {
                return None;
            }
            let at = f.wrapping_sub(base);
            Some(layout.loaded(at, 1).then_some(at))
        })
        .collect()
}
