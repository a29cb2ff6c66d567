//! The one generic relocation loop: RELR, then RELA, then JMPREL, then the IFUNCs of the object
//! itself. A machine contributes only its table and formulas (`dynplug-arch`).

use dynplug_arch::{
    compute, compute_tls, FormulaError, Inputs, Machine, RelocKind, TlsInputs, Width, Write,
};

use crate::diag::Diag;
use crate::elf::dynamic::Table;
use crate::elf::layout::Layout;
use crate::elf::records::RELA_SIZE;
use crate::elf::view::View;
use crate::error::{LoadError, Malformed, StaticTlsRefusal, Unsupported};
use crate::read;
use crate::resolve::{Def, Resolver, Unresolved, NOT_PLACED};

/// The memory being relocated: the mapped image, or a dry run's private buffer.
pub trait Memory {
    /// The 8 bytes at link-time address `vaddr`, which lies in a writable segment.
    fn read_u64(&self, vaddr: u64) -> u64;
    /// Stores `w` at link-time address `vaddr`, which lies in a writable segment.
    fn write(&mut self, vaddr: u64, w: Write);
    /// Stores a 64-bit `value` at link-time address `vaddr` (in a writable segment).
    #[inline(always)]
    fn write_u64(&mut self, vaddr: u64, value: u64) {
        self.write(
            vaddr,
            Write {
                value,
                width: Width::W64,
            },
        );
    }
    /// Runs the IFUNC resolver at run-time address `addr` with `call`'s arguments (a dry run
    /// returns `addr`).
    fn call_ifunc(&mut self, addr: u64, call: crate::abi::IfuncCall) -> u64;
    /// True for the mapped image (false: a dry run, where nothing may be allocated or run).
    fn live(&self) -> bool;
    /// Asks for `len` bytes from link-time address `vaddr` (page-aligned, in a writable
    /// segment) to be made private and present before relocations write them (a hint).
    fn prefault_write(&mut self, _vaddr: u64, _len: u64) {}
    /// The TLS descriptor resolvers descriptors get (`None`: descriptors are refused): dynplug's
    /// own for a load; offline relocation writes the caller's.
    fn tlsdesc_stubs(&self) -> Option<crate::abi::TlsDescStubs> {
        crate::abi::tlsdesc_stubs()
    }
}

/// RELA entries whose places are faulted in together by
/// [`Relocator::prefault_block`] (128 KiB of 8-byte places when dense).
const PREFAULT_BLOCK: usize = 16384;

/// Bytes of a TLS descriptor: the resolver, then its argument.
const TLS_DESCRIPTOR_SIZE: u64 = 16;

/// How far ahead of the entry being applied its symbol's table entry is prefetched.
const PREFETCH_FAR: usize = 16;

/// How far ahead the symbol's name is prefetched (its table entry was, `PREFETCH_FAR` ahead).
const PREFETCH_NEAR: usize = 8;

/// Fewest entries in a block worth looking at before applying them (the fewest that can make
/// a run of `PREFAULT_MIN_PAGES` pages).
const PREFAULT_MIN_ENTRIES: usize = 2048;

/// Entries judged together by [`Relocator::prefault_block`] (a page of 8-byte places when
/// dense).
const DENSE_STEP: usize = 512;

/// Fewest adjacent pages worth a call to fault them in together.
const PREFAULT_MIN_PAGES: u64 = 4;

/// A relocation whose value an IFUNC resolver gives: applied once the whole group is
/// relocated (`apply_deferred`).
#[derive(Clone, Copy, Debug)]
pub struct Deferred {
    r: Rela,
    kind: RelocKind,
    /// The IFUNC resolver to call (a deferred relocation needs nothing else of its `Def`).
    resolver: u64,
    /// How: the convention of the resolver's module.
    call: crate::abi::IfuncCall,
}

/// One RELA entry (also the shape in which another format's fixups reach [`formula`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rela {
    pub(crate) offset: u64,
    pub(crate) r_type: u32,
    pub(crate) sym: u32,
    pub(crate) addend: i64,
}

