//! Offline relocation: an image of any supported machine relocated into buffers, at a base the
//! caller chooses, with the caller's answers for everything outside the image (import addresses,
//! TLS placement, IFUNC results). Nothing is mapped executable and nothing runs: this is the
//! load's own relocation loop (`relocate.rs`) writing into [`Segment`] buffers.
//!
//! ```
//! use dynplug_loader::offline::{relocate, Binding, Request};
//! # let image = std::fs::read(dynplug_fixtures::path("hello")).unwrap();
//! let imports = |name: &[u8], _version: Option<&[u8]>| {
//!     (name == b"puts").then_some(Binding::Address(0x7000_0000_1000))
//! };
//! let out = relocate(&image, &Request { imports: &imports, ..Request::new(0x4000_0000) })?;
//! for s in &out.segments {
//!     println!("{:#x}: {} bytes, flags {:#x}", s.vaddr, s.bytes.len(), s.flags);
//! }
//! # Ok::<(), dynplug_loader::LoadError>(())
//! ```

use std::ops::Range;

use dynplug_arch::{Machine, Width, Write};

use crate::abi::TlsDescStubs;
use crate::error::LoadError;
use crate::group::Bytes;
use crate::link::{link, Mode, Options};
use crate::object::Object;
use crate::relocate::Memory;
use crate::resolve::{Def, Imports, NOT_PLACED};

/// What an import binds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// A function or data object at this run-time address (for an IFUNC outside the image: the
    /// implementation its resolver picked).
    Address(u64),
    /// A thread-local variable of another module.
    ThreadLocal {
        /// That module's TLS module id.
        module_id: u64,
        /// The variable's offset in that module's block.
        offset: u64,
        /// The block's distance from the thread pointer (block − TP) if it lies in static TLS:
        /// initial-exec relocations (TPREL) need it.
        block_from_tp: Option<i64>,
    },
}

/// The image's own thread-local block, as the caller placed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnTls {
    /// The image's TLS module id (DTPMOD relocations write it).
    pub module_id: u64,
    /// Its block's distance from the thread pointer if it lies in static TLS (TPREL, and TLS
    /// descriptors with the static resolver); `None`: dynamic TLS only.
    pub block_from_tp: Option<i64>,
}

/// The two resolvers a TLS descriptor's first word may hold (descriptor: resolver, argument).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlsDescriptors {
    /// For a block in static TLS: the argument is the variable's offset from the thread pointer.
    pub static_resolver: u64,
    /// For a block only in dynamic TLS: the argument is the variable's offset in its block.
    pub dynamic_resolver: u64,
}

/// Binds an import: (name, version asked for) → what it binds to.
pub type ImportFn<'a> = dyn Fn(&[u8], Option<&[u8]>) -> Option<Binding> + 'a;

/// Everything outside the image that relocation needs, as the caller chooses it.
pub struct Request<'a> {
    /// The load bias: run-time address = link-time address + `base`.
    pub base: u64,
    /// Binds an import (name, version asked for, if any); `None`: undefined here (the image's own
    /// definition is used if it has one, a weak import is 0, else it is a problem).
    pub imports: &'a ImportFn<'a>,
    /// What the image's IFUNC resolver at this run-time address returns; `None` is a problem.
    pub ifunc: &'a dyn Fn(u64) -> Option<u64>,
    /// The image's own TLS block (`None`: TLS relocations against it are problems).
    pub tls: Option<OwnTls>,
    /// The resolvers written into TLS descriptors.
    pub tls_descriptors: TlsDescriptors,
    /// The page size the image is checked against (its segments must be congruent modulo it): a
    /// power of two from 4 KiB to 64 KiB.
    pub page_size: u64,
}

fn no_imports(_: &[u8], _: Option<&[u8]>) -> Option<Binding> {
    None
}

fn no_ifuncs(_: u64) -> Option<u64> {
    None
}

