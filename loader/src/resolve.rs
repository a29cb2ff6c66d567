//! Symbol resolution: which address each of an object's symbols binds to.
//!
//! Scope, in order: the host's exports, the modules the process already has (executable first),
//! then the object itself. Each distinct symbol is resolved once.

use std::collections::{HashMap, HashSet};

use crate::binding::Binding;
use crate::diag::Diag;
use crate::error::Malformed;
use crate::process::Module;
use crate::symbols::{Name, Sym, SymTab, Versions, STB_GNU_UNIQUE, SYM_SIZE};

/// Which names a plugin may import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Anything in scope.
    #[default]
    Any,
    /// Only these names (plus the host's exports).
    Allow(HashSet<Vec<u8>>),
    /// Anything but these names.
    Deny(HashSet<Vec<u8>>),
}

impl Policy {
    /// True if a plugin may import `name` (host exports are always allowed).
    pub fn allows(&self, name: &[u8]) -> bool {
        match self {
            Policy::Any => true,
            Policy::Allow(set) => set.contains(name),
            Policy::Deny(set) => !set.contains(name),
        }
    }
}

/// The imports of the loaded module `m` that `policy` forbids (host `exports` are allowed):
/// its undefined symbols but weak ones, which the resolver would refuse (an open already
/// done by a more permissive loader is held to the policy of a later one).
pub fn breaches(m: &Module<'_>, policy: &Policy, exports: &HashMap<Vec<u8>, u64>) -> Vec<String> {
    if matches!(policy, Policy::Any) {
        return Vec::new();
    }
    let tab = &m.tab;
    let count = u32::try_from(tab.count()).unwrap_or(u32::MAX);
    (1..count)
        .map_while(|i| tab.sym(i))
        .filter(|s| !s.is_defined() && !s.is_weak())
        .filter_map(|s| tab.name(&s))
        .filter(|n| !n.is_empty() && !exports.contains_key(*n) && !policy.allows(n))
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

/// What an object's imports may bind to.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// Host exports: name → address.
    pub exports: &'a HashMap<Vec<u8>, u64>,
    /// The import policy.
    pub policy: &'a Policy,
    /// Modules of the process, in search order.
    pub modules: &'a [Module<'a>],
    /// A static host's own symbols (from its `.symtab`), searched before the modules.
    pub exe: Option<&'a crate::static_exe::ExeSymbols>,
    /// The process's `STB_GNU_UNIQUE` definitions, and the load's.
    pub(crate) unique: &'a crate::unique::Unique,
    /// The functions dynplug serves in place of the system's, by name.
    pub served: Served,
    /// Offline relocation: the caller binds every import (name, version asked for), ahead of
    /// `served`, `exe` and `modules` (then empty); `None` from it falls back on the object's
    /// own definition, as a search that reaches the object would.
    pub imports: Option<Imports<'a>>,
}

impl Scope<'_> {
    /// What the definition `d` of `name` lies in, among the scope's modules, the host's
    /// `exports` and dynplug's own functions.
    pub(crate) fn binding_of(&self, d: &Def, name: &[u8]) -> Binding {
        let scope = self.modules;
        if d.tls_modid != 0 {
            return scope
                .iter()
                .find(|m| m.tls_modid == d.tls_modid)
                .map_or(Binding::Unknown, |m| Binding::Module(m.display_name()));
        }
        if d.addr == 0 {
            return Binding::Absent;
        }
        if self.exports.get(name) == Some(&d.addr) {
            return Binding::Host;
        }
        if (self.served)(name) == Some(d.addr) {
            return Binding::Dynplug;
        }
        scope
            .iter()
            .find(|m| d.addr >= m.span.0 && d.addr < m.span.1)
            .map_or(Binding::Unknown, |m| Binding::Module(m.display_name()))
    }
}

/// Offline relocation: `Def::tls_tpoff` of a block the caller placed in no static TLS (offline,
/// every offset is the caller's, 0 included: riscv's first block lies at the thread pointer).
pub const NOT_PLACED: u64 = 1 << 63;