/// The three little-endian words of a RELA entry.
#[inline(always)]
fn words(e: &[u8]) -> Option<[u64; 3]> {
    let (a, rest) = e.split_first_chunk::<8>()?;
    let (b, rest) = rest.split_first_chunk::<8>()?;
    let (c, _) = rest.split_first_chunk::<8>()?;
    Some([
        u64::from_le_bytes(*a),
        u64::from_le_bytes(*b),
        u64::from_le_bytes(*c),
    ])
}

/// The runs of the sorted places of RELATIVE entries `b` that relocations write every page of,
/// as (first place, last place): `found` is called for each. Only pages relocations write: `b`
/// is looked at in steps of `DENSE_STEP` entries, and a step is dense when its first and last
/// places are close enough that no gap between two of its places can hold a whole page;
/// adjacent dense steps whose places are at most a page apart make one run (so a few stray
/// places at the start of a block, `.init_array` before a table, cost only their own step).
/// Judged from two entries a step: a step that lies costs a few pages, never more than its
/// relocations could write.
fn dense_runs(b: &[u8], page: u64, mut found: impl FnMut(u64, u64)) {
    let mut run: Option<(u64, u64)> = None;
    for step in b.chunks(DENSE_STEP * RELA_SIZE as usize) {
        let n = step.len() / RELA_SIZE as usize;
        let at = |i: usize| {
            let o = i.checked_mul(RELA_SIZE as usize)?;
            read::u64_at(step, u64::try_from(o).ok()?)
        };
        let (Some(first), Some(last), Ok(count)) =
            (at(0), at(n.saturating_sub(1)), u64::try_from(n))
        else {
            break;
        };
        // Places 8 bytes apart, plus less than a page of gaps in all: no gap between two
        // places can hold a whole page, so every page from the first's to the last's is written.
        let dense = last > first
            && last - first
                <= count
                    .saturating_sub(1)
                    .saturating_mul(8)
                    .saturating_add(page.saturating_sub(8));
        run = match run {
            Some((f, l)) if dense && first >= l && first - l <= page => Some((f, last)),
            _ => {
                if let Some((f, l)) = run {
                    found(f, l);
                }
                dense.then_some((first, last))
            }
        };
    }
    if let Some((f, l)) = run {
        found(f, l);
    }
}

/// One RELA entry: ELF64_R_TYPE and ELF64_R_SYM are the halves of r_info.
#[inline(always)]
fn parse_rela(offset: u64, info: u64, addend: u64) -> Rela {
    Rela {
        offset,
        // Both halves fit 32 bits: the conversions cannot fail (and compile to nothing).
        r_type: u32::try_from(info & 0xffff_ffff).unwrap_or(u32::MAX),
        sym: u32::try_from(info >> 32).unwrap_or(u32::MAX),
        addend: i64::from_le_bytes(addend.to_le_bytes()),
    }
}

/// What one object's relocation needs to know.
pub struct Relocator<'a, 'r> {
    /// The machine.
    pub machine: Machine,
    /// The object's layout (writes must land in a writable segment).
    pub layout: &'a Layout,
    /// The object's file bytes at link-time addresses.
    pub view: View<'a>,
    /// The load bias.
    pub bias: u64,
    /// Symbol resolution.
    pub resolver: &'a mut Resolver<'r>,
    /// DT_RELACOUNT: how many entries at the start of DT_RELA are RELATIVE (sorted by place).
    pub relative_count: u64,
    deferred: Vec<Deferred>,
    relative_type: u32,
    last_writable: std::cell::Cell<(u64, u64)>,
    last_kind: std::cell::Cell<(u32, Option<RelocKind>)>,
}

