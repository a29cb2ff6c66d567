//! `LC_DYLD_CHAINED_FIXUPS`: the header, the per-segment page starts, the imports table, and the
//! chains walked one pointer at a time. Formats DYLD_CHAINED_PTR_64 and _64_OFFSET; imports
//! DYLD_CHAINED_IMPORT, _ADDEND and _ADDEND64. Every chain stays inside its page.

use super::fixups::{file_word, writable_word, Bind, BindStream, Fixup, FixupKind, LibOrdinal};
use super::MachO;
use crate::macho_error::{MachOError, MalformedMachO, Result, UnsupportedMachO};
use crate::read::{cstr_at, u16_at, u32_at, u64_at};

const PTR_64: u16 = 2;
const PTR_64_OFFSET: u16 = 6;
/// `page_start` of a page without fixups.
const START_NONE: u16 = 0xffff;
/// `page_start`'s flag for 32-bit formats' overflow lists.
const START_MULTI: u16 = 0x8000;
/// Size of `dyld_chained_starts_in_segment` before `page_start[]`.
const STARTS_FIXED: u64 = 22;
/// Size of `dyld_chained_fixups_header`.
const HEADER_SIZE: u64 = 28;

fn bad(why: &'static str, value: u64) -> MachOError {
    MalformedMachO::BadChain { why, value }.into()
}

/// The imports table.
#[derive(Clone, Copy)]
struct Imports<'a> {
    blob: &'a [u8],
    offset: u64,
    count: u64,
    format: u32,
    symbols: u64,
}

impl<'a> Imports<'a> {
    /// The entry size of `format`.
    fn entry_size(format: u32) -> Result<u64> {
        match format {
            1 => Ok(4),
            2 => Ok(8),
            3 => Ok(16),
            value => Err(UnsupportedMachO::ChainedFormat {
                what: "imports format",
                value,
            }
            .into()),
        }
    }

    /// Import `index` as a bind with the pointer's inline `addend` added.
    fn bind(&self, image: &MachO<'a>, index: u64, inline: u64) -> Result<Bind<'a>> {
        if index >= self.count {
            return Err(MalformedMachO::BadImportIndex {
                index,
                count: self.count,
            }
            .into());
        }
        let at = self.offset + index * Self::entry_size(self.format)?;
        let oob = || crate::macho_error::oob("chained import", at, 16);
        let (lib, weak, name_off, addend) = match self.format {
            1 | 2 => {
                let w = u32_at(self.blob, at).ok_or_else(oob)?;
                let addend = match self.format {
                    2 => {
                        let a = u32_at(self.blob, at + 4).ok_or_else(oob)?;
                        i64::from(i32::from_le_bytes(a.to_le_bytes()))
                    }
                    _ => 0,
                };
                (
                    ordinal8(w & 0xff),
                    w >> 8 & 1 != 0,
                    u64::from(w >> 9),
                    addend,
                )
            }
            _ => {
                let w = u64_at(self.blob, at).ok_or_else(oob)?;
                let a = u64_at(self.blob, at + 8).ok_or_else(oob)?;
                let addend = i64::from_le_bytes(a.to_le_bytes());
                (ordinal16(w & 0xffff), w >> 16 & 1 != 0, w >> 32, addend)
            }
        };
        let ordinal = LibOrdinal::from_signed(lib, image.dylibs.len())?;
        let bad_name = || MalformedMachO::BadString {
            what: "chained import name",
            offset: name_off,
        };
        let raw = cstr_at(self.blob, self.symbols.saturating_add(name_off)).ok_or_else(bad_name)?;
        let name = core::str::from_utf8(raw).map_err(|_| bad_name())?;
        Ok(Bind {
            ordinal,
            name,
            addend: addend.wrapping_add_unsigned(inline),
            weak_import: weak,
            stream: BindStream::Eager,
        })
    }
}

/// An 8-bit library ordinal (`v < 0x100`), the top ones the special negative ordinals.
fn ordinal8(v: u32) -> i64 {
    let v = i64::from(v);
    if v >= 0xf0 {
        v - 0x100
    } else {
        v
    }
}

/// A 16-bit library ordinal (`v < 0x10000`), the top ones the special negative ordinals.
fn ordinal16(v: u64) -> i64 {
    let v = i64::try_from(v).unwrap_or(i64::MAX);
    if v >= 0xfff0 {
        v - 0x10000
    } else {
        v
    }
}

/// One segment's starts.
#[derive(Clone, Copy)]
struct SegmentStarts {
    /// Offset of `page_start[0]` in the blob.
    pages: u64,
    page_count: u64,
    page_size: u64,
    format: u16,
    /// The segment's offset from the base.
    segment_offset: u64,
}

/// The walk's position.
pub(crate) struct Chains<'a, 'i> {
    image: &'i MachO<'a>,
    blob: &'a [u8],
    /// The header's problem, reported first.
    error: Option<MachOError>,
    imports: Option<Imports<'a>>,
    starts: u64,
    seg_count: u64,
    segment: u64,
    current: Option<SegmentStarts>,
    page: u64,
    /// The next pointer's offset from the base and its page's end.
    next: Option<(u64, u64)>,
}

impl<'a, 'i> Chains<'a, 'i> {
    pub(crate) fn new(image: &'i MachO<'a>, blob: &'a [u8]) -> Self {
        let mut c = Chains {
            image,
            blob,
            error: None,
            imports: None,
            starts: 0,
            seg_count: 0,
            segment: 0,
            current: None,
            page: 0,
            next: None,
        };
        if let Err(e) = c.header() {
            c.error = Some(e);
        }
        c
    }

