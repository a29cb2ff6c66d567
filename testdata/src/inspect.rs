//! Reading what a fixture carries (dynamic tags, relocations, DT_RELR places, symbol values)
//! straight from its file, independently of dynplug's own parser: a test first checks that its
//! fixture really holds the relocation it is about (a compiler that emitted something else would
//! make the test prove nothing), then checks what the loader made of it.
use std::path::Path;

use crate::edit::Elf;

/// The target's relocation numbers by what they do (x86_64's `R_X86_64_*`, aarch64's
/// `R_AARCH64_*`, riscv64's `R_RISCV_*`), so that a test checks its fixture on every target.
#[cfg(target_arch = "x86_64")]
mod numbers {
    pub const ABS64: u32 = 1;
    pub const GLOB_DAT: u32 = 6;
    pub const JUMP_SLOT: u32 = 7;
    pub const RELATIVE: u32 = 8;
    pub const IRELATIVE: u32 = 37;
}
#[cfg(target_arch = "aarch64")]
mod numbers {
    pub const ABS64: u32 = 257;
    pub const GLOB_DAT: u32 = 1025;
    pub const JUMP_SLOT: u32 = 1026;
    pub const RELATIVE: u32 = 1027;
    pub const IRELATIVE: u32 = 1032;
}
#[cfg(target_arch = "riscv64")]
mod numbers {
    pub const ABS64: u32 = 2;
    // riscv has no GLOB_DAT: a GOT entry is R_RISCV_64.
    pub const GLOB_DAT: u32 = 2;
    pub const JUMP_SLOT: u32 = 5;
    pub const RELATIVE: u32 = 3;
    pub const IRELATIVE: u32 = 58;
}

/// S + A, 64 bits (`R_ABS64`, `R_AARCH64_ABS64`, `R_RISCV_64`).
pub const R_ABS64: u32 = numbers::ABS64;
/// A GOT entry: S (`R_GLOB_DAT`, `R_AARCH64_GLOB_DAT`; riscv64's is `R_RISCV_64`).
pub const R_GLOB_DAT: u32 = numbers::GLOB_DAT;
/// A PLT's GOT entry: S (`JUMP_SLOT`).
pub const R_JUMP_SLOT: u32 = numbers::JUMP_SLOT;
/// B + A (`RELATIVE`).
pub const R_RELATIVE: u32 = numbers::RELATIVE;
/// The result of calling B + A (`IRELATIVE`).
pub const R_IRELATIVE: u32 = numbers::IRELATIVE;
/// The target's relocation names' prefix: `R_X86_64_`, `R_AARCH64_`, `R_RISCV_`.
pub const R_PREFIX: &str = if cfg!(target_arch = "aarch64") {
    "R_AARCH64_"
} else if cfg!(target_arch = "riscv64") {
    "R_RISCV_"
} else {
    "R_X86_64_"
};

/// `DT_INIT`.
pub const DT_INIT: u64 = 12;
/// `DT_TEXTREL`.
pub const DT_TEXTREL: u64 = 22;
/// `DT_INIT_ARRAY`.
pub const DT_INIT_ARRAY: u64 = 25;
/// `DT_INIT_ARRAYSZ`.
pub const DT_INIT_ARRAYSZ: u64 = 27;
/// `DT_FLAGS`.
pub const DT_FLAGS: u64 = 30;
/// `DT_RELR`.
pub const DT_RELR: u64 = 36;
/// `DT_RELRSZ`.
pub const DT_RELRSZ: u64 = 35;
/// `DF_TEXTREL`, in `DT_FLAGS`.
pub const DF_TEXTREL: u64 = 4;
/// `PT_GNU_RELRO`.
pub const PT_GNU_RELRO: u32 = 0x6474_e552;

/// One RELA entry (from DT_RELA or DT_JMPREL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Link-time address of the place relocated.
    pub place: u64,
    /// `ELF64_R_TYPE`.
    pub r_type: u32,
    /// Name of the symbol (empty for symbol 0), without version.
    pub symbol: String,
    /// The addend.
    pub addend: i64,
}

/// One PT_LOAD.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// `PF_W` is set.
    pub writable: bool,
    /// `p_align`.
    pub align: u64,
}

/// A fixture read from its file.
pub struct Object {
    elf: Elf,
}

impl Object {
    /// Reads the ELF64 shared object at `path`.
    pub fn read(path: impl AsRef<Path>) -> Object {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        assert_eq!(&bytes[..4], b"\x7fELF", "{} is not ELF", path.display());
        Object {
            elf: Elf::new(bytes),
        }
    }

