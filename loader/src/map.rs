//! Mapping an image: one reservation for the whole span (or, for the common layout, the span
//! mapped from the file as its first, read-only segment), then every PT_LOAD at its place with
//! its final protection. Nothing is ever writable and executable at once.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::segments::{Segment as Load, Segments};

/// Where the segments' bytes come from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A file: segments are mapped from it (MAP_PRIVATE), sharing the page cache.
    File(BorrowedFd<'a>),
    /// Bytes in memory: segments are anonymous mappings filled with a copy.
    Bytes(&'a [u8]),
}

/// A mapped image. Dropping it unmaps the whole span, unless it was leaked.
#[derive(Debug)]
pub struct Mapping {
    start: usize,
    len: usize,
    /// Load bias: run-time address minus link-time address.
    pub bias: u64,
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

fn prot(load: &Load) -> libc::c_int {
    let mut p = libc::PROT_NONE;
    if load.readable() {
        p |= libc::PROT_READ;
    }
    if load.writable() {
        p |= libc::PROT_WRITE;
    }
    if load.executable() {
        p |= libc::PROT_EXEC;
    }
    p
}

/// True if `load`, mapped as [`Mapping::map_load`] maps it, is what a mapping of the file that
/// puts `first` in place holds at its addresses already: the same protection, its bytes at the
/// same distance in the file as in memory, and no bss.
fn in_place(first: &Load, load: &Load) -> bool {
    let file = load.offset.checked_sub(first.offset);
    prot(load) == prot(first)
        && load.filesz > 0
        && load.memsz == load.filesz
        && file.is_some()
        && file == load.vaddr.checked_sub(first.vaddr)
}

fn to_usize(v: u64) -> io::Result<usize> {
    usize::try_from(v).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

impl Mapping {
    /// Reserves the span of `layout` and maps every segment from `source`.
    pub fn new(layout: &Segments<'_>, source: Source<'_>) -> io::Result<Mapping> {
        if let Some(m) = Self::with_first_segment(layout, source) {
            return m;
        }
        let page = layout.page;
        let span = to_usize(layout.span())?;
        let align = to_usize(layout.align.max(page))?;
        let extra = align.saturating_sub(to_usize(page)?);
        let total = span
            .checked_add(extra)
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        // SAFETY: a fresh anonymous PROT_NONE reservation at an address the kernel picks touches no
        // existing memory.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | crate::os::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(last_error());
        }
        let raw = raw as usize;
        // The bias must keep every segment's alignment: start ≡ span_lo (mod align).
        let lo = to_usize(layout.span_lo % layout.align.max(page))?;
        let start = raw + ((lo + align - raw % align) % align);
        let mut m = Mapping {
            start: raw,
            len: total,
            bias: 0,
        };
        m.trim(start, span);
        m.bias = (start as u64).wrapping_sub(layout.span_lo);
        for load in layout.list {
            m.map_load(load, page, source)?;
        }
        Ok(m)
    }

    /// The common layout in one call less (as glibc maps): when the first PT_LOAD is a
    /// read-only (never executable) segment from the file that starts the span and has no bss,
    /// the whole span is mapped from the file with its protection, which reserves the span and
    /// maps that segment at once; every other segment is then mapped over it, and any page
    /// between segments is made an inaccessible anonymous page, as the reservation leaves it.
    /// `None`: not that layout (or an alignment beyond the page), the general path applies.
    fn with_first_segment(
        layout: &Segments<'_>,
        source: Source<'_>,
    ) -> Option<io::Result<Mapping>> {
        let page = layout.page;
        let Source::File(fd) = source else {
            return None;
        };
        let first = layout.list.first()?;
        if layout.align > page
            || first.executable()
            || first.writable()
            || first.filesz == 0
            || first.memsz != first.filesz
            || first.vaddr & !(page - 1) != layout.span_lo
        {
            return None;
        }
        let span = to_usize(layout.span()).ok()?;
        let off = libc::off_t::try_from(first.offset & !(page - 1)).ok()?;
        Some((|| {
            // SAFETY: a fresh private file mapping at an address the kernel picks touches no
            // existing memory; pages past the end of the file are never read (the segments that
            // lie there are mapped over them below).
            let raw = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    span,
                    prot(first),
                    libc::MAP_PRIVATE,
                    fd.as_raw_fd(),
                    off,
                )
            };
            if raw == libc::MAP_FAILED {
                return Err(last_error());
            }
            let start = raw as usize;
            let m = Mapping {
                start,
                len: span,
                bias: (start as u64).wrapping_sub(layout.span_lo),
            };
            // The first segment is in place; its page end is where the next may start.
            let mut covered = first.end().saturating_add(page - 1) & !(page - 1);
            for load in layout.list.iter().skip(1) {
                let seg = load.vaddr & !(page - 1);
                if seg > covered {
                    m.anonymous(covered, seg - covered, libc::PROT_NONE)?;
                }
                // A segment the span's mapping already holds, pages no other segment took,
                // is left as it is: the same file pages, protection and no bss (the usual
                // read-only segment after the code: one `mmap` fewer than glibc makes).
                if seg < covered || !in_place(first, load) {
                    m.map_load(load, page, source)?;
                }
                covered = covered.max(load.end().saturating_add(page - 1) & !(page - 1));
            }
            Ok(m)
        })())
    }

    /// Replaces `[vaddr, vaddr+len)` (page-aligned, inside the span) with anonymous zero pages
    /// of protection `prot` (inaccessible ones reserve no memory).
    fn anonymous(&self, vaddr: u64, len: u64, prot: libc::c_int) -> io::Result<()> {
        let reserve = if prot == libc::PROT_NONE {
            crate::os::MAP_NORESERVE
        } else {
            0
        };
        // SAFETY: the range lies inside our own reservation or mapping of the span, so
        // MAP_FIXED replaces only our own pages.
        let ptr = unsafe {
            libc::mmap(
                self.addr(vaddr) as *mut libc::c_void,
                to_usize(len)?,
                prot,
                libc::MAP_PRIVATE | libc::MAP_FIXED | libc::MAP_ANONYMOUS | reserve,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(last_error());
        }
        Ok(())
    }

    /// Unmaps the reservation's slack outside `[start, start+len)`.
    fn trim(&mut self, start: usize, len: usize) {
        let end = start + len;
        let old_end = self.start + self.len;
        if start > self.start {
            // SAFETY: [self.start, start) is part of our own reservation and holds nothing.
            unsafe { libc::munmap(self.start as *mut libc::c_void, start - self.start) };
        }
        if old_end > end {
            // SAFETY: [end, old_end) is part of our own reservation and holds nothing.
            unsafe { libc::munmap(end as *mut libc::c_void, old_end - end) };
        }
        self.start = start;
        self.len = len;
    }

    /// Run-time address of link-time address `vaddr`.
    pub fn addr(&self, vaddr: u64) -> u64 {
        self.bias.wrapping_add(vaddr)
    }

    fn map_load(&self, load: &Load, page: u64, source: Source<'_>) -> io::Result<()> {
        let final_prot = prot(load);
        let seg = load.vaddr & !(page - 1);
        let file_end = load.vaddr + load.filesz;
        let mem_end = (load.end() + page - 1) & !(page - 1);
        let file_page_end = (file_end + page - 1) & !(page - 1);
        // Bytes of the last file page past p_filesz must read as zero (.bss start).
        let tail = load.filesz > 0 && file_end % page != 0 && load.memsz > load.filesz;
        let first_prot = if tail || matches!(source, Source::Bytes(_)) {
            // Writable while we fill it, never executable at the same time.
            (final_prot | libc::PROT_WRITE) & !libc::PROT_EXEC
        } else {
            final_prot
        };
        if load.filesz > 0 {
            match source {
                Source::File(fd) => {
                    let off = libc::off_t::try_from(load.offset & !(page - 1))
                        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
                    // SAFETY: the target range lies inside our reservation (the layout was checked
                    // to fit the span), so MAP_FIXED replaces only our own pages.
                    let ptr = unsafe {
                        libc::mmap(
                            self.addr(seg) as *mut libc::c_void,
                            to_usize(file_page_end - seg)?,
                            first_prot,
                            libc::MAP_PRIVATE | libc::MAP_FIXED,
                            fd.as_raw_fd(),
                            off,
                        )
                    };
                    if ptr == libc::MAP_FAILED {
                        return Err(last_error());
                    }
                }
                Source::Bytes(_) => self.anonymous(seg, file_page_end - seg, first_prot)?,
            }
            if let Source::Bytes(bytes) = source {
                let from = to_usize(load.offset)?;
                let n = to_usize(load.filesz)?;
                let src = bytes
                    .get(from..from.saturating_add(n))
                    .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
                // SAFETY: the destination [bias+vaddr, +filesz) was just mapped writable, and the
                // source is a distinct buffer of exactly n bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(src.as_ptr(), self.addr(load.vaddr) as *mut u8, n)
                };
            }
            if tail {
                let n = to_usize(file_page_end - file_end)?;
                // SAFETY: the rest of the last file page is ours and mapped writable (first_prot).
                unsafe { std::ptr::write_bytes(self.addr(file_end) as *mut u8, 0, n) };
            }
            if first_prot != final_prot {
                self.protect(seg, file_page_end - seg, final_prot)?;
            }
        }
        // Whole pages past the file's bytes: anonymous zero pages.
        let anon_start = if load.filesz > 0 { file_page_end } else { seg };
        if mem_end > anon_start {
            self.anonymous(anon_start, mem_end - anon_start, final_prot)?;
        }
        Ok(())
    }

    fn protect(&self, vaddr: u64, len: u64, prot: libc::c_int) -> io::Result<()> {
        let mut p = region::Protection::NONE;
        if prot & libc::PROT_READ != 0 {
            p |= region::Protection::READ;
        }
        if prot & libc::PROT_WRITE != 0 {
            p |= region::Protection::WRITE;
        }
        if prot & libc::PROT_EXEC != 0 {
            p |= region::Protection::EXECUTE;
        }
        // SAFETY: the range is page-aligned and inside our own mapping; changing its protection
        // affects no memory the program holds references to.
        unsafe { region::protect(self.addr(vaddr) as *const u8, to_usize(len)?, p) }
            .map_err(io::Error::other)
    }

    /// Makes the pages `[start, end)` (link-time, page-aligned: `Layout::relro_pages`) of
    /// PT_GNU_RELRO read-only.
    pub fn protect_relro(&self, (start, end): (u64, u64)) -> io::Result<()> {
        if end > start {
            self.protect(start, end - start, libc::PROT_READ)?;
        }
        Ok(())
    }

    /// Keeps the image mapped for the rest of the process and returns its bias.
    pub fn leak(self) -> u64 {
        let bias = self.bias;
        std::mem::forget(self);
        bias
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: [start, start+len) is our own reservation; nothing of it escaped (a mapping that
        // code may still use is leaked, not dropped).
        unsafe { libc::munmap(self.start as *mut libc::c_void, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::layout::Layout;
    use goblin::elf::program_header::{ProgramHeader, PF_R, PF_W, PF_X, PT_DYNAMIC, PT_LOAD};
    use std::io::Write;
    use std::os::fd::AsFd;

    fn phdr(p_type: u32, flags: u32, vaddr: u64, offset: u64, size: u64) -> ProgramHeader {
        ProgramHeader {
            p_type,
            p_flags: flags,
            p_offset: offset,
            p_vaddr: vaddr,
            p_paddr: vaddr,
            p_filesz: size,
            p_memsz: size,
            p_align: 0x1000,
        }
    }

    /// `perms` of the mapping holding `addr`, from /proc/self/maps.
    fn perms_at(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for l in maps.lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (a, b) = f[0].split_once('-').unwrap();
            let (a, b) = (
                usize::from_str_radix(a, 16).unwrap(),
                usize::from_str_radix(b, 16).unwrap(),
            );
            if addr >= a && addr < b {
                return format!("{} {}", f[1], f.get(5).unwrap_or(&""));
            }
        }
        panic!("{addr:x} not mapped");
    }

    #[test]
    fn pages_between_segments_are_inaccessible_in_both_ways_of_mapping() {
        // A read-only first segment [0, 0x1000), then a writable one at 0x3000 from file offset
        // 0x1000: the two pages between must not show the file. First with the layout the span
        // is mapped from the file for (page alignment), then with a larger alignment (the
        // reservation).
        let page = 0x1000;
        for align in [0x1000u64, 0x10000] {
            let dir =
                std::env::temp_dir().join(format!("dynplug-map-{}-{align}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("image");
            let mut f = std::fs::File::create(&path).unwrap();
            f.write_all(&[0xab; 0x2000]).unwrap();
            drop(f);
            let file = std::fs::File::open(&path).unwrap();
            let mut phdrs = vec![
                phdr(PT_LOAD, PF_R, 0, 0, 0x1000),
                phdr(PT_LOAD, PF_R | PF_W, 0x3000, 0x1000, 0x800),
                phdr(PT_DYNAMIC, PF_R | PF_W, 0x3000, 0x1000, 0x10),
            ];
            phdrs[0].p_align = align;
            phdrs[1].p_align = align;
            if align > page {
                // Congruent offsets for the larger alignment.
                phdrs[1].p_vaddr = 0x11000;
                phdrs[1].p_paddr = 0x11000;
                phdrs[2].p_vaddr = 0x11000;
            }
            let layout = Layout::new(&phdrs, 0x2000, page).unwrap();
            let m = Mapping::new(&layout.segments(), Source::File(file.as_fd())).unwrap();
            let base = m.bias as usize;
            assert!(perms_at(base).starts_with("r--p"), "{}", perms_at(base));
            let gap = base + 0x1000;
            assert!(perms_at(gap).starts_with("---p"), "gap: {}", perms_at(gap));
            assert!(
                !perms_at(gap).contains("image"),
                "gap is file-backed: {}",
                perms_at(gap)
            );
            let rw = base + usize::try_from(phdrs[1].p_vaddr).unwrap();
            assert!(perms_at(rw).starts_with("rw-p"), "{}", perms_at(rw));
            // SAFETY: the writable segment is mapped readable; its first byte is the file's.
            assert_eq!(unsafe { *(rw as *const u8) }, 0xab);
            drop(m);
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    /// The read-only segment after the code is left in the span's mapping of the file: it
    /// reads the file's bytes at its offset, read-only, and the code between keeps its own
    /// protection; a segment that differs (here writable) is mapped over it as before.
    #[test]
    fn a_segment_the_span_mapping_holds_reads_the_file() {
        let page = 0x1000;
        let dir = std::env::temp_dir().join(format!("dynplug-map-inplace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("image");
        let bytes: Vec<u8> = (0..0x4000u32).map(|i| (i / 0x1000 + 1) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let phdrs = vec![
            phdr(PT_LOAD, PF_R, 0, 0, 0x800),
            phdr(PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x800),
            phdr(PT_LOAD, PF_R, 0x2000, 0x2000, 0x800),
            phdr(PT_LOAD, PF_R | PF_W, 0x3000, 0x3000, 0x800),
            phdr(PT_DYNAMIC, PF_R | PF_W, 0x3000, 0x3000, 0x10),
        ];
        let layout = Layout::new(&phdrs, 0x4000, page).unwrap();
        assert!(in_place(&layout.loads[0], &layout.loads[2]));
        assert!(!in_place(&layout.loads[0], &layout.loads[1]));
        assert!(!in_place(&layout.loads[0], &layout.loads[3]));
        let m = Mapping::new(&layout.segments(), Source::File(file.as_fd())).unwrap();
        let base = m.bias as usize;
        for (vaddr, perms) in [
            (0, "r--p"),
            (0x1000, "r-xp"),
            (0x2000, "r--p"),
            (0x3000, "rw-p"),
        ] {
            let at = base + vaddr;
            // qemu-user's /proc/self/maps shows no guest page executable: there, read and write.
            let shown = if dynplug_fixtures::emulated() {
                &perms[..2]
            } else {
                perms
            };
            assert!(
                perms_at(at).starts_with(shown),
                "{vaddr:#x}: {}",
                perms_at(at)
            );
            // SAFETY: every segment is mapped readable; its first byte is the file's at the
            // same offset (page n holds n + 1).
            assert_eq!(unsafe { *(at as *const u8) }, (vaddr / 0x1000 + 1) as u8);
        }
        drop(m);
        std::fs::remove_dir_all(&dir).ok();
    }
}
