//! Linking one parsed object into memory: resolve its imports and apply its relocations. The same
//! code serves a real load (mapped image) and a dry run (private buffer, no code run).

use std::collections::HashMap;

use dynplug_arch::Machine;

use crate::diag::{Diag, Subject};
use crate::error::{LoadError, Malformed};
use crate::object::Object;
use crate::process::Module;
use crate::relocate::{apply_deferred, Deferred, Memory, Relocator};
use crate::resolve::{Policy, Resolver, Scope};

/// What the host lets a plugin see.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Host exports: name → address, ahead of the process's own symbols.
    pub exports: HashMap<Vec<u8>, u64>,
    /// Which names a plugin may import.
    pub policy: Policy,
    /// Write the functions of a plugin opened from memory to `/tmp/perf-PID.map`, where perf
    /// names code outside file mappings (also on with `DYNPLUG_PERFMAP=1`).
    pub perf_map: bool,
    /// Libraries the system loaded after start-up (by soname, file name or path) that imports
    /// may bind to, after the global scope (as if the host had opened them RTLD_GLOBAL).
    pub system_libraries: Vec<Vec<u8>>,
    /// The plugin and its libraries join the global scope: later plugins' imports bind to
    /// their exports (RTLD_GLOBAL).
    pub global: bool,
}

/// How to link one object.
#[derive(Clone, Copy, Debug)]
pub struct Mode<'n> {
    /// A real load: the system's IFUNC resolvers run as their symbols bind, and the group's are
    /// left for the caller (`Linked::deferred`). Otherwise no code runs at all.
    pub live: bool,
    /// Report imports nothing defines (off when the scope is known to be incomplete).
    pub report_missing: bool,
    /// The object's TLS module id (0: none).
    pub tls_modid: u64,
    /// The object, as problems and debug logging name it.
    pub subject: Subject<'n>,
    /// The functions dynplug serves, which imports bind to before any module's definition.
    pub served: crate::resolve::Served,
    /// Offline relocation: the caller binds the imports (`modules` is then empty).
    pub imports: Option<crate::resolve::Imports<'n>>,
    /// Offline relocation: the object's TLS block's offset from the thread pointer, or
    /// `resolve::NOT_PLACED` (0 for a load, which places it itself).
    pub tls_tpoff: u64,
}

/// What linking one object left.
#[derive(Debug, Default)]
pub struct Linked {
    /// Every problem found.
    pub problems: Vec<LoadError>,
    /// Relocations waiting for IFUNC resolvers of the group (a live load only): apply them with
    /// `relocate::apply_deferred` once every module is relocated.
    pub deferred: Vec<Deferred>,
    /// The initialisers and finalisers read from the relocated memory, checked (`None` if one
    /// was refused: see `problems`). Final only when `deferred` is empty: a resolver left for
    /// later may still write an entry.
    pub calls: Option<(Vec<u64>, Vec<u64>)>,
}

/// Resolves and relocates `obj` loaded at `bias` into `mem`.
/// `unique` holds the `STB_GNU_UNIQUE` symbols the load binds (one per process).
pub fn link<B: AsRef<[u8]>, M: Memory>(
    obj: &Object<B>,
    bias: u64,
    opts: &Options,
    modules: &[Module<'_>],
    unique: &crate::unique::Unique,
    mem: &mut M,
    mode: Mode<'_>,
) -> Linked {
    let Mode {
        live,
        report_missing,
        tls_modid,
        subject,
        served,
        imports,
        tls_tpoff,
    } = mode;
    // The object's own entry in the scope (when there is one) has its table and code ranges
    // built already; the resolver binds the object's exports where the search reaches it.
    let syms_at = obj.view().slice(obj.dynamic.symtab, 1).map(<[u8]>::as_ptr);
    let own_at = modules
        .iter()
        .position(|m| m.base == bias && Some(m.tab.syms.as_ptr()) == syms_at);
    let own = own_at.and_then(|i| modules.get(i));
    let built = own.map(|m| Ok(m.tab.clone()));
    let code = own.map_or_else(
        || obj.layout.code_ranges(bias).collect(),
        |m| m.code.clone(),
    );
    let (tab, refs) = match (built.unwrap_or_else(|| obj.symtab()), obj.references()) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(e), _) | (_, Err(e)) => {
            return Linked {
                problems: vec![subject.named(e.into())],
                ..Linked::default()
            }
        }
    };
    let scope = Scope {
        exports: &opts.exports,
        policy: &opts.policy,
        modules,
        // Offline, the caller's imports are the whole world: not this process's executable.
        exe: imports
            .is_none()
            .then(|| crate::process::static_symbols(modules))
            .flatten(),
        unique,
        served,
        imports,
    };
    let mut resolver = Resolver::new(&tab, &refs, bias, obj.dynamic.symbolic, scope, live, code);
    resolver.own_at = own_at;
    resolver.own_modid = tls_modid;
    resolver.own_tpoff = tls_tpoff;
    resolver.own_ifunc = obj.ifunc_call;
    resolver.who = subject.path;
    resolver.diag = Diag::new(subject);
    let d = &obj.dynamic;
    let started = crate::debug::on(crate::debug::RELOCS).then(std::time::Instant::now);
    let mut r = Relocator::new(obj.machine, &obj.layout, obj.view(), bias, &mut resolver);
    r.relative_count = d.relacount;
    r.apply(d.relr, d.rela, d.jmprel, mem);
    if let Some(t) = started {
        log_relocations(obj, subject.path, live, t);
    }
    let deferred = r.take_deferred();
    let diag = &mut resolver.diag;
    diag.close_imports(report_missing);
    let calls = match (
        initialisers(obj, bias, mem, modules),
        finalisers(obj, bias, mem, modules),
    ) {
        (Ok(inits), Ok(finis)) => Some((inits, finis)),
        (inits, finis) => {
            for e in [inits.err(), finis.err()].into_iter().flatten() {
                diag.problem(e);
            }
            None
        }
    };
    if live {
        return Linked {
            problems: std::mem::take(diag).into_problems(),
            deferred,
            calls,
        };
    }
    // A dry run's memory runs no resolver: the formulas are checked with their addresses.
    apply_deferred(obj.machine, bias, deferred, mem, diag);
    Linked {
        problems: std::mem::take(diag).into_problems(),
        deferred: Vec::new(),
        calls,
    }
}