    /// The value of the first dynamic entry tagged `tag`, if any.
    pub fn tag(&self, tag: u64) -> Option<u64> {
        self.elf
            .dynamic()
            .into_iter()
            .find(|d| d.1 == tag)
            .map(|d| self.elf.u64(d.0 + 8))
    }

    /// Every RELA entry, DT_RELA then DT_JMPREL.
    pub fn relocations(&self) -> Vec<Reloc> {
        self.elf
            .relas()
            .into_iter()
            .map(|r| {
                let info = self.elf.u64(r + 8);
                Reloc {
                    place: self.elf.u64(r),
                    r_type: (info & 0xffff_ffff) as u32,
                    symbol: self.symbol_name((info >> 32) as usize),
                    addend: self.elf.u64(r + 16) as i64,
                }
            })
            .collect()
    }

    /// The relocations of type `r_type`.
    pub fn relocations_of(&self, r_type: u32) -> Vec<Reloc> {
        self.relocations()
            .into_iter()
            .filter(|r| r.r_type == r_type)
            .collect()
    }

    /// The relocation of link-time address `place`, if there is one in DT_RELA or DT_JMPREL.
    pub fn relocation_at(&self, place: u64) -> Option<Reloc> {
        self.relocations().into_iter().find(|r| r.place == place)
    }

    /// Every place DT_RELR relocates, decoded (address entries and bitmaps of 63 words).
    pub fn relr_places(&self) -> Vec<u64> {
        let (Some(at), Some(size)) = (self.tag(DT_RELR), self.tag(DT_RELRSZ)) else {
            return Vec::new();
        };
        let start = self.elf.offset_of(at);
        let mut places = Vec::new();
        let mut next = 0u64;
        for i in 0..(size / 8) as usize {
            let entry = self.elf.u64(start + i * 8);
            if entry & 1 == 0 {
                places.push(entry);
                next = entry + 8;
            } else {
                let mut bits = entry >> 1;
                let mut word = 0;
                while bits != 0 {
                    if bits & 1 == 1 {
                        places.push(next + word * 8);
                    }
                    bits >>= 1;
                    word += 1;
                }
                next += 63 * 8;
            }
        }
        places
    }

    /// The number of bitmap entries (odd words) in DT_RELR.
    pub fn relr_bitmaps(&self) -> usize {
        let (Some(at), Some(size)) = (self.tag(DT_RELR), self.tag(DT_RELRSZ)) else {
            return 0;
        };
        let start = self.elf.offset_of(at);
        (0..(size / 8) as usize)
            .filter(|i| self.elf.u64(start + i * 8) & 1 == 1)
            .count()
    }

    /// `st_value` of the dynamic symbol `name`.
    pub fn symbol_value(&self, name: &str) -> Option<u64> {
        self.elf.symbol(name).map(|s| s.0)
    }

    /// The PT_LOAD segments, in file order.
    pub fn loads(&self) -> Vec<Load> {
        use crate::edit::ph;
        self.elf
            .loads()
            .into_iter()
            .map(|o| Load {
                vaddr: self.elf.u64(o + ph::VADDR),
                filesz: self.elf.u64(o + ph::FILESZ),
                memsz: self.elf.u64(o + ph::MEMSZ),
                writable: self.elf.u32(o + ph::FLAGS) & 2 != 0,
                align: self.elf.u64(o + ph::ALIGN),
            })
            .collect()
    }

    /// `(p_vaddr, p_memsz)` of the first program header of type `p_type`.
    pub fn segment(&self, p_type: u32) -> Option<(u64, u64)> {
        self.elf
            .phdrs()
            .into_iter()
            .find(|p| p.1 == p_type)
            .map(|p| {
                (
                    self.elf.u64(p.0 + crate::edit::ph::VADDR),
                    self.elf.u64(p.0 + crate::edit::ph::MEMSZ),
                )
            })
    }

    fn symbol_name(&self, index: usize) -> String {
        if index == 0 {
            return String::new();
        }
        let symtab = self.elf.offset_of(self.tag(6).expect("DT_SYMTAB"));
        let strtab = self.elf.offset_of(self.tag(5).expect("DT_STRTAB"));
        let name = strtab + self.elf.u32(symtab + index * 24) as usize;
        let end = self.elf.bytes[name..]
            .iter()
            .position(|&c| c == 0)
            .expect("NUL-terminated name");
        String::from_utf8_lossy(&self.elf.bytes[name..name + end]).into_owned()
    }
}