impl<'a, 'r> Relocator<'a, 'r> {
    /// A relocator for one object.
    pub fn new(
        machine: Machine,
        layout: &'a Layout,
        view: View<'a>,
        bias: u64,
        resolver: &'a mut Resolver<'r>,
    ) -> Self {
        Relocator {
            machine,
            layout,
            view,
            bias,
            resolver,
            relative_count: 0,
            deferred: Vec::new(),
            relative_type: machine.relative_type(),
            last_writable: std::cell::Cell::new((1, 0)),
            last_kind: std::cell::Cell::new((u32::MAX, None)),
        }
    }

    /// The kind of `r_type`; relocations of one type come together, so the last answer is kept.
    #[inline]
    fn classify(&self, r_type: u32) -> Option<RelocKind> {
        let (t, k) = self.last_kind.get();
        if t == r_type {
            return k;
        }
        let k = self.machine.classify(r_type);
        self.last_kind.set((r_type, k));
        k
    }

    fn problem(&mut self, e: impl Into<LoadError>) {
        self.resolver.diag.problem(e);
    }

    /// Applies DT_RELR, DT_RELA and DT_JMPREL (everything but the object's own IFUNCs).
    pub fn apply<M: Memory>(
        &mut self,
        relr: Option<Table>,
        rela: Option<Table>,
        jmprel: Option<Table>,
        mem: &mut M,
    ) {
        if let Some(t) = relr {
            self.relr(t, mem);
        }
        // Only DT_RELA's leading RELATIVE entries (DT_RELACOUNT of them) come sorted by place.
        let sorted_prefix = usize::try_from(self.relative_count).unwrap_or(0);
        for (t, mut sorted) in [(rela, sorted_prefix), (jmprel, 0)]
            .into_iter()
            .filter_map(|(t, n)| Some((t?, n)))
        {
            let Some(b) = self.view.slice(t.addr, t.size) else {
                self.problem(Malformed::AddressOutsideImage {
                    tag: "DT_RELA",
                    addr: t.addr,
                    size: t.size,
                });
                continue;
            };
            // Blocks of entries: before each is applied, the pages its sorted RELATIVE entries
            // write are faulted in at once when that is safe to tell (see `prefault_block`).
            for block in b.chunks(PREFAULT_BLOCK * RELA_SIZE as usize) {
                let n = block.len() / RELA_SIZE as usize;
                let prefix = n.min(sorted);
                sorted -= prefix;
                if mem.live() && prefix >= PREFAULT_MIN_ENTRIES {
                    if let Some(run) = block.get(..prefix * RELA_SIZE as usize) {
                        self.prefault_block(run, mem);
                    }
                }
                self.entries(block, mem);
            }
        }
    }

    /// Applies the RELA entries in `b`.
    fn entries<M: Memory>(&mut self, b: &[u8], mem: &mut M) {
        let relative = u64::from(self.relative_type);
        let bias = self.bias;
        let mut entries = b.chunks_exact(RELA_SIZE as usize);
        loop {
            // A run of RELATIVE relocations into one writable segment (most of most objects,
            // sorted by place) is written without per-entry dispatch; anything else leaves
            // the run for `one`, which also moves the run's segment.
            let (lo, hi) = self.last_writable.get();
            let hi = hi.saturating_sub(7);
            let mut other = None;
            for e in entries.by_ref() {
                let Some([offset, info, addend]) = words(e) else {
                    continue;
                };
                if info == relative && offset >= lo && offset < hi {
                    mem.write_u64(offset, bias.wrapping_add(addend));
                } else {
                    other = Some(parse_rela(offset, info, addend));
                    break;
                }
            }
            let Some(r) = other else { break };
            // Entries past this one: their symbols' table entries, then names, are loaded
            // while this one is resolved.
            let next = b.len() / RELA_SIZE as usize - entries.len();
            self.prefetch_ahead(b, next);
            self.one(r, mem);
        }
    }

