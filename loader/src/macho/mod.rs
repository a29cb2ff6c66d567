//! Mach-O: a bounds-checked reader of 64-bit dylibs and bundles (x86_64, arm64) that describes
//! an image in neutral terms a loader consumes: segments with protections, the sections it acts
//! on, dependencies, the export trie ([`trie`]) and one list of fixups ([`fixups`]) from either
//! the `LC_DYLD_INFO` opcode streams or `LC_DYLD_CHAINED_FIXUPS`. Every read of the file is
//! checked; hostile input gives a [`MachOError`], never a panic.

mod bind;
mod chained;
pub mod check;
mod commands;
mod deps;
pub mod fixups;
mod header;
pub mod in_memory;
mod leb;
pub mod load;
mod opcodes;
mod registry;
mod segments;
pub mod symtab;
pub(crate) mod tlv;
pub mod trie;

pub use crate::macho_error::{MachOError, MalformedMachO, Result, UnsupportedMachO};
pub use commands::{DyldInfo, Dylib, DylibKind, Dysymtab, FileRange, Symtab};
pub use fixups::{Bind, BindStream, Fixup, FixupKind, Fixups, LibOrdinal};
pub use header::{is_macho, Arch, FileKind, Header};
pub use segments::{Prot, Section, SectionKind, Segment, MAX_SPAN};
pub use trie::{Export, ExportKind, Exports};

/// `MH_HAS_TLV_DESCRIPTORS`.
pub const MH_HAS_TLV_DESCRIPTORS: u32 = 0x0080_0000;
/// `MH_TWOLEVEL`.
pub const MH_TWOLEVEL: u32 = 0x80;

/// A parsed, checked Mach-O image.
#[derive(Clone, Debug)]
pub struct MachO<'a> {
    /// The file.
    pub bytes: &'a [u8],
    /// The header.
    pub header: Header,
    /// The segments in load-command (and address) order; offsets are from the first one's
    /// address, the image's base.
    pub segments: Vec<Segment>,
    /// Every section, in load-command order.
    pub sections: Vec<Section>,
    /// `LC_ID_DYLIB`'s install name (dylibs only).
    pub id: Option<String>,
    /// The dependencies in ordinal order (`dylibs[0]` is ordinal 1).
    pub dylibs: Vec<Dylib>,
    /// `LC_RPATH` entries in order.
    pub rpaths: Vec<String>,
    /// `LC_ROUTINES_64`'s initialiser, as an offset from the base.
    pub routines: Option<u64>,
    /// `LC_DYLD_INFO(_ONLY)`.
    pub dyld_info: Option<DyldInfo>,
    /// `LC_DYLD_CHAINED_FIXUPS`' blob.
    pub chained_fixups: Option<FileRange>,
    /// `LC_DYLD_EXPORTS_TRIE`'s trie.
    pub exports_trie: Option<FileRange>,
    /// `LC_CODE_SIGNATURE`'s blob (what macOS checks code pages against).
    pub code_signature: Option<FileRange>,
    /// `LC_SYMTAB`.
    pub symtab: Option<Symtab>,
    /// `LC_DYSYMTAB`.
    pub dysymtab: Option<Dysymtab>,
}

impl<'a> MachO<'a> {
    /// Parses and checks `bytes` as a 64-bit little-endian Mach-O dylib or bundle.
    pub fn parse(bytes: &'a [u8]) -> Result<MachO<'a>> {
        let header = Header::parse(bytes)?;
        let c = commands::walk(bytes, &header)?;
        let (segments, sections) = segments::finish(c.segments)?;
        let base = segments.first().map_or(0, |s| s.vmaddr);
        let routines = match c.routines {
            Some(addr) => Some(routine_offset(&segments, addr, base)?),
            None => None,
        };
        let image = MachO {
            bytes,
            header,
            segments,
            sections,
            id: c.id,
            dylibs: c.dylibs,
            rpaths: c.rpaths,
            routines,
            dyld_info: c.dyld_info,
            chained_fixups: c.chained_fixups,
            exports_trie: c.exports_trie,
            code_signature: c.code_signature,
            symtab: c.symtab,
            dysymtab: c.dysymtab,
        };
        image.check_linkedit()?;
        Ok(image)
    }

    /// The image's base: the first segment's address in the file.
    pub fn base(&self) -> u64 {
        self.segments.first().map_or(0, |s| s.vmaddr)
    }

    /// The bytes from the base to the last segment's end.
    pub fn span(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.vmoffset + s.vmsize)
    }

