//! ELF64 record layouts, named once (the gABI's `Elf64_*` structures, little-endian): the size
//! of each fixed-size record, the header fields read directly, the program header numbers, and
//! bounds-checked readers.

use crate::read;

pub use goblin::elf::program_header::{
    PF_R, PF_W, PF_X, PT_DYNAMIC, PT_GNU_RELRO, PT_LOAD, PT_PHDR, PT_TLS,
};

/// Size of an `Elf64_Ehdr`.
pub const EHDR_SIZE: u64 = 64;
/// Size of an `Elf64_Phdr`.
pub const PHDR_SIZE: u64 = 56;
/// Size of an `Elf64_Sym`.
pub const SYM_SIZE: u64 = 24;
/// Size of an `Elf64_Rela`.
pub const RELA_SIZE: u64 = 24;
/// Size of an `Elf64_Dyn`.
pub const DYN_SIZE: u64 = 16;

/// Offset of `e_phoff` (u64) in the ELF header.
pub const E_PHOFF: u64 = 0x20;
/// Offset of `e_phnum` (u16) in the ELF header.
pub const E_PHNUM: u64 = 0x38;

/// An `Elf64_Phdr`, as it lies in memory (what `dl_iterate_phdr` points at).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phdr {
    /// `p_type`.
    pub p_type: u32,
    /// `p_flags`.
    pub p_flags: u32,
    /// `p_offset`.
    pub p_offset: u64,
    /// `p_vaddr`.
    pub p_vaddr: u64,
    /// `p_paddr`.
    pub p_paddr: u64,
    /// `p_filesz`.
    pub p_filesz: u64,
    /// `p_memsz`.
    pub p_memsz: u64,
    /// `p_align`.
    pub p_align: u64,
}

const _: () = assert!(std::mem::size_of::<Phdr>() as u64 == PHDR_SIZE);

/// The program header at `off` in `b`.
pub fn phdr_at(b: &[u8], off: u64) -> Option<Phdr> {
    let h = read::slice_at(b, off, PHDR_SIZE)?;
    Some(Phdr {
        p_type: read::u32_at(h, 0)?,
        p_flags: read::u32_at(h, 4)?,
        p_offset: read::u64_at(h, 8)?,
        p_vaddr: read::u64_at(h, 16)?,
        p_paddr: read::u64_at(h, 24)?,
        p_filesz: read::u64_at(h, 32)?,
        p_memsz: read::u64_at(h, 40)?,
        p_align: read::u64_at(h, 48)?,
    })
}

/// Dynamic entry `index` of the dynamic section `b`: (`d_tag`, `d_val`).
pub fn dyn_at(b: &[u8], index: u64) -> Option<(u64, u64)> {
    let e = read::slice_at(b, index.checked_mul(DYN_SIZE)?, DYN_SIZE)?;
    Some((read::u64_at(e, 0)?, read::u64_at(e, 8)?))
}