/// `relocs`: how many relocations of each table `obj` has, and how long they took.
fn log_relocations<B: AsRef<[u8]>>(
    obj: &Object<B>,
    name: Option<&std::path::Path>,
    live: bool,
    started: std::time::Instant,
) {
    let d = &obj.dynamic;
    let entries = |t: Option<crate::elf::dynamic::Table>| {
        t.map_or(0, |t| t.size / crate::elf::records::RELA_SIZE)
    };
    crate::debug_log!(
        crate::debug::RELOCS,
        "relocation processing: {}{}: {} RELA ({} RELATIVE first), {} JMPREL, {} bytes of RELR in {:.3} ms",
        name.map_or_else(|| "<bytes>".into(), |p| p.display().to_string()),
        if live { "" } else { " (dry run)" },
        entries(d.rela),
        d.relacount,
        entries(d.jmprel),
        d.relr.map_or(0, |t| t.size),
        crate::debug::ms_since(started)
    );
}

/// The run-time addresses of the initialisers (DT_INIT, then DT_INIT_ARRAY), each checked to lie
/// in an executable segment of the object, read from relocated memory.
pub fn initialisers<B: AsRef<[u8]>>(
    obj: &Object<B>,
    bias: u64,
    mem: &impl Memory,
    modules: &[Module<'_>],
) -> Result<Vec<u64>, LoadError> {
    let d = &obj.dynamic;
    let mut out = Vec::new();
    code_table(
        obj,
        bias,
        mem,
        modules,
        (d.init, d.init_array),
        INIT,
        &mut out,
    )?;
    Ok(out)
}

/// The run-time addresses of the finalisers in the order glibc calls them at exit
/// (DT_FINI_ARRAY from its last entry, then DT_FINI), checked as the initialisers are.
pub fn finalisers<B: AsRef<[u8]>>(
    obj: &Object<B>,
    bias: u64,
    mem: &impl Memory,
    modules: &[Module<'_>],
) -> Result<Vec<u64>, LoadError> {
    let d = &obj.dynamic;
    let mut out = Vec::new();
    code_table(
        obj,
        bias,
        mem,
        modules,
        (d.fini, d.fini_array),
        FINI,
        &mut out,
    )?;
    // Read as DT_FINI then the array: called in the reverse order.
    out.reverse();
    Ok(out)
}

/// The names of a function tag and its array tag, for errors.
type Tags = (&'static str, &'static str, &'static str);
const INIT: Tags = ("DT_INIT", "DT_INIT_ARRAY", "DT_INIT_ARRAY entry");
const FINI: Tags = ("DT_FINI", "DT_FINI_ARRAY", "DT_FINI_ARRAY entry");

/// Appends to `out` the run-time address of the function `single` (DT_INIT, DT_FINI), then
/// those of the entries of `array` (0 and -1 skipped), each checked to lie in executable code.
fn code_table<B: AsRef<[u8]>>(
    obj: &Object<B>,
    bias: u64,
    mem: &impl Memory,
    modules: &[Module<'_>],
    (single, array): (Option<u64>, Option<crate::elf::dynamic::Table>),
    (single_tag, array_tag, entry): Tags,
    out: &mut Vec<u64>,
) -> Result<(), LoadError> {
    let layout = &obj.layout;
    let entries = array.map_or(0, |t| t.size / 8);
    // Sized once (the table lies inside the image, checked below before it is read).
    out.reserve(usize::try_from(entries.min(1 << 16)).unwrap_or(0) + 1);
    // Machines whose glibc has no ELF_INITFINI ignore DT_INIT and DT_FINI: so does dynplug.
    if let Some(f) = single.filter(|&a| a != 0 && crate::abi::INIT_FINI) {
        if !layout.executable(f) {
            return Err(Malformed::CodeOutsideText {
                what: single_tag,
                addr: f,
            }
            .into());
        }
        out.push(bias.wrapping_add(f));
    }
    if let Some(t) = array {
        if !layout.loaded(t.addr, t.size) {
            return Err(Malformed::AddressOutsideImage {
                tag: array_tag,
                addr: t.addr,
                size: t.size,
            }
            .into());
        }
        let mut a = t.addr;
        while a < t.addr + t.size {
            let f = if layout.writable(a, 8) {
                mem.read_u64(a)
            } else {
                obj.view().u64_at(a).unwrap_or(0)
            };
            a += 8;
            if f == 0 || f == u64::MAX {
                continue;
            }
            // An entry relocated against a symbol may bind to another module's function (a
            // symbol the process has, interposed, as glibc binds it): code either way.
            let elsewhere = || {
                modules.iter().any(|m| crate::resolve::in_code(&m.code, f))
                    || crate::process::in_system_code(f)
            };
            if !layout.executable(f.wrapping_sub(bias)) && !elsewhere() {
                return Err(Malformed::CodeOutsideText {
                    what: entry,
                    addr: f,
                }
                .into());
            }
            out.push(f);
        }
    }
    Ok(())
}

/// The machine a dry run links for: the file's own.
pub fn foreign(machine: Machine) -> bool {
    Machine::host() != Some(machine)
}