/// The caller's binding of an import `(name, version)` (offline relocation).
#[derive(Clone, Copy)]
pub struct Imports<'a>(pub &'a BindImport<'a>);

/// (name, version asked for) → the definition, or `None`.
pub type BindImport<'a> = dyn Fn(&[u8], Option<&[u8]>) -> Option<Def> + 'a;

impl std::fmt::Debug for Imports<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Imports(the caller's)")
    }
}

/// The functions dynplug serves in place of the system's (`dlopen`, `dl_iterate_phdr`,
/// `__tls_get_addr`, ...), by name: they sit above the generic resolver, which is handed them.
pub type Served = fn(&[u8]) -> Option<u64>;

/// What a symbol reference binds to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Def {
    /// The address (for an IFUNC of the object itself: its resolver's address).
    pub addr: u64,
    /// The definition's size.
    pub size: u64,
    /// The address is an IFUNC resolver of a module being loaded (this one or another of its
    /// group): call it once the whole group is relocated, then use its result.
    pub local_ifunc: bool,
    /// For a thread-local symbol (`addr` is then its offset in the block): the TLS module id of
    /// the defining module.
    pub tls_modid: u64,
    /// For a thread-local symbol of a system module: the offset of that module's block from the
    /// thread pointer (0 if the module is dynplug's).
    pub tls_tpoff: u64,
    /// For an IFUNC: whose convention its resolver is called with (its module's system).
    pub ifunc_call: crate::abi::IfuncCall,
}

/// The answers by symbol index. A large table lives in its own anonymous mapping, unmapped
/// when the load ends: its pages do not stay resident in the heap after the open, as a heap
/// block of that size would once the allocator has raised its mmap threshold. A small one is
/// an ordinary vector (a mapping would cost more than it saves).
enum SlotTable {
    Heap(Vec<Slot>),
    Mapped { map: memmap2::MmapMut, len: usize },
}

impl SlotTable {
    /// Tables of this many bytes or more get their own mapping.
    const MAP_FROM: usize = 16 << 10;

    fn new(len: usize) -> SlotTable {
        let bytes = len.saturating_mul(std::mem::size_of::<Slot>());
        if bytes >= Self::MAP_FROM {
            if let Ok(map) = memmap2::MmapOptions::new().len(bytes).populate().map_anon() {
                return SlotTable::Mapped { map, len };
            }
        }
        SlotTable::Heap(vec![Slot::default(); len])
    }

    fn get(&self, i: usize) -> Option<Slot> {
        match self {
            SlotTable::Heap(v) => v.get(i).copied(),
            SlotTable::Mapped { map, len } => {
                if i >= *len {
                    return None;
                }
                // SAFETY: the mapping holds `len` slots (zero bytes are a valid, unknown slot);
                // it is page-aligned, so every slot is aligned; `i < len`.
                Some(unsafe { (map.as_ptr() as *const Slot).add(i).read() })
            }
        }
    }

    /// Starts loading slot `i`.
    #[inline]
    fn prefetch(&self, i: usize) {
        match self {
            SlotTable::Heap(v) => {
                if let Some(s) = v.get(i) {
                    crate::read::prefetch(s);
                }
            }
            SlotTable::Mapped { map, len } => {
                if i < *len {
                    let p = map
                        .as_ptr()
                        .wrapping_add(i.saturating_mul(std::mem::size_of::<Slot>()));
                    crate::read::prefetch(p);
                }
            }
        }
    }

    /// Stores `slot` at `i`; false if there is no such slot (nothing cached).
    fn set(&mut self, i: usize, slot: Slot) -> bool {
        match self {
            SlotTable::Heap(v) => v.get_mut(i).map(|s| *s = slot).is_some(),
            SlotTable::Mapped { map, len } => {
                if i >= *len {
                    return false;
                }
                // SAFETY: as in `get`, and the mapping is writable and exclusively borrowed.
                unsafe { (map.as_mut_ptr() as *mut Slot).add(i).write(slot) };
                true
            }
        }
    }
}

