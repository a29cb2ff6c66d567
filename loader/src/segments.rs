//! An image's segments as mapping sees them, whatever its format: where each lies in memory and
//! in the file, and its protections. A format's reader describes its segments so (ELF's program
//! headers in `elf::layout`, Mach-O's load commands in `macho`), and `map.rs` maps them.

/// Readable.
pub const READ: u32 = 1 << 2;
/// Writable.
pub const WRITE: u32 = 1 << 1;
/// Executable.
pub const EXEC: u32 = 1;

/// One segment to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Link-time address.
    pub vaddr: u64,
    /// Size in memory.
    pub memsz: u64,
    /// Offset of its bytes in the file.
    pub offset: u64,
    /// Bytes from the file (the rest, to `memsz`, is zero).
    pub filesz: u64,
    /// Protections: [`READ`], [`WRITE`], [`EXEC`].
    pub prot: u32,
}

impl Segment {
    /// End of the segment in memory.
    pub fn end(&self) -> u64 {
        // Validated not to overflow when the layout was built.
        self.vaddr.saturating_add(self.memsz)
    }
    /// True if `[addr, addr+len)` lies inside this segment in memory.
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.vaddr && addr.checked_add(len).is_some_and(|e| e <= self.end())
    }
    /// Readable segment.
    pub fn readable(&self) -> bool {
        self.prot & READ != 0
    }
    /// Writable segment.
    pub fn writable(&self) -> bool {
        self.prot & WRITE != 0
    }
    /// Executable segment.
    pub fn executable(&self) -> bool {
        self.prot & EXEC != 0
    }
}

/// The segments of an image and the span they occupy, validated by its format's reader: sorted,
/// no page shared between two, none writable and executable, the span within bounds.
#[derive(Clone, Copy, Debug)]
pub struct Segments<'a> {
    /// The segments, sorted by address.
    pub list: &'a [Segment],
    /// Lowest address, rounded down to the page.
    pub span_lo: u64,
    /// Highest address, rounded up to the page.
    pub span_hi: u64,
    /// Largest segment alignment (at least the page size).
    pub align: u64,
    /// The page size the segments were checked against.
    pub page: u64,
}

impl Segments<'_> {
    /// Size of the span in bytes.
    pub fn span(&self) -> u64 {
        self.span_hi - self.span_lo
    }
}