    /// Prefetches for the entries of `b` a few places past index `next`: the symbol table entry
    /// of the one `PREFETCH_FAR` ahead, the name of the one `PREFETCH_NEAR` ahead.
    #[inline]
    fn prefetch_ahead(&self, b: &[u8], next: usize) {
        let sym = |i: usize| {
            let at = i.checked_mul(RELA_SIZE as usize)?.checked_add(12)?;
            read::u32_at(b, u64::try_from(at).ok()?)
        };
        if let Some(s) = sym(next + PREFETCH_FAR).filter(|&s| s != 0) {
            self.resolver.prefetch_symbol(s);
        }
        if let Some(s) = sym(next + PREFETCH_NEAR).filter(|&s| s != 0) {
            self.resolver.prefetch_name(s);
        }
    }

    /// Faults in, for writing, the pages the sorted RELATIVE entries `b` write, one call per
    /// dense run (see [`dense_runs`]): a large object's relocations copy most of its data pages,
    /// and one batch costs the kernel less than a fault per page. Advisory only.
    fn prefault_block<M: Memory>(&self, b: &[u8], mem: &mut M) {
        dense_runs(b, self.layout.page, |first, last| {
            self.prefault_run(first, last, mem)
        });
    }

    /// Faults in the pages from the place `first` to the place `last` of a dense run, if the run
    /// lies in one writable segment and is long enough to be worth a call.
    fn prefault_run<M: Memory>(&self, first: u64, last: u64, mem: &mut M) {
        let page = self.layout.page;
        let lo = first & !(page - 1);
        let hi = last.saturating_add(8).saturating_add(page - 1) & !(page - 1);
        // Both ends in one writable segment: its whole pages are this image's, mapped writable.
        let inside = self
            .layout
            .load_for(first, 8)
            .is_some_and(|l| l.writable() && l.contains(last, 8));
        if inside && hi - lo >= PREFAULT_MIN_PAGES * page {
            mem.prefault_write(lo, hi - lo);
        }
    }

    /// Leaves relocation `r` for the IFUNC `resolver`.
    fn defer(&mut self, r: Rela, kind: RelocKind, resolver: u64, call: crate::abi::IfuncCall) {
        if self.deferred.capacity() == 0 {
            // Room for a typical object's IFUNC imports at once, rather than doubling up to
            // it: every smaller block left behind would raise the heap's high-water mark.
            self.deferred.reserve(16);
        }
        self.deferred.push(Deferred {
            r,
            kind,
            resolver,
            call,
        });
    }

    /// The relocations left for IFUNC resolvers (see [`apply_deferred`]).
    pub fn take_deferred(&mut self) -> Vec<Deferred> {
        std::mem::take(&mut self.deferred)
    }

    /// True if `[vaddr, vaddr+len)` may be written.
    fn writable(&self, vaddr: u64, len: u64) -> bool {
        // Relocations come sorted by place: the segment of the last one almost always holds the
        // next, so it is tried before a search.
        let (lo, hi) = self.last_writable.get();
        if vaddr >= lo && vaddr.checked_add(len).is_some_and(|e| e <= hi) {
            return true;
        }
        match self.layout.load_for(vaddr, len) {
            Some(l) if l.writable() => {
                self.last_writable.set((l.vaddr, l.end()));
                true
            }
            _ => false,
        }
    }

    fn relr<M: Memory>(&mut self, t: Table, mem: &mut M) {
        let Some(b) = self.view.slice(t.addr, t.size) else {
            self.problem(Malformed::AddressOutsideImage {
                tag: "DT_RELR",
                addr: t.addr,
                size: t.size,
            });
            return;
        };
        let mut next: Option<u64> = None;
        let mut off = 0;
        while let Some(e) = read::u64_at(b, off) {
            off += 8;
            if e & 1 == 0 {
                self.relative(e, mem);
                next = e.checked_add(8);
                continue;
            }
            let Some(base) = next else {
                self.problem(Malformed::RelrBitmapFirst);
                return;
            };
            let mut bits = e >> 1;
            let mut at = base;
            while bits != 0 {
                if bits & 1 != 0 {
                    self.relative(at, mem);
                }
                bits >>= 1;
                at = at.wrapping_add(8);
            }
            next = base.checked_add(63 * 8);
        }
    }