    /// The export trie: `LC_DYLD_EXPORTS_TRIE`'s, else `LC_DYLD_INFO`'s (empty if neither).
    pub fn trie_bytes(&self) -> &'a [u8] {
        let range = self
            .exports_trie
            .or(self.dyld_info.map(|d| d.export))
            .unwrap_or_default();
        range.bytes(self.bytes)
    }

    /// The segment whose memory holds `[off, off+len)` (offsets from the base).
    pub fn segment_at(&self, off: u64, len: u64) -> Option<&Segment> {
        self.segments.iter().find(|s| s.contains(off, len))
    }

    /// Every `__LINKEDIT` table inside the file and inside `__LINKEDIT`'s file bytes; the symbol
    /// table's partition within its count; opcodes and chains not both present.
    fn check_linkedit(&self) -> Result<()> {
        let linkedit = self
            .segments
            .iter()
            .find(|s| s.name == "__LINKEDIT")
            .ok_or(MalformedMachO::Missing { what: "__LINKEDIT" })?;
        let (start, end) = (linkedit.fileoff, linkedit.fileoff + linkedit.filesize);
        let check = |what: &'static str, r: &FileRange| -> Result<()> {
            let inside =
                r.offset >= start && r.offset.checked_add(r.size).is_some_and(|e| e <= end);
            if r.size == 0 || inside {
                Ok(())
            } else {
                Err(crate::macho_error::oob(what, r.offset, r.size))
            }
        };
        if let Some(d) = &self.dyld_info {
            check("rebase opcodes", &d.rebase)?;
            check("bind opcodes", &d.bind)?;
            check("weak-bind opcodes", &d.weak_bind)?;
            check("lazy-bind opcodes", &d.lazy_bind)?;
            check("export trie", &d.export)?;
        }
        if let Some(r) = &self.chained_fixups {
            check("chained fixups", r)?;
        }
        if let Some(r) = &self.exports_trie {
            check("exports trie", r)?;
        }
        if let Some(r) = &self.code_signature {
            check("code signature", r)?;
        }
        if let Some(s) = &self.symtab {
            check("symbol table", &s.symbols)?;
            check("string table", &s.strings)?;
        }
        if let Some(d) = &self.dysymtab {
            check("indirect symbol table", &d.indirect)?;
            self.check_dysymtab(d)?;
        }
        self.check_exclusive()
    }

    /// The dynamic symbol table's index ranges lie inside the symbol table.
    fn check_dysymtab(&self, d: &Dysymtab) -> Result<()> {
        let count = self.symtab.map_or(0, |s| u64::from(s.count));
        for (what, (first, n)) in [
            ("external symbols", d.extdef),
            ("undefined symbols", d.undef),
        ] {
            if u64::from(first) + u64::from(n) > count {
                return Err(crate::macho_error::oob(what, first.into(), n.into()));
            }
        }
        Ok(())
    }

    /// Opcode fixups and chained fixups, or two export tries, are not both present.
    fn check_exclusive(&self) -> Result<()> {
        let Some(d) = &self.dyld_info else {
            return Ok(());
        };
        let opcodes = [d.rebase, d.bind, d.weak_bind, d.lazy_bind];
        if self.chained_fixups.is_some() && opcodes.iter().any(|r| r.size > 0) {
            return Err(MalformedMachO::Conflicting {
                what: "opcode fixups and chained fixups",
            }
            .into());
        }
        if self.exports_trie.is_some_and(|t| t.size > 0) && d.export.size > 0 {
            return Err(MalformedMachO::Conflicting {
                what: "two export tries",
            }
            .into());
        }
        Ok(())
    }

    /// The value of `name`'s export (`_plugin_add` for C's `plugin_add`), if the trie has it.
    pub fn export(&self, name: &str) -> Result<Option<Export<'a>>> {
        trie::lookup(self.trie_bytes(), name.as_bytes(), trie::Bounds::from(self))
    }

    /// Every export, in trie order (bounded: a malformed trie ends it with an error).
    pub fn exports(&self) -> Exports<'a, '_> {
        Exports::new(self.trie_bytes(), self)
    }

    /// Every fixup: rebases then binds, from whichever format the image has.
    pub fn fixups(&self) -> Fixups<'a, '_> {
        Fixups::new(self)
    }
}

/// `LC_ROUTINES_64`'s address as an offset from the base; it must lie in an executable segment.
fn routine_offset(segments: &[Segment], addr: u64, base: u64) -> Result<u64> {
    let off = addr.wrapping_sub(base);
    if segments
        .iter()
        .any(|s| s.initprot.exec && s.contains(off, 1))
    {
        Ok(off)
    } else {
        Err(MalformedMachO::NotInCode {
            what: "LC_ROUTINES_64 initialiser",
            offset: off,
        }
        .into())
    }
}
