//! Editing a valid ELF64 shared object to make malformed ones: find its program headers,
//! dynamic entries, relocations and tables, and overwrite fields in place.

/// An ELF64 little-endian file being edited.
#[derive(Clone, Debug)]
pub struct Elf {
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A program header's field offsets (ELF64).
pub mod ph {
    /// `p_type` (u32).
    pub const TYPE: usize = 0;
    /// `p_flags` (u32).
    pub const FLAGS: usize = 4;
    /// `p_offset` (u64).
    pub const OFFSET: usize = 8;
    /// `p_vaddr` (u64).
    pub const VADDR: usize = 16;
    /// `p_filesz` (u64).
    pub const FILESZ: usize = 32;
    /// `p_memsz` (u64).
    pub const MEMSZ: usize = 40;
    /// `p_align` (u64).
    pub const ALIGN: usize = 48;
}

impl Elf {
    /// Wraps `bytes` (a valid object).
    pub fn new(bytes: Vec<u8>) -> Elf {
        Elf { bytes }
    }

    /// The u16 at `off`.
    pub fn u16(&self, off: usize) -> u16 {
        u16::from_le_bytes(self.bytes[off..off + 2].try_into().unwrap())
    }
    /// The u32 at `off`.
    pub fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.bytes[off..off + 4].try_into().unwrap())
    }
    /// The u64 at `off`.
    pub fn u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.bytes[off..off + 8].try_into().unwrap())
    }
    /// Writes a u16 at `off`.
    pub fn set_u16(&mut self, off: usize, v: u16) {
        self.bytes[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }
    /// Writes a u32 at `off`.
    pub fn set_u32(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    /// Writes a u64 at `off`.
    pub fn set_u64(&mut self, off: usize, v: u64) {
        self.bytes[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// File offsets of the program headers, with their types.
    pub fn phdrs(&self) -> Vec<(usize, u32)> {
        let (phoff, phnum) = (self.u64(0x20) as usize, self.u16(0x38) as usize);
        (0..phnum)
            .map(|i| phoff + i * 56)
            .map(|o| (o, self.u32(o)))
            .collect()
    }

    /// File offsets of the PT_LOAD headers.
    pub fn loads(&self) -> Vec<usize> {
        self.phdrs()
            .into_iter()
            .filter(|p| p.1 == 1)
            .map(|p| p.0)
            .collect()
    }

    /// The file offset of link-time address `vaddr`.
    pub fn offset_of(&self, vaddr: u64) -> usize {
        for l in self.loads() {
            let (off, va, filesz) = (
                self.u64(l + ph::OFFSET),
                self.u64(l + ph::VADDR),
                self.u64(l + ph::FILESZ),
            );
            if vaddr >= va && vaddr < va + filesz {
                return (off + (vaddr - va)) as usize;
            }
        }
        panic!("address {vaddr:#x} not in the file");
    }

    /// File offsets of the dynamic entries (up to DT_NULL), with their tags.
    pub fn dynamic(&self) -> Vec<(usize, u64)> {
        let (o, _) = self
            .phdrs()
            .into_iter()
            .find(|p| p.1 == 2)
            .expect("PT_DYNAMIC");
        let mut at = self.u64(o + ph::OFFSET) as usize;
        let mut out = Vec::new();
        loop {
            let tag = self.u64(at);
            if tag == 0 {
                return out;
            }
            out.push((at, tag));
            at += 16;
        }
    }

    /// The value of dynamic tag `tag`.
    pub fn dyn_val(&self, tag: u64) -> u64 {
        let (o, _) = self
            .dynamic()
            .into_iter()
            .find(|d| d.1 == tag)
            .expect("dynamic tag");
        self.u64(o + 8)
    }

    /// File offset of the value of the first entry with tag `tag`.
    pub fn dyn_val_at(&self, tag: u64) -> usize {
        self.dynamic()
            .into_iter()
            .find(|d| d.1 == tag)
            .expect("dynamic tag")
            .0
            + 8
    }

    /// File offsets of the RELA entries (DT_RELA, then DT_JMPREL), each once: where DT_RELASZ
    /// covers DT_JMPREL too (riscv64's ld), DT_RELA ends where DT_JMPREL starts, as glibc reads it.
    pub fn relas(&self) -> Vec<usize> {
        let range = |addr: u64, size: u64| {
            self.dynamic()
                .iter()
                .any(|d| d.1 == addr)
                .then(|| (self.dyn_val(addr), self.dyn_val(size)))
        };
        let jmprel = range(23, 2);
        let rela = range(7, 8).map(|(at, size)| match jmprel {
            Some((j, jsize)) if at + size == j + jsize && jsize <= size => (at, size - jsize),
            _ => (at, size),
        });
        let mut out = Vec::new();
        for (at, size) in [rela, jmprel].into_iter().flatten() {
            let start = self.offset_of(at);
            out.extend((0..size as usize / 24).map(|i| start + i * 24));
        }
        out
    }

    /// File offsets of the GNU hash chain words (up to the symbol table that follows them).
    pub fn gnu_chains(&self) -> Vec<usize> {
        let h = self.offset_of(self.dyn_val(0x6fff_fef5));
        let (nbucket, nbloom) = (self.u32(h) as usize, self.u32(h + 8) as usize);
        let chains = h + 16 + nbloom * 8 + nbucket * 4;
        let symtab = self.offset_of(self.dyn_val(6));
        (chains..symtab).step_by(4).collect()
    }

    /// File offset of the dynamic symbol table entry of `name`.
    fn symbol_entry(&self, name: &str) -> Option<usize> {
        let symtab = self.offset_of(self.dyn_val(6));
        let strtab = self.offset_of(self.dyn_val(5));
        let strsz = self.dyn_val(10) as usize;
        // GNU ld places .dynstr right after .dynsym.
        (symtab + 24..strtab)
            .step_by(24)
            .take_while(|at| at + 24 <= strtab)
            .find(|&at| {
                let n = self.u32(at) as usize;
                n < strsz && {
                    let s = &self.bytes[strtab + n..];
                    let end = s.iter().position(|&c| c == 0).unwrap_or(0);
                    &s[..end] == name.as_bytes()
                }
            })
    }

    /// `(st_value, st_size)` of the dynamic symbol `name`.
    pub fn symbol(&self, name: &str) -> Option<(u64, u64)> {
        let at = self.symbol_entry(name)?;
        Some((self.u64(at + 8), self.u64(at + 16)))
    }

    /// Sets `st_value` of the dynamic symbol `name`; false if there is no such symbol.
    pub fn set_symbol_value(&mut self, name: &str, value: u64) -> bool {
        let Some(at) = self.symbol_entry(name) else {
            return false;
        };
        self.set_u64(at + 8, value);
        true
    }

    /// File offset of the RELA entry that relocates link-time address `place`.
    pub fn rela_at_place(&self, place: u64) -> Option<usize> {
        self.relas().into_iter().find(|&r| self.u64(r) == place)
    }
}