    /// An implicit-addend relative relocation (RELR): *P += B.
    #[inline]
    fn relative<M: Memory>(&mut self, vaddr: u64, mem: &mut M) {
        if !self.writable(vaddr, 8) {
            return self.problem(Malformed::RelocationOutsideWritable { offset: vaddr });
        }
        let v = mem.read_u64(vaddr).wrapping_add(self.bias);
        mem.write(
            vaddr,
            Write {
                value: v,
                width: Width::W64,
            },
        );
    }

    #[inline]
    fn one<M: Memory>(&mut self, r: Rela, mem: &mut M) {
        if r.r_type == self.relative_type {
            // The common case (most relocations of most objects), before any table lookup.
            if !self.writable(r.offset, 8) {
                return self.problem(Malformed::RelocationOutsideWritable { offset: r.offset });
            }
            let value = self.bias.wrapping_add(r.addend as u64);
            return mem.write(
                r.offset,
                Write {
                    value,
                    width: Width::W64,
                },
            );
        }
        let Some(kind) = self.classify(r.r_type) else {
            return self.problem(Unsupported::Relocation {
                r_type: r.r_type,
                name: "unknown",
                offset: r.offset,
            });
        };
        if kind == RelocKind::None {
            return;
        }
        let width = match kind {
            RelocKind::Absolute(w) | RelocKind::PcRelative(w) | RelocKind::Size(w) => w,
            _ => Width::W64,
        };
        if !self.writable(r.offset, width.bytes()) {
            return self.problem(Malformed::RelocationOutsideWritable { offset: r.offset });
        }
        if kind == RelocKind::Relative {
            let v = self.bias.wrapping_add(r.addend as u64);
            return mem.write(
                r.offset,
                Write {
                    value: v,
                    width: Width::W64,
                },
            );
        }
        match kind {
            RelocKind::Copy => {
                return self.problem(Unsupported::CopyRelocation { offset: r.offset })
            }
            RelocKind::IRelative => {
                let addr = self.bias.wrapping_add(r.addend as u64);
                if !self.layout.executable(r.addend as u64) {
                    return self.problem(Malformed::CodeOutsideText {
                        what: "IRELATIVE resolver",
                        addr: r.addend as u64,
                    });
                }
                return self.defer(r, kind, addr, self.resolver.own_ifunc);
            }
            _ => {}
        }
        if kind == RelocKind::TlsDesc && !self.writable(r.offset, TLS_DESCRIPTOR_SIZE) {
            return self.problem(Malformed::RelocationOutsideWritable { offset: r.offset });
        }
        if kind.is_tls() && r.sym == 0 {
            // Local-dynamic and descriptors for the object's own block.
            let def = Def {
                tls_modid: self.resolver.own_modid,
                tls_tpoff: self.resolver.own_tpoff,
                ..Def::default()
            };
            return self.tls(r, kind, def, mem);
        }
        let def = match self.resolver.resolve(r.sym) {
            Ok(d) => d,
            Err(Unresolved::Malformed(m)) => return self.problem(m),
            Err(Unresolved::Missing | Unresolved::Forbidden) => return,
        };
        if kind.is_tls() {
            return self.tls(r, kind, def, mem);
        }
        if def.local_ifunc && kind != RelocKind::Size(width) {
            // The resolver was checked to lie in its module's code when the symbol resolved.
            return self.defer(r, kind, def.addr, def.ifunc_call);
        }
        self.formula(r, kind, def, mem);
    }