/// One cached answer: the address, and the size with two flag bits on top.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
struct Slot {
    addr: u64,
    /// Bits 0..62: size; bit 62: resolved (else unknown, or `RARE`); bit 63: local IFUNC.
    meta: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    Unknown,
    Def,
    Rare,
}

impl Slot {
    const RESOLVED: u64 = 1 << 62;
    const IFUNC: u64 = 1 << 63;
    /// Answered in `Resolver::rare`.
    const RARE: Slot = Slot { addr: 1, meta: 0 };

    fn of(d: &Def) -> Slot {
        let flags = Slot::RESOLVED | if d.local_ifunc { Slot::IFUNC } else { 0 };
        Slot {
            addr: d.addr,
            meta: d.size | flags,
        }
    }

    fn state(&self) -> SlotState {
        if self.meta & Slot::RESOLVED != 0 {
            SlotState::Def
        } else if self.addr == 1 {
            SlotState::Rare
        } else {
            SlotState::Unknown
        }
    }

    fn def(&self) -> Def {
        let size = self.meta & !(Slot::RESOLVED | Slot::IFUNC);
        Def {
            addr: self.addr,
            size,
            local_ifunc: self.meta & Slot::IFUNC != 0,
            ..Def::default()
        }
    }
}

/// Why a symbol did not resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// A malformed symbol table entry.
    Malformed(Malformed),
    /// Nothing in scope defines it (recorded in the resolver's `diag`).
    Missing,
    /// The policy forbids it (recorded in the resolver's `diag`).
    Forbidden,
}

/// Resolves an object's symbols against a scope, remembering each answer.
pub struct Resolver<'a> {
    tab: &'a SymTab<'a>,
    refs: &'a Versions<'a>,
    bias: u64,
    symbolic: bool,
    /// TLS module id of the object itself (0: it has no PT_TLS).
    pub own_modid: u64,
    /// Offline relocation: the offset of the object's own TLS block from the thread pointer, or
    /// [`NOT_PLACED`] (0 for a load, which places blocks itself).
    pub own_tpoff: u64,
    scope: Scope<'a>,
    /// Call the IFUNC resolvers of process modules (false in a dry run: no code runs).
    live: bool,
    /// The run-time ranges of the object's executable segments (where its IFUNC resolvers must
    /// lie).
    own_code: std::sync::Arc<[(u64, u64)]>,
    /// The object's own entry in the scope's modules, if it has one.
    pub own_at: Option<usize>,
    /// Whose convention the object's own IFUNC resolvers are called with.
    pub own_ifunc: crate::abi::IfuncCall,
    /// The object's path, for debug logging (`None`: from bytes).
    pub who: Option<&'a std::path::Path>,
    /// Answers by symbol index (the table is bounded by the file's size).
    /// Answers by symbol index, packed (16 bytes a symbol: the table is as long as the object's
    /// symbol table); answers that do not fit a slot (TLS, errors) are kept in `rare`.
    cache: SlotTable,
    rare: HashMap<u32, Result<Def, Unresolved>>,
    /// The object's problems: its missing and refused imports (as `name` or `name@VERSION`),
    /// and what relocating it found.
    pub diag: Diag<'a>,
}

impl<'a> Resolver<'a> {
    /// A resolver for the object whose table is `tab`, loaded at `bias`.
    pub fn new(
        tab: &'a SymTab<'a>,
        refs: &'a Versions<'a>,
        bias: u64,
        symbolic: bool,
        scope: Scope<'a>,
        live: bool,
        own_code: std::sync::Arc<[(u64, u64)]>,
    ) -> Self {
        Resolver {
            tab,
            refs,
            bias,
            symbolic,
            own_modid: 0,
            own_tpoff: 0,
            scope,
            live,
            own_code,
            own_at: None,
            own_ifunc: crate::abi::IfuncCall::default(),
            who: None,
            cache: SlotTable::new(usize::try_from(tab.count()).unwrap_or(0)),
            rare: HashMap::new(),
            diag: Diag::default(),
        }
    }