    /// Reads and checks the header and the imports table's bounds.
    fn header(&mut self) -> Result<()> {
        let f = |o: u64| {
            u32_at(self.blob, o).ok_or(crate::macho_error::oob("chained fixups header", o, 4))
        };
        let (version, starts, imports, symbols) = (f(0)?, f(4)?, f(8)?, f(12)?);
        let (count, format, symbols_format) = (f(16)?, f(20)?, f(24)?);
        if version != 0 {
            return Err(UnsupportedMachO::ChainedFormat {
                what: "version",
                value: version,
            }
            .into());
        }
        if symbols_format != 0 {
            let value = symbols_format;
            return Err(UnsupportedMachO::ChainedFormat {
                what: "symbols format",
                value,
            }
            .into());
        }
        let size = Imports::entry_size(format)?;
        let (imports, count, len) = (u64::from(imports), u64::from(count), self.blob.len() as u64);
        if imports < HEADER_SIZE || imports + count * size > len {
            return Err(crate::macho_error::oob(
                "chained imports",
                imports,
                count * size,
            ));
        }
        if u64::from(symbols) > len {
            return Err(crate::macho_error::oob(
                "chained symbols",
                symbols.into(),
                0,
            ));
        }
        let starts = u64::from(starts);
        let seg_count = u64::from(u32_at(self.blob, starts).ok_or(crate::macho_error::oob(
            "chained starts",
            starts,
            4,
        ))?);
        if seg_count > self.image.segments.len() as u64 {
            return Err(bad("more starts than segments", seg_count));
        }
        self.imports = Some(Imports {
            blob: self.blob,
            offset: imports,
            count,
            format,
            symbols: symbols.into(),
        });
        self.starts = starts;
        self.seg_count = seg_count;
        Ok(())
    }