    /// The thread-local kinds: module id, offset in the block, offset from the thread pointer
    /// (a block in static TLS: the system's, or dynplug's reserve), with the machine's TLS layout
    /// (`TlsAbi`); and TLS descriptors.
    fn tls<M: Memory>(&mut self, r: Rela, kind: RelocKind, def: Def, mem: &mut M) {
        if def.tls_modid == 0 {
            return self.problem(Unsupported::ThreadLocalStorage {
                what: "TLS relocation against a module without TLS",
            });
        }
        let block_from_tp = match kind {
            RelocKind::TlsDesc => return self.tls_desc(r, def, mem),
            RelocKind::TlsTpOffset(_) => match self.static_block(def, mem.live()) {
                Ok(tpoff) => tpoff as i64,
                Err(why) => {
                    let symbol = self.symbol_name(r.sym);
                    return self.problem(Unsupported::InitialExecTls {
                        symbol,
                        module: String::new(),
                        why,
                    });
                }
            },
            _ => 0,
        };
        let inputs = TlsInputs {
            module_id: def.tls_modid,
            s: def.addr,
            a: r.addend,
            block_from_tp,
        };
        match compute_tls(kind, self.machine.tls(), &inputs) {
            Ok(w) => mem.write(r.offset, w),
            Err(FormulaError::Overflow { value, .. }) => {
                let name = self.machine.reloc_name(r.r_type);
                self.problem(Malformed::RelocationOverflow {
                    name,
                    offset: r.offset,
                    value,
                })
            }
            Err(FormulaError::NotAFormula) => {}
        }
    }

    /// A TLS descriptor: the machine's resolver and its argument (the offset from the thread
    /// pointer for a block in static TLS, else a `tls_index`). Refused where the machine's ABI
    /// file has no resolvers.
    fn tls_desc<M: Memory>(&mut self, r: Rela, def: Def, mem: &mut M) {
        let Some(stubs) = mem.tlsdesc_stubs() else {
            return self.problem(Unsupported::ThreadLocalStorage {
                what: "TLS descriptors on this machine",
            });
        };
        let off = def.addr.wrapping_add(r.addend as u64);
        // A dry run's module ids are pretend ones: no placement is asked for.
        let placed = if self.resolver.offline() {
            // Offline, every offset is the caller's (0 included).
            (def.tls_tpoff != NOT_PLACED).then_some(def.tls_tpoff)
        } else if def.tls_tpoff != 0 {
            Some(def.tls_tpoff)
        } else if mem.live() {
            crate::tls::static_offset(def.tls_modid)
        } else {
            None
        };
        let (resolver, arg) = match placed {
            Some(tpoff) => (stubs.fixed, tpoff.wrapping_add(off)),
            None if mem.live() => (stubs.dynamic, crate::tls::leak_index(def.tls_modid, off)),
            None => (stubs.dynamic, off),
        };
        let w64 = |value| Write {
            value,
            width: Width::W64,
        };
        mem.write(r.offset, w64(resolver));
        mem.write(r.offset.wrapping_add(TLS_DESCRIPTOR_SIZE / 2), w64(arg));
    }

    /// The offset from the thread pointer of `def`'s block, which initial-exec code needs in
    /// static TLS: a system module's, or a block of a module dynplug is loading placed in its
    /// reserve now (a dry run takes nothing, and knows the shape of the object's own block only).
    fn static_block(&self, def: Def, live: bool) -> Result<u64, StaticTlsRefusal> {
        if self.resolver.offline() {
            // Offline, a block is in static TLS only where the caller placed it (0 included).
            return match def.tls_tpoff {
                NOT_PLACED => Err(StaticTlsRefusal::NotPlaced),
                tpoff => Ok(tpoff),
            };
        }
        if def.tls_tpoff != 0 {
            // The system's static TLS: the offset holds on every machine.
            return Ok(def.tls_tpoff);
        }
        if def.tls_modid < crate::tls::FIRST_MODID {
            // A system module whose block is made per thread on first use.
            return Err(StaticTlsRefusal::InUse);
        }
        if !crate::abi::STATIC_TLS_RESERVE {
            return Err(StaticTlsRefusal::Machine);
        }
        if live {
            return crate::tls::place_static(def.tls_modid);
        }
        if def.tls_modid == self.resolver.own_modid {
            if let Some(t) = self.layout.tls {
                let image = self.view.slice(t.vaddr, t.filesz);
                if t.filesz != 0 && !image.is_some_and(|b| b.iter().all(|&x| x == 0)) {
                    return Err(StaticTlsRefusal::InitialisedData);
                }
                crate::static_tls::fits(t.memsz, t.align, t.vaddr)?;
            }
        }
        crate::static_tls::reserve()
    }