    /// Starts loading symbol `index`'s table entry, which [`Resolver::prefetch_name`] and then
    /// [`Resolver::resolve`] read a few relocations later (each a cache miss otherwise: an
    /// object's table is read once, in relocation order, not in table order).
    #[inline]
    pub fn prefetch_symbol(&self, index: u32) {
        let at = usize::try_from(u64::from(index) * SYM_SIZE).unwrap_or(usize::MAX);
        if let Some(e) = self.tab.syms.get(at..) {
            crate::read::prefetch(e.as_ptr());
        }
        let i = usize::try_from(index).unwrap_or(usize::MAX);
        if let Some(v) = self.tab.versym.and_then(|v| v.get(i.saturating_mul(2)..)) {
            crate::read::prefetch(v.as_ptr());
        }
        self.cache.prefetch(i);
    }

    /// Starts loading the name of symbol `index` (its entry should be in cache by now).
    #[inline]
    pub fn prefetch_name(&self, index: u32) {
        if let Some(sym) = self.tab.sym(index) {
            if let Some(n) = usize::try_from(sym.name)
                .ok()
                .and_then(|o| self.tab.strtab.get(o..))
            {
                crate::read::prefetch(n.as_ptr());
            }
        }
    }

    /// True when the caller binds the imports (offline relocation): nothing of this process's
    /// may be taken or pretended.
    pub fn offline(&self) -> bool {
        self.scope.imports.is_some()
    }

    /// The symbol `index` of the object.
    pub fn sym(&self, index: u32) -> Result<Sym, Malformed> {
        self.tab.sym(index).ok_or(Malformed::SymbolIndexOutOfRange {
            index: index.into(),
            count: self.tab.count(),
        })
    }

