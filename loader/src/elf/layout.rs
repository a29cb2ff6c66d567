//! The segment layout: PT_LOADs and the other segments that matter, validated.

use goblin::elf::program_header::{self as ph, ProgramHeader};

use crate::error::{LoadError, Malformed, Unsupported};

/// The largest image span dynplug maps (1 GiB): a bigger one is refused, not attempted.
pub const MAX_SPAN: u64 = 1 << 30;
/// The largest segment alignment honoured.
pub const MAX_ALIGN: u64 = 1 << 30;

/// One PT_LOAD segment, as mapping sees it (its `p_flags` as protections: [`prot_of`]).
pub type Load = crate::segments::Segment;

/// `p_flags` bits and the protections they stand for.
const PF_PROT: [(u32, u32); 3] = [
    (ph::PF_R, crate::segments::READ),
    (ph::PF_W, crate::segments::WRITE),
    (ph::PF_X, crate::segments::EXEC),
];

/// The protections of `p_flags`.
pub fn prot_of(p_flags: u32) -> u32 {
    (PF_PROT.iter())
        .filter(|(pf, _)| p_flags & pf != 0)
        .fold(0, |prot, (_, p)| prot | p)
}

/// The `p_flags` of protections `prot` (the inverse of [`prot_of`]).
pub fn p_flags_of(prot: u32) -> u32 {
    (PF_PROT.iter())
        .filter(|(_, p)| prot & p != 0)
        .fold(0, |flags, (pf, _)| flags | pf)
}

/// A segment other than PT_LOAD: address and size in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Start address.
    pub vaddr: u64,
    /// Size in memory.
    pub memsz: u64,
}

/// The PT_TLS segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tls {
    /// Address of the initialisation image.
    pub vaddr: u64,
    /// Bytes of initialised data (`.tdata`).
    pub filesz: u64,
    /// Whole block size (`.tdata` + `.tbss`).
    pub memsz: u64,
    /// Alignment.
    pub align: u64,
}

/// The validated layout of an object.
#[derive(Clone, Debug)]
pub struct Layout {
    /// PT_LOADs, sorted, non-overlapping after page rounding.
    pub loads: Vec<Load>,
    /// Lowest address, rounded down to the page.
    pub span_lo: u64,
    /// Highest address, rounded up to the page.
    pub span_hi: u64,
    /// Largest PT_LOAD alignment (at least the page size).
    pub align: u64,
    /// PT_DYNAMIC.
    pub dynamic: Range,
    /// PT_GNU_RELRO, if any.
    pub relro: Option<Range>,
    /// PT_TLS, if any and not empty.
    pub tls: Option<Tls>,
    /// PT_GNU_EH_FRAME (`.eh_frame_hdr`), if any.
    pub eh_frame_hdr: Option<Range>,
    /// The page size the layout was checked against.
    pub page: u64,
}

fn round_up(x: u64, page: u64) -> Option<u64> {
    x.checked_add(page - 1).map(|v| v & !(page - 1))
}