    /// The name of symbol `index`, for messages.
    fn symbol_name(&self, index: u32) -> String {
        if index == 0 {
            return "(the module's own block)".into();
        }
        self.resolver
            .sym(index)
            .ok()
            .and_then(|s| self.resolver.name_of(&s))
            .map_or_else(
                || format!("symbol #{index}"),
                |n| String::from_utf8_lossy(n).into_owned(),
            )
    }

    fn formula<M: Memory>(&mut self, r: Rela, kind: RelocKind, def: Def, mem: &mut M) {
        if let Some(e) = formula(self.machine, self.bias, r, kind, def, mem) {
            self.problem(e);
        }
    }
}

/// The mapped image as relocation target.
pub struct Live {
    /// The load bias.
    pub bias: u64,
}

impl Memory for Live {
    #[inline(always)]
    fn write_u64(&mut self, vaddr: u64, value: u64) {
        let p = self.bias.wrapping_add(vaddr) as *mut u64;
        // SAFETY: the loop checked [vaddr, vaddr+8) lies inside a writable segment of this image,
        // which is mapped read-write at bias + vaddr.
        unsafe { p.write_unaligned(value) }
    }
    fn read_u64(&self, vaddr: u64) -> u64 {
        let p = self.bias.wrapping_add(vaddr) as *const u64;
        // SAFETY: the loop only reads inside a writable (hence mapped, readable) segment.
        unsafe { p.read_unaligned() }
    }
    fn write(&mut self, vaddr: u64, w: Write) {
        let p = self.bias.wrapping_add(vaddr);
        // SAFETY: the loop checked [vaddr, vaddr+width) lies inside a writable segment of this
        // image, which is mapped read-write at bias + vaddr.
        unsafe {
            match w.width {
                Width::W64 => (p as *mut u64).write_unaligned(w.value),
                Width::W32 | Width::W32S => (p as *mut u32).write_unaligned(w.value as u32),
            }
        }
    }
    fn call_ifunc(&mut self, addr: u64, call: crate::abi::IfuncCall) -> u64 {
        // SAFETY: `addr` was checked to lie in an executable segment of the image, which is
        // mapped, and fully relocated by now (IFUNCs run last).
        unsafe { crate::abi::call_ifunc_resolver(addr, call) }
    }
    fn live(&self) -> bool {
        true
    }
    fn prefault_write(&mut self, vaddr: u64, len: u64) {
        let Ok(len) = usize::try_from(len) else {
            return;
        };
        // MADV_POPULATE_WRITE (Linux 5.14); older kernels answer EINVAL, which changes nothing.
        const MADV_POPULATE_WRITE: libc::c_int = 23;
        // SAFETY: the caller checked that the range is page-aligned and inside a writable segment
        // of this image: populating it only breaks copy-on-write early, contents are unchanged.
        unsafe {
            libc::madvise(
                self.bias.wrapping_add(vaddr) as *mut libc::c_void,
                len,
                MADV_POPULATE_WRITE,
            )
        };
    }
}

/// A dry run's memory: writes kept aside, reads fall back on the file's bytes (zero in .bss).
pub struct DryRun<'a> {
    /// The file's bytes at link-time addresses.
    pub view: View<'a>,
    /// What the relocations wrote, by link-time address.
    pub written: std::collections::HashMap<u64, Write>,
}

impl Memory for DryRun<'_> {
    fn read_u64(&self, vaddr: u64) -> u64 {
        match self.written.get(&vaddr) {
            Some(w) => w.value,
            None => self.view.u64_at(vaddr).unwrap_or(0),
        }
    }
    fn write(&mut self, vaddr: u64, w: Write) {
        self.written.insert(vaddr, w);
    }
    fn call_ifunc(&mut self, addr: u64, _call: crate::abi::IfuncCall) -> u64 {
        addr
    }
    fn live(&self) -> bool {
        false
    }
}