impl Request<'_> {
    /// A request for `base` with no imports, no IFUNC results, no TLS, 4 KiB pages.
    pub fn new(base: u64) -> Request<'static> {
        Request {
            base,
            imports: &no_imports,
            ifunc: &no_ifuncs,
            tls: None,
            tls_descriptors: TlsDescriptors::default(),
            page_size: 4096,
        }
    }
}

/// A signed distance from the thread pointer as the loop's wrapping word (`tls_tpoff`).
fn tp_offset(block_from_tp: i64) -> u64 {
    u64::from_le_bytes(block_from_tp.to_le_bytes())
}

/// One PT_LOAD's memory image after relocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Link-time address (`p_vaddr`): the bytes lie at `vaddr + base` at run time.
    pub vaddr: u64,
    /// `p_flags` (PF_R 4, PF_W 2, PF_X 1).
    pub flags: u32,
    /// `p_memsz` bytes: the file's, zero past `p_filesz`, relocated.
    pub bytes: Vec<u8>,
    /// The link-time range of this segment that is RELRO (read-only after relocation).
    pub relro: Option<Range<u64>>,
}

/// The relocated image.
#[derive(Debug)]
pub struct Relocated {
    /// The image's machine.
    pub machine: Machine,
    /// The base it was relocated for.
    pub base: u64,
    /// Each PT_LOAD, in program header order.
    pub segments: Vec<Segment>,
    /// Every problem found (empty: a load would have succeeded with these inputs).
    pub problems: Vec<LoadError>,
}

impl Relocated {
    /// The `len` bytes at link-time address `vaddr`, if one segment holds them all.
    pub fn bytes_at(&self, vaddr: u64, len: u64) -> Option<&[u8]> {
        self.segments.iter().find_map(|s| span(s, vaddr, len))
    }
}

/// The bytes of `s` at `[vaddr, vaddr + len)`, if it holds them all.
fn span(s: &Segment, vaddr: u64, len: u64) -> Option<&[u8]> {
    let from = usize::try_from(vaddr.checked_sub(s.vaddr)?).ok()?;
    let to = from.checked_add(usize::try_from(len).ok()?)?;
    s.bytes.get(from..to)
}

/// The smallest page size of the machines dynplug knows (x86_64, aarch64, riscv64: 4 KiB).
const MIN_PAGE: u64 = 4 << 10;
/// The largest (aarch64: 64 KiB).
const MAX_PAGE: u64 = 64 << 10;

/// Relocates `image` (an ELF shared object of any machine dynplug knows) as `request` says.
/// `Err` only when the headers cannot be read (not ELF, malformed program headers or dynamic
/// section, an image larger than dynplug accepts) or the page size is not one
/// (`ErrorKind::InvalidInput`); every problem of its relocations is in
/// [`Relocated::problems`], and the segments hold what could be applied.
pub fn relocate(image: &[u8], request: &Request<'_>) -> Result<Relocated, LoadError> {
    let page = request.page_size;
    if !page.is_power_of_two() || !(MIN_PAGE..=MAX_PAGE).contains(&page) {
        return Err(LoadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("page size {page:#x}: a power of two from 4 KiB to 64 KiB"),
        )));
    }
    let obj = Object::parse(Bytes::Borrowed(image), None, page)?;
    let mut mem = Buffers::new(&obj, request)?;
    let bind = |name: &[u8], version: Option<&[u8]>| {
        (request.imports)(name, version).map(|b| match b {
            Binding::Address(addr) => Def {
                addr,
                ..Def::default()
            },
            Binding::ThreadLocal {
                module_id,
                offset,
                block_from_tp,
            } => Def {
                addr: offset,
                tls_modid: module_id,
                tls_tpoff: block_from_tp.map_or(NOT_PLACED, tp_offset),
                ..Def::default()
            },
        })
    };
    let own = request.tls.unwrap_or_default();
    let mode = Mode {
        live: false,
        report_missing: true,
        tls_modid: own.module_id,
        subject: crate::diag::Subject::default(),
        served: |_| None,
        imports: Some(Imports(&bind)),
        tls_tpoff: own.block_from_tp.map_or(NOT_PLACED, tp_offset),
    };
    // Unique symbols bind as found (the caller's answer first), not through this process's table.
    let unique = crate::unique::Unique::detached();
    let linked = link(
        &obj,
        request.base,
        &Options::default(),
        &[],
        &unique,
        &mut mem,
        mode,
    );
    let mut problems = linked.problems;
    problems.append(&mut mem.problems);
    Ok(Relocated {
        machine: obj.machine,
        base: request.base,
        segments: mem.segments,
        problems,
    })
}