impl Layout {
    /// Validates the program headers of an object of `file_len` bytes for pages of `page` bytes.
    pub fn new(phdrs: &[ProgramHeader], file_len: u64, page: u64) -> Result<Layout, LoadError> {
        let mut loads: Vec<Load> = Vec::new();
        let mut dynamic = None;
        let mut relro = None;
        let mut tls = None;
        let mut eh_frame_hdr = None;
        let mut max_align = page;
        for (index, p) in phdrs.iter().enumerate() {
            // Notes and processor-specific segments (riscv's PT_RISCV_ATTRIBUTES has memsz 0)
            // describe file bytes only; glibc does not compare their sizes either.
            let file_only =
                p.p_type == ph::PT_NOTE || (ph::PT_LOPROC..=ph::PT_HIPROC).contains(&p.p_type);
            if p.p_filesz > p.p_memsz && !file_only {
                return Err(Malformed::FileszExceedsMemsz {
                    index,
                    filesz: p.p_filesz,
                    memsz: p.p_memsz,
                }
                .into());
            }
            let mem_end = p.p_vaddr.checked_add(p.p_memsz);
            if mem_end.is_none() || p.p_offset.checked_add(p.p_filesz).is_none() {
                return Err(Malformed::ImageTooLarge { size: u64::MAX }.into());
            }
            match p.p_type {
                ph::PT_LOAD => {
                    if p.p_align != 0 && !p.p_align.is_power_of_two() {
                        return Err(Malformed::BadAlignment {
                            index,
                            align: p.p_align,
                        }
                        .into());
                    }
                    if p.p_align > MAX_ALIGN {
                        return Err(Malformed::BadAlignment {
                            index,
                            align: p.p_align,
                        }
                        .into());
                    }
                    if p.p_vaddr.wrapping_sub(p.p_offset) % page != 0
                        || (p.p_align > 1 && p.p_vaddr.wrapping_sub(p.p_offset) % p.p_align != 0)
                    {
                        return Err(Malformed::Incongruent {
                            index,
                            offset: p.p_offset,
                            vaddr: p.p_vaddr,
                        }
                        .into());
                    }
                    if p.p_offset.saturating_add(p.p_filesz) > file_len {
                        return Err(Malformed::SegmentOutsideFile {
                            index,
                            offset: p.p_offset,
                            size: p.p_filesz,
                        }
                        .into());
                    }
                    if p.p_flags & ph::PF_W != 0 && p.p_flags & ph::PF_X != 0 {
                        return Err(Unsupported::WritableExecutable { index }.into());
                    }
                    if p.p_memsz > MAX_SPAN {
                        return Err(Malformed::ImageTooLarge { size: p.p_memsz }.into());
                    }
                    max_align = max_align.max(p.p_align);
                    let load = Load {
                        vaddr: p.p_vaddr,
                        memsz: p.p_memsz,
                        offset: p.p_offset,
                        filesz: p.p_filesz,
                        prot: prot_of(p.p_flags),
                    };
                    if p.p_memsz == 0 {
                        continue;
                    }
                    if let Some(prev) = loads.last() {
                        // Sorted, and no page shared between two segments.
                        let prev_end = round_up(prev.end(), page);
                        if prev_end.is_none_or(|e| e > p.p_vaddr & !(page - 1)) {
                            return Err(Malformed::LoadsUnsortedOrOverlapping {
                                index: loads.len(),
                            }
                            .into());
                        }
                    }
                    loads.push(load);
                }
                ph::PT_DYNAMIC => {
                    if dynamic.is_some() {
                        return Err(Malformed::BadHeader {
                            field: "PT_DYNAMIC count",
                            value: 2,
                        }
                        .into());
                    }
                    dynamic = Some(Range {
                        vaddr: p.p_vaddr,
                        memsz: p.p_memsz,
                    });
                }
                ph::PT_GNU_EH_FRAME => {
                    eh_frame_hdr = Some(Range {
                        vaddr: p.p_vaddr,
                        memsz: p.p_memsz,
                    })
                }
                ph::PT_GNU_RELRO => {
                    relro = Some(Range {
                        vaddr: p.p_vaddr,
                        memsz: p.p_memsz,
                    })
                }
                ph::PT_TLS => {
                    if tls.is_some() {
                        return Err(Malformed::BadHeader {
                            field: "PT_TLS count",
                            value: 2,
                        }
                        .into());
                    }
                    if p.p_align != 0 && !p.p_align.is_power_of_two() {
                        return Err(Malformed::BadAlignment {
                            index,
                            align: p.p_align,
                        }
                        .into());
                    }
                    if p.p_memsz != 0 {
                        tls = Some(Tls {
                            vaddr: p.p_vaddr,
                            filesz: p.p_filesz,
                            memsz: p.p_memsz,
                            align: p.p_align.max(1),
                        });
                    }
                }
                ph::PT_GNU_STACK if p.p_flags & ph::PF_X != 0 => {
                    return Err(Unsupported::ExecutableStack.into());
                }
                // PT_INTERP is ignored, as dlopen ignores it: libraries that can also run as
                // programs carry one (libc, libcap, libsystemd, libdbus, PAM modules). An
                // executable is told by DF_1_PIE (Dynamic::parse) or ET_EXEC.
                _ => {}
            }
        }
        let (first, last) = match (loads.first(), loads.last()) {
            (Some(f), Some(l)) => (*f, *l),
            _ => return Err(Malformed::NoLoadSegments.into()),
        };
        let span_lo = first.vaddr & !(page - 1);
        let span_hi =
            round_up(last.end(), page).ok_or(Malformed::ImageTooLarge { size: u64::MAX })?;
        let size = span_hi - span_lo;
        if size > MAX_SPAN {
            return Err(Malformed::ImageTooLarge { size }.into());
        }
        let dynamic = match dynamic {
            Some(d) if d.memsz > 0 => d,
            _ => return Err(Malformed::NoDynamic.into()),
        };
        let eh_frame_hdr =
            eh_frame_hdr.filter(|r| loads.iter().any(|l| l.contains(r.vaddr, r.memsz.max(8))));
        let layout = Layout {
            loads,
            span_lo,
            span_hi,
            align: max_align,
            dynamic,
            relro,
            tls,
            eh_frame_hdr,
            page,
        };
        if !layout.loaded(dynamic.vaddr, dynamic.memsz) {
            return Err(Malformed::SegmentNotLoaded { what: "PT_DYNAMIC" }.into());
        }
        if let Some(r) = relro {
            if layout.relro_pages(r).is_none() {
                return Err(Malformed::SegmentNotLoaded {
                    what: "PT_GNU_RELRO",
                }
                .into());
            }
        }
        if let Some(t) = tls {
            if !layout.loaded(t.vaddr, t.filesz) || t.align > MAX_ALIGN || t.memsz > MAX_SPAN {
                return Err(Malformed::SegmentNotLoaded { what: "PT_TLS" }.into());
            }
        }
        Ok(layout)
    }