    /// The starts of segment `i`, or None if it has no fixups.
    fn segment_starts(&self, i: u64) -> Result<Option<SegmentStarts>> {
        let slot = self.starts + 4 + 4 * i;
        let rel =
            u32_at(self.blob, slot).ok_or(crate::macho_error::oob("chained starts", slot, 4))?;
        if rel == 0 {
            return Ok(None);
        }
        let at = self.starts + u64::from(rel);
        let oob = || crate::macho_error::oob("chained segment starts", at, STARTS_FIXED);
        let size = u64::from(u32_at(self.blob, at).ok_or_else(oob)?);
        let page_size = u64::from(u16_at(self.blob, at + 4).ok_or_else(oob)?);
        let format = u16_at(self.blob, at + 6).ok_or_else(oob)?;
        let segment_offset = u64_at(self.blob, at + 8).ok_or_else(oob)?;
        let page_count = u64::from(u16_at(self.blob, at + 20).ok_or_else(oob)?);
        if format != PTR_64 && format != PTR_64_OFFSET {
            return Err(UnsupportedMachO::PointerFormat { format }.into());
        }
        if page_size != 0x1000 && page_size != 0x4000 {
            return Err(bad("page size", page_size));
        }
        let table_end = STARTS_FIXED + 2 * page_count;
        if size < table_end || at + table_end > self.blob.len() as u64 {
            return Err(crate::macho_error::oob(
                "chained page starts",
                at,
                table_end,
            ));
        }
        let seg = usize::try_from(i)
            .ok()
            .and_then(|i| self.image.segments.get(i));
        let seg = seg.ok_or_else(|| bad("starts for a missing segment", i))?;
        if segment_offset != seg.vmoffset || page_count * page_size > seg.vmsize + page_size - 1 {
            return Err(bad(
                "segment starts do not match the segment",
                segment_offset,
            ));
        }
        Ok(Some(SegmentStarts {
            pages: at + STARTS_FIXED,
            page_count,
            page_size,
            format,
            segment_offset,
        }))
    }

    /// Moves to the next chain start; false when every page of every segment is done.
    fn advance(&mut self) -> Result<bool> {
        loop {
            let Some(s) = self.current else {
                if self.segment >= self.seg_count {
                    return Ok(false);
                }
                self.current = self.segment_starts(self.segment)?;
                self.segment += 1;
                self.page = 0;
                continue;
            };
            if self.page >= s.page_count {
                self.current = None;
                continue;
            }
            let page = self.page;
            self.page += 1;
            let start = u16_at(self.blob, s.pages + 2 * page).unwrap_or(START_NONE);
            if start == START_NONE {
                continue;
            }
            if start & START_MULTI != 0 || u64::from(start) >= s.page_size {
                return Err(bad("page start", start.into()));
            }
            let page_base = s.segment_offset + page * s.page_size;
            self.next = Some((page_base + u64::from(start), page_base + s.page_size));
            return Ok(true);
        }
    }

    /// Decodes the pointer at `offset` and queues the next one of its chain.
    fn pointer(&mut self, offset: u64, page_end: u64, format: u16) -> Result<Fixup<'a>> {
        if offset + 8 > page_end {
            return Err(bad("chain runs past its page", offset));
        }
        let seg = writable_word(self.image, offset)?;
        if offset - seg.vmoffset + 8 > seg.filesize {
            return Err(bad("chain outside the file's bytes", offset));
        }
        let w = file_word(self.image, seg, offset);
        let next = (w >> 51) & 0xfff;
        self.next = (next != 0).then_some((offset + next * 4, page_end));
        let kind = if w >> 63 != 0 {
            let imports = self.imports.ok_or_else(|| bad("no imports", 0))?;
            FixupKind::Bind(imports.bind(self.image, w & 0xff_ffff, (w >> 24) & 0xff)?)
        } else {
            let value = ((w >> 36) & 0xff) << 56 | (w & 0xf_ffff_ffff);
            let target = match format {
                PTR_64_OFFSET => value,
                _ => value.wrapping_sub(self.image.base()),
            };
            FixupKind::Rebase { target }
        };
        Ok(Fixup { offset, kind })
    }
}

impl<'a> Iterator for Chains<'a, '_> {
    type Item = Result<Fixup<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            self.seg_count = 0;
            return Some(Err(e));
        }
        if self.next.is_none() {
            match self.advance() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let (offset, page_end) = self.next.take()?;
        let format = self.current.map_or(PTR_64, |s| s.format);
        Some(self.pointer(offset, page_end, format))
    }
}
