//! Segments and sections from `LC_SEGMENT_64` commands, and the checks that make them a layout a
//! loader can map: inside the file, sorted, not overlapping, within the span limit.

use crate::macho_error::{MachOError, MalformedMachO, Result, UnsupportedMachO};
use crate::read::{slice_at, u32_at, u64_at};

/// The largest image span accepted (1 GiB).
pub const MAX_SPAN: u64 = 1 << 30;
/// `SG_READ_ONLY`: read-only once the fixups are applied.
const SG_READ_ONLY: u32 = 0x10;
/// Size of `segment_command_64` and of `section_64`.
const SEGMENT_SIZE: u64 = 72;
const SECTION_SIZE: u64 = 80;
/// The granule segments' file offsets and addresses must agree on (the smallest page).
const PAGE: u64 = 4096;

/// Memory protections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prot {
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

impl Prot {
    /// From `VM_PROT_*` bits; any other bit is an error.
    fn from_bits(bits: u32, name: &str) -> Result<Prot> {
        if bits & !7 != 0 {
            return Err(bad_segment(name, "unknown protection bits"));
        }
        Ok(Prot {
            read: bits & 1 != 0,
            write: bits & 2 != 0,
            exec: bits & 4 != 0,
        })
    }
}

/// One segment, its addresses as offsets from the image's base (the first segment's address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// `segname`.
    pub name: String,
    /// `vmaddr` as in the file.
    pub vmaddr: u64,
    /// `vmaddr` minus the image's base.
    pub vmoffset: u64,
    /// `vmsize`.
    pub vmsize: u64,
    /// `fileoff`.
    pub fileoff: u64,
    /// `filesize` (the rest up to `vmsize` is zero).
    pub filesize: u64,
    /// `initprot`.
    pub initprot: Prot,
    /// `maxprot`.
    pub maxprot: Prot,
    /// `SG_READ_ONLY`: made read-only after the fixups.
    pub read_only_after_fixups: bool,
}

impl Segment {
    /// Whether `[off, off+len)` (offsets from the base) lies inside this segment's memory.
    pub fn contains(&self, off: u64, len: u64) -> bool {
        off >= self.vmoffset
            && off
                .checked_add(len)
                .is_some_and(|end| end <= self.vmoffset + self.vmsize)
    }
}

/// What a section is for, among those a loader acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    /// `S_MOD_INIT_FUNC_POINTERS` (`__mod_init_func`): initialiser pointers, after fixups.
    InitPointers,
    /// `S_INIT_FUNC_OFFSETS` (`__init_offsets`): u32 initialiser offsets from the base.
    InitOffsets,
    /// `S_MOD_TERM_FUNC_POINTERS` (`__mod_term_func`).
    TermPointers,
    /// `S_THREAD_LOCAL_VARIABLES` (`__thread_vars`): 24-byte descriptors.
    ThreadVars,
    /// `S_THREAD_LOCAL_REGULAR` (`__thread_data`): the start of the thread-local template.
    ThreadData,
    /// `S_THREAD_LOCAL_ZEROFILL` (`__thread_bss`): its zero-filled rest.
    ThreadBss,
    /// Anything else.
    Other,
}

/// One section (a part of a segment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// `sectname`.
    pub name: String,
    /// The index of its segment in [`super::MachO::segments`].
    pub segment: usize,
    /// `addr` minus the image's base.
    pub vmoffset: u64,
    /// `size`.
    pub size: u64,
    /// `offset` in the file (0 for zero-fill sections).
    pub fileoff: u32,
    /// `align` (a power of two's exponent).
    pub align: u32,
    /// `flags`: the type in the low byte, attributes above.
    pub flags: u32,
    /// The type, for the sections a loader acts on.
    pub kind: SectionKind,
}

fn bad_segment(name: &str, why: &'static str) -> MachOError {
    MalformedMachO::BadSegment {
        name: name.to_string(),
        why,
    }
    .into()
}