/// Evaluates `kind`'s formula for `r` bound to `def` and stores the result; the error if it
/// cannot be.
pub(crate) fn formula<M: Memory>(
    machine: Machine,
    bias: u64,
    r: Rela,
    kind: RelocKind,
    def: Def,
    mem: &mut M,
) -> Option<LoadError> {
    let p = bias.wrapping_add(r.offset);
    let inputs = Inputs {
        s: def.addr,
        a: r.addend,
        b: bias,
        p,
        z: def.size,
    };
    // The name only for an error message: looked up when one is made.
    let name = || machine.reloc_name(r.r_type);
    match compute(kind, machine.got_addend(), &inputs) {
        Ok(Some(w)) => {
            mem.write(r.offset, w);
            None
        }
        Ok(None) => None,
        Err(FormulaError::Overflow { value, .. }) => Some(
            Malformed::RelocationOverflow {
                name: name(),
                offset: r.offset,
                value,
            }
            .into(),
        ),
        Err(FormulaError::NotAFormula) => Some(
            Unsupported::Relocation {
                r_type: r.r_type,
                name: name(),
                offset: r.offset,
            }
            .into(),
        ),
    }
}

/// Runs the IFUNC resolvers of `deferred` (relocations of one object loaded at `bias`) and
/// stores what they give: after every module of the group is relocated, as glibc runs
/// IRELATIVE last, reporting to `diag`. A dry run's memory does not call them.
pub fn apply_deferred<M: Memory>(
    machine: Machine,
    bias: u64,
    deferred: Vec<Deferred>,
    mem: &mut M,
    diag: &mut Diag<'_>,
) {
    for Deferred {
        r,
        kind,
        resolver,
        call,
    } in deferred
    {
        let s = mem.call_ifunc(resolver, call);
        let def = Def {
            addr: s,
            ..Def::default()
        };
        if kind == RelocKind::IRelative {
            mem.write_u64(r.offset, s);
        } else if let Some(e) = formula(machine, bias, r, kind, def, mem) {
            diag.problem(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RELATIVE entries (only their places matter here) at `places`.
    fn entries(places: impl IntoIterator<Item = u64>) -> Vec<u8> {
        places
            .into_iter()
            .flat_map(|p| [p, 8, 0])
            .flat_map(u64::to_le_bytes)
            .collect()
    }

    fn runs(b: &[u8]) -> Vec<(u64, u64)> {
        let mut v = Vec::new();
        dense_runs(b, 4096, |f, l| v.push((f, l)));
        v
    }

    #[test]
    fn stray_places_before_a_table_cost_only_their_step() {
        // Three places far below a table of 2048 pointers (.init_array before .data.rel).
        let table = 0x10_0000;
        let places = [0x3df0, 0x3df8, 0x4000]
            .into_iter()
            .chain((0..2048).map(|i| table + i * 8));
        assert_eq!(
            runs(&entries(places)),
            [(table + 509 * 8, table + 2047 * 8)]
        );
    }

    #[test]
    fn steps_a_gap_apart_are_not_one_run() {
        // Two tables of a step each, three pages apart: the pages between are never written.
        let a = 0x10_0000;
        let b = a + 512 * 8 + 3 * 4096;
        let places = (0..512)
            .map(|i| a + i * 8)
            .chain((0..512).map(|i| b + i * 8));
        assert_eq!(runs(&entries(places)), [(a, a + 511 * 8), (b, b + 511 * 8)]);
    }

    #[test]
    fn a_step_with_a_page_sized_hole_is_not_dense() {
        // One gap of a page and 8 bytes: the page after the 4088th byte holds no place.
        let mut places: Vec<u64> = (0..511).map(|i| 0x10_0ff8 - 510 * 8 + i * 8).collect();
        places.push(0x10_0ff8 + 4096 + 8);
        assert_eq!(runs(&entries(places)), []);
    }
}