    /// The name of `sym` in the object's string table.
    pub fn name_of(&self, sym: &Sym) -> Option<&'a [u8]> {
        self.tab.name(sym)
    }

    /// The definition symbol `index` binds to; `Ok(Def::default())` for an unresolved weak one.
    pub fn resolve(&mut self, index: u32) -> Result<Def, Unresolved> {
        let i = usize::try_from(index).unwrap_or(usize::MAX);
        let cached = self.cache.get(i);
        match cached.map(|s| (s.state(), s)) {
            Some((SlotState::Def, s)) => return Ok(s.def()),
            Some((SlotState::Rare, _)) => {
                if let Some(r) = self.rare.get(&index) {
                    return r.clone();
                }
            }
            Some((SlotState::Unknown, _)) | None => {}
        }
        let r = self.lookup(index);
        if crate::debug::on(crate::debug::BINDINGS) {
            self.log_binding(index, &r);
        }
        match &r {
            Ok(d)
                if d.tls_modid == 0
                    && d.tls_tpoff == 0
                    && d.size >> 62 == 0
                    && d.ifunc_call == crate::abi::IfuncCall::default() =>
            {
                self.cache.set(i, Slot::of(d));
            }
            _ => {
                if self.cache.set(i, Slot::RARE) {
                    self.rare.insert(index, r.clone());
                }
            }
        }
        r
    }

    /// `bindings`: what symbol `index` bound to, as glibc's `LD_DEBUG=bindings` says it.
    #[cold]
    fn log_binding(&self, index: u32, r: &Result<Def, Unresolved>) {
        let Some(sym) = self.tab.sym(index).filter(|_| index != 0) else {
            return;
        };
        let name = self.tab.name(&sym).unwrap_or_default();
        let ndx = self.tab.versym(index) & 0x7fff;
        let version = (ndx >= 2)
            .then(|| self.refs.name(ndx).or_else(|| self.tab.defs.name(ndx)))
            .flatten()
            .map_or_else(String::new, |v| {
                format!(" [{}]", String::from_utf8_lossy(v))
            });
        let who = self
            .who
            .map_or_else(|| "<bytes>".into(), |p| p.display().to_string());
        let to = match r {
            Ok(d) => match self.scope.binding_of(d, name) {
                Binding::Module(m) => m,
                Binding::Host => "the host's exports".into(),
                Binding::Dynplug => "dynplug".into(),
                Binding::Absent => "nothing (weak, 0)".into(),
                _ => "?".into(),
            },
            Err(Unresolved::Missing) => "nothing: undefined".into(),
            Err(Unresolved::Forbidden) => "nothing: forbidden by the policy".into(),
            Err(Unresolved::Malformed(m)) => format!("nothing: {m}"),
        };
        crate::debug_log!(
            crate::debug::BINDINGS,
            "binding file {who} [0] to {to} [0]: normal symbol '{}'{version}",
            String::from_utf8_lossy(name)
        );
    }

    fn own(&self, sym: &Sym) -> Result<Def, Unresolved> {
        if sym.is_tls() {
            return Ok(Def {
                addr: sym.value,
                size: sym.size,
                tls_modid: self.own_modid,
                tls_tpoff: self.own_tpoff,
                ..Def::default()
            });
        }
        let addr = sym.address(self.bias);
        if sym.is_ifunc() && !in_code(&self.own_code, addr) {
            // Its resolver will be called: it must be the object's own code.
            return Err(Unresolved::Malformed(Malformed::CodeOutsideText {
                what: "IFUNC resolver",
                addr,
            }));
        }
        Ok(Def {
            addr,
            size: sym.size,
            local_ifunc: sym.is_ifunc(),
            ifunc_call: self.own_ifunc,
            ..Def::default()
        })
    }

    /// What a definition found in another module (at run-time address `addr`, in a module with
    /// TLS id and static block offset `tls`) binds to: its offset for a thread-local one, the implementation an
    /// IFUNC picks (when live), else its address.
    fn definition(
        &self,
        d: &Sym,
        addr: u64,
        tls: (u64, u64),
        code: &[(u64, u64)],
        ifunc_call: crate::abi::IfuncCall,
    ) -> Result<Def, Unresolved> {
        if d.is_tls() {
            return Ok(Def {
                addr: d.value,
                size: d.size,
                tls_modid: tls.0,
                tls_tpoff: tls.1,
                ..Def::default()
            });
        }
        if d.is_ifunc() && !code.is_empty() {
            // An IFUNC of a module dynplug is loading (this one included): its resolver may only
            // run once every module of the group is relocated; it must lie in its code.
            if !in_code(code, addr) {
                return Err(Unresolved::Malformed(Malformed::CodeOutsideText {
                    what: "IFUNC resolver",
                    addr,
                }));
            }
            return Ok(Def {
                addr,
                size: d.size,
                local_ifunc: true,
                ifunc_call,
                ..Def::default()
            });
        }
        let addr = if d.is_ifunc() && self.live {
            // SAFETY: an IFUNC resolver of a module of the system (or the executable), relocated
            // and initialised, called with the arguments glibc gives on this machine.
            unsafe { crate::abi::call_ifunc_resolver(addr, ifunc_call) }
        } else {
            addr
        };
        Ok(Def {
            addr,
            size: d.size,
            ..Def::default()
        })
    }

    fn lookup(&mut self, index: u32) -> Result<Def, Unresolved> {
        if index == 0 {
            return Ok(Def::default());
        }
        let sym = self.sym(index).map_err(Unresolved::Malformed)?;
        // The name and its hash in one pass over its bytes.
        let key = || {
            Name::at(self.tab.strtab, u64::from(sym.name)).ok_or(Unresolved::Malformed(
                Malformed::StringOutOfRange {
                    offset: u64::from(sym.name),
                },
            ))
        };
        if sym.is_defined() && (sym.binds_locally() || self.symbolic || sym.visibility() == 3) {
            let own = self.own(&sym);
            return match sym.bind() {
                STB_GNU_UNIQUE if !sym.binds_locally() => self.unique(&sym, key()?.bytes, own),
                _ => own,
            };
        }
        let key = key()?;
        let name = key.bytes;
        let ndx = self.tab.versym(index) & 0x7fff;
        let want = if ndx >= 2 {
            self.refs.name(ndx).or_else(|| self.tab.defs.name(ndx))
        } else {
            None
        };
        let exported = if self.scope.exports.is_empty() {
            None
        } else {
            self.scope.exports.get(name).copied()
        };
        let allowed = exported.is_some() || self.scope.policy.allows(name);
        if !allowed {
            if sym.is_defined() {
                return self.own(&sym);
            }
            if sym.is_weak() {
                return Ok(Def::default());
            }
            self.diag.forbidden(display(name, want));
            return Err(Unresolved::Forbidden);
        }
        if let Some(addr) = exported {
            return Ok(Def {
                addr,
                ..Def::default()
            });
        }
        if let Some(d) = self.scope.imports.and_then(|bind| (bind.0)(name, want)) {
            return Ok(d);
        }
        if let Some(addr) = (self.scope.served)(name) {
            return Ok(Def {
                addr,
                ..Def::default()
            });
        }
        if let Some((addr, d)) = self.scope.exe.and_then(|e| e.get(name)) {
            let tls = self
                .scope
                .modules
                .first()
                .map_or((0, 0), |m| (m.tls_modid, m.tls_tpoff));
            return self.definition(&d, addr, tls, &[], crate::abi::IfuncCall::default());
        }
        // Searching the object's own table for a symbol it exports finds that very symbol.
        let own_export = sym.is_export();
        for (i, m) in self.scope.modules.iter().enumerate() {
            if own_export && self.own_at == Some(i) {
                return self.unique(&sym, name, self.own(&sym));
            }
            // Most modules of the scope lack most names: their bloom filter says so cheaply.
            if !m.tab.may_define(&key) {
                continue;
            }
            if let Some((_, d)) = m.tab.find_for_relocation(&key, want) {
                let (at, tls) = (d.address(m.base), (m.tls_modid, m.tls_tpoff));
                let found = self.definition(&d, at, tls, &m.code, m.ifunc_call);
                return self.unique(&d, name, found);
            }
        }
        if sym.is_defined() {
            return self.unique(&sym, name, self.own(&sym));
        }
        if sym.is_weak() {
            return Ok(Def::default());
        }
        self.diag.missing(display(name, want));
        Err(Unresolved::Missing)
    }
}

impl Resolver<'_> {
    /// What a reference binds to when the search `found` definition `d` of `name`: for an
    /// `STB_GNU_UNIQUE` one, the process's first (glibc's unique-symbol table), else `found`.
    fn unique(
        &self,
        d: &Sym,
        name: &[u8],
        found: Result<Def, Unresolved>,
    ) -> Result<Def, Unresolved> {
        match found {
            Ok(def) if d.bind() == STB_GNU_UNIQUE && !d.is_tls() && !def.local_ifunc => {
                let (addr, size) = self.scope.unique.bind(name, def.addr, def.size);
                Ok(Def { addr, size, ..def })
            }
            other => other,
        }
    }
}

/// True if `addr` lies in one of the run-time `code` ranges.
pub(crate) fn in_code(code: &[(u64, u64)], addr: u64) -> bool {
    code.iter().any(|&(lo, hi)| addr >= lo && addr < hi)
}

/// `name` or `name@VERSION`.
fn display(name: &[u8], want: Option<&[u8]>) -> String {
    let n = String::from_utf8_lossy(name);
    match want {
        Some(v) => format!("{n}@{}", String::from_utf8_lossy(v)),
        None => n.into_owned(),
    }
}