    /// The PT_LOAD containing `[addr, addr+len)`, if one does.
    pub fn load_for(&self, addr: u64, len: u64) -> Option<&Load> {
        self.loads.iter().find(|l| l.contains(addr, len))
    }

    /// True if `[addr, addr+len)` lies inside one PT_LOAD.
    pub fn loaded(&self, addr: u64, len: u64) -> bool {
        self.load_for(addr, len).is_some()
    }

    /// True if `[addr, addr+len)` lies inside one writable PT_LOAD.
    pub fn writable(&self, addr: u64, len: u64) -> bool {
        self.load_for(addr, len).is_some_and(Load::writable)
    }

    /// The whole pages PT_GNU_RELRO `r` makes read-only, `[start, end)`, both ends rounded down
    /// as glibc rounds them (LLD pads RELRO's memsz to the end of its page, past the end of its
    /// PT_LOAD). `None` unless RELRO starts in a writable PT_LOAD and those pages lie within
    /// the pages mapped for it.
    pub fn relro_pages(&self, r: Range) -> Option<(u64, u64)> {
        let load = self.load_for(r.vaddr, 0).filter(|l| l.writable())?;
        let mask = !(self.page - 1);
        let (start, end) = (r.vaddr & mask, r.vaddr.checked_add(r.memsz)? & mask);
        (end <= round_up(load.end(), self.page)?).then_some((start, end.max(start)))
    }

    /// The run-time ranges of the executable PT_LOADs of an image loaded at `bias`.
    pub fn code_ranges(&self, bias: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.loads
            .iter()
            .filter(|l| l.executable())
            .map(move |l| (bias.wrapping_add(l.vaddr), bias.wrapping_add(l.end())))
    }

    /// True if `addr` lies inside an executable PT_LOAD.
    pub fn executable(&self, addr: u64) -> bool {
        self.load_for(addr, 1).is_some_and(Load::executable)
    }

    /// Size of the span in bytes.
    pub fn span(&self) -> u64 {
        self.span_hi - self.span_lo
    }

    /// The segments to map.
    pub fn segments(&self) -> crate::segments::Segments<'_> {
        crate::segments::Segments {
            list: &self.loads,
            span_lo: self.span_lo,
            span_hi: self.span_hi,
            align: self.align,
            page: self.page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segments::{EXEC, READ, WRITE};

    #[test]
    fn p_flags_and_protections_correspond_bit_for_bit() {
        assert_eq!(prot_of(ph::PF_R | ph::PF_X), READ | EXEC);
        assert_eq!(prot_of(ph::PF_R | ph::PF_W), READ | WRITE);
        // Bits other than PF_R, PF_W and PF_X (PF_MASKOS, PF_MASKPROC) are no protection.
        assert_eq!(prot_of(0x0ff0_0000 | ph::PF_W), WRITE);
        for flags in 0..8 {
            assert_eq!(p_flags_of(prot_of(flags)), flags);
        }
    }
}