fn bad_section(name: &str, why: &'static str) -> MachOError {
    MalformedMachO::BadSection {
        name: name.to_string(),
        why,
    }
    .into()
}

/// A 16-byte name field, up to its first NUL.
fn name16(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

/// A segment command's segment and its raw sections (addresses not yet made offsets).
pub(crate) struct RawSegment {
    pub(crate) segment: Segment,
    pub(crate) sections: Vec<Section>,
}

/// Parses one `LC_SEGMENT_64` command (`cmd` is its bytes, `cmdsize` long); `file_len` bounds
/// its file range.
pub(crate) fn parse_segment(cmd: &[u8], file_len: u64) -> Result<RawSegment> {
    let u32f = |o| u32_at(cmd, o).ok_or(crate::macho_error::oob("segment command", o, 4));
    let u64f = |o| u64_at(cmd, o).ok_or(crate::macho_error::oob("segment command", o, 8));
    let name = name16(slice_at(cmd, 8, 16).unwrap_or_default());
    let (vmaddr, vmsize, fileoff, filesize) = (u64f(24)?, u64f(32)?, u64f(40)?, u64f(48)?);
    let (maxprot, initprot) = (u32f(56)?, u32f(60)?);
    let (nsects, flags) = (u64::from(u32f(64)?), u32f(68)?);
    if Some(cmd.len() as u64) != nsects.checked_mul(SECTION_SIZE).map(|s| s + SEGMENT_SIZE) {
        return Err(bad_segment(&name, "cmdsize does not match nsects"));
    }
    if filesize > vmsize {
        return Err(bad_segment(&name, "filesize exceeds vmsize"));
    }
    if vmaddr.checked_add(vmsize).is_none() || vmsize > MAX_SPAN {
        return Err(bad_segment(&name, "address range wraps or is too large"));
    }
    if filesize > 0 {
        if fileoff.checked_add(filesize).is_none_or(|e| e > file_len) {
            return Err(bad_segment(&name, "file range lies outside the file"));
        }
        if fileoff % PAGE != vmaddr % PAGE {
            return Err(bad_segment(
                &name,
                "file offset and address are not congruent",
            ));
        }
    }
    let initprot = Prot::from_bits(initprot, &name)?;
    let maxprot = Prot::from_bits(maxprot, &name)?;
    if initprot.write && initprot.exec {
        return Err(UnsupportedMachO::WritableExecutable { name }.into());
    }
    let segment = Segment {
        name,
        vmaddr,
        vmoffset: 0,
        vmsize,
        fileoff,
        filesize,
        initprot,
        maxprot,
        read_only_after_fixups: flags & SG_READ_ONLY != 0,
    };
    let sections = (0..nsects)
        .map(|i| parse_section(cmd, SEGMENT_SIZE + i * SECTION_SIZE, &segment))
        .collect::<Result<Vec<_>>>()?;
    Ok(RawSegment { segment, sections })
}

/// Section types whose bytes are not in the file.
fn is_zerofill(kind: u32) -> bool {
    matches!(kind, 0x1 | 0xc | 0x12)
}

/// The `section_64` at `at` in the command, checked to lie inside `seg`.
fn parse_section(cmd: &[u8], at: u64, seg: &Segment) -> Result<Section> {
    let name = name16(slice_at(cmd, at, 16).unwrap_or_default());
    let u32f = |o: u64| u32_at(cmd, at + o).ok_or(crate::macho_error::oob("section", at + o, 4));
    let u64f = |o: u64| u64_at(cmd, at + o).ok_or(crate::macho_error::oob("section", at + o, 8));
    let (addr, size, fileoff, align, flags) =
        (u64f(32)?, u64f(40)?, u32f(48)?, u32f(52)?, u32f(64)?);
    let end = addr.checked_add(size);
    if addr < seg.vmaddr || end.is_none_or(|e| e > seg.vmaddr + seg.vmsize) {
        return Err(bad_section(&name, "lies outside its segment"));
    }
    let kind_bits = flags & 0xff;
    if !is_zerofill(kind_bits) && size > 0 {
        let rel = u64::from(fileoff).checked_sub(seg.fileoff);
        if rel.is_none_or(|r| r.checked_add(size).is_none_or(|e| e > seg.filesize)) {
            return Err(bad_section(&name, "file bytes lie outside its segment's"));
        }
    }
    let kind = match kind_bits {
        0x9 => SectionKind::InitPointers,
        0x16 => SectionKind::InitOffsets,
        0xa => SectionKind::TermPointers,
        0x13 => SectionKind::ThreadVars,
        0x11 => SectionKind::ThreadData,
        0x12 => SectionKind::ThreadBss,
        _ => SectionKind::Other,
    };
    check_kind(&name, kind, size, seg)?;
    Ok(Section {
        name,
        segment: 0,
        vmoffset: addr,
        size,
        fileoff,
        align,
        flags,
        kind,
    })
}

/// The shape rules of the sections a loader reads entries from.
fn check_kind(name: &str, kind: SectionKind, size: u64, seg: &Segment) -> Result<()> {
    let entry = match kind {
        SectionKind::InitPointers | SectionKind::TermPointers => 8,
        SectionKind::InitOffsets => 4,
        SectionKind::ThreadVars => 24,
        _ => 1,
    };
    if size % entry != 0 {
        return Err(bad_section(name, "size is not a multiple of its entries"));
    }
    if kind == SectionKind::InitOffsets && seg.initprot.write {
        return Err(bad_section(
            name,
            "initialiser offsets in a writable segment",
        ));
    }
    Ok(())
}

/// Makes the segments' and sections' addresses offsets from the base and checks the layout:
/// sorted by address without overlap, file ranges apart, the first mapping the header, the span
/// within [`MAX_SPAN`], `__TEXT` and `__LINKEDIT` present.
pub(crate) fn finish(raw: Vec<RawSegment>) -> Result<(Vec<Segment>, Vec<Section>)> {
    let first = raw
        .first()
        .ok_or(MalformedMachO::Missing { what: "segments" })?;
    let base = first.segment.vmaddr;
    if first.segment.fileoff != 0 || first.segment.filesize == 0 {
        return Err(bad_segment(
            &first.segment.name,
            "the first segment does not map the header",
        ));
    }
    let (mut segments, mut sections) = (Vec::new(), Vec::new());
    for (index, r) in raw.into_iter().enumerate() {
        let mut seg = r.segment;
        if let Some(prev) = segments.last() {
            check_after(prev, &seg)?;
        }
        seg.vmoffset = seg.vmaddr - base;
        if seg.vmoffset + seg.vmsize > MAX_SPAN {
            return Err(bad_segment(&seg.name, "the image span is too large"));
        }
        for mut s in r.sections {
            s.segment = index;
            s.vmoffset -= base;
            sections.push(s);
        }
        segments.push(seg);
    }
    // dyld's rule: code is r-x, the tables r--.
    let rx = Prot {
        read: true,
        write: false,
        exec: true,
    };
    let r = Prot {
        read: true,
        write: false,
        exec: false,
    };
    for (need, prot) in [("__TEXT", rx), ("__LINKEDIT", r)] {
        let seg = segments.iter().find(|s| s.name == need);
        let seg = seg.ok_or(MalformedMachO::Missing { what: need })?;
        if seg.initprot != prot {
            return Err(bad_segment(
                need,
                "protections are not the ones its name requires",
            ));
        }
    }
    Ok((segments, sections))
}

/// `seg` comes after `prev` in memory and, when both have file bytes, in the file.
fn check_after(prev: &Segment, seg: &Segment) -> Result<()> {
    if seg.vmaddr < prev.vmaddr + prev.vmsize {
        return Err(bad_segment(&seg.name, "unsorted or overlapping in memory"));
    }
    let file_end = prev.fileoff + prev.filesize;
    if prev.filesize > 0 && seg.filesize > 0 && seg.fileoff < file_end {
        return Err(bad_segment(
            &seg.name,
            "unsorted or overlapping in the file",
        ));
    }
    Ok(())
}