/// The relocation loop's memory: one buffer per PT_LOAD.
struct Buffers<'r> {
    segments: Vec<Segment>,
    ifunc: &'r dyn Fn(u64) -> Option<u64>,
    stubs: TlsDescStubs,
    problems: Vec<LoadError>,
}

impl<'r> Buffers<'r> {
    /// Each PT_LOAD of `obj` as it lies in memory before relocation.
    fn new(obj: &Object<Bytes<'_>>, request: &Request<'r>) -> Result<Buffers<'r>, LoadError> {
        let relro = obj.layout.relro;
        let view = obj.view();
        let mut segments = Vec::with_capacity(obj.layout.loads.len());
        for l in &obj.layout.loads {
            let too_large = || crate::error::Malformed::ImageTooLarge { size: l.memsz };
            let memsz = usize::try_from(l.memsz).map_err(|_| too_large())?;
            let mut bytes = Vec::new();
            bytes.try_reserve_exact(memsz).map_err(|_| too_large())?;
            bytes.extend_from_slice(view.slice(l.vaddr, l.filesz).unwrap_or_default());
            bytes.resize(memsz, 0);
            let relro = relro.and_then(|r| {
                let lo = r.vaddr.max(l.vaddr);
                let hi = r.vaddr.saturating_add(r.memsz).min(l.end());
                (lo < hi).then_some(lo..hi)
            });
            segments.push(Segment {
                vaddr: l.vaddr,
                flags: crate::elf::layout::p_flags_of(l.prot),
                bytes,
                relro,
            });
        }
        Ok(Buffers {
            segments,
            ifunc: request.ifunc,
            stubs: TlsDescStubs {
                dynamic: request.tls_descriptors.dynamic_resolver,
                fixed: request.tls_descriptors.static_resolver,
            },
            problems: Vec::new(),
        })
    }

    /// The `len` bytes at link-time `vaddr`, writable.
    fn at_mut(&mut self, vaddr: u64, len: usize) -> Option<&mut [u8]> {
        self.segments.iter_mut().find_map(|s| {
            let from = usize::try_from(vaddr.checked_sub(s.vaddr)?).ok()?;
            s.bytes.get_mut(from..from.checked_add(len)?)
        })
    }
}

impl Memory for Buffers<'_> {
    fn read_u64(&self, vaddr: u64) -> u64 {
        self.segments
            .iter()
            .find_map(|s| span(s, vaddr, 8))
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    }

    fn write(&mut self, vaddr: u64, w: Write) {
        let bytes = w.value.to_le_bytes();
        let n = match w.width {
            Width::W64 => 8,
            Width::W32 | Width::W32S => 4,
        };
        // The loop wrote only inside a writable segment: every place is in a buffer.
        if let (Some(place), Some(value)) = (self.at_mut(vaddr, n), bytes.get(..n)) {
            place.copy_from_slice(value);
        }
    }

    fn call_ifunc(&mut self, addr: u64, _call: crate::abi::IfuncCall) -> u64 {
        (self.ifunc)(addr).unwrap_or_else(|| {
            self.problems
                .push(LoadError::NoIfuncResult { resolver: addr });
            0
        })
    }

    fn live(&self) -> bool {
        false
    }

    fn tlsdesc_stubs(&self) -> Option<TlsDescStubs> {
        Some(self.stubs)
    }
}
