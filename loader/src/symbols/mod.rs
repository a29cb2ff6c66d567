//! Dynamic symbol tables: symbols, the GNU and SysV hash tables, and symbol versions.
//!
//! A [`SymTab`] is a set of byte slices, so the same code serves a plugin's file bytes and the
//! in-memory tables of modules the process already has.

mod gnu_hash;
mod sysv_hash;
mod version;

use gnu_hash::gnu_hash_step4;
pub use gnu_hash::{gnu_hash, GnuHash};
pub use sysv_hash::{sysv_hash, SysvHash};
pub use version::{VersionMatch, Versions};

use crate::read;
use goblin::elf::sym as s;

pub use crate::elf::records::SYM_SIZE;
/// `STT_GNU_IFUNC`.
pub const STT_GNU_IFUNC: u8 = 10;
/// `STB_GNU_UNIQUE`.
pub const STB_GNU_UNIQUE: u8 = 10;
/// `SHN_ABS`.
pub const SHN_ABS: u16 = 0xfff1;

/// One ELF64 symbol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sym {
    /// `st_name`.
    pub name: u32,
    /// `st_info`.
    pub info: u8,
    /// `st_other`.
    pub other: u8,
    /// `st_shndx`.
    pub shndx: u16,
    /// `st_value`.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
}

impl Sym {
    /// The `Elf64_Sym` at the start of `e`.
    pub fn read(e: &[u8]) -> Option<Sym> {
        Some(Sym {
            name: read::u32_at(e, 0)?,
            info: *e.get(4)?,
            other: *e.get(5)?,
            shndx: read::u16_at(e, 6)?,
            value: read::u64_at(e, 8)?,
            size: read::u64_at(e, 16)?,
        })
    }
    /// Its run-time address in a module loaded at `base` (an absolute symbol's value is its
    /// address).
    #[inline]
    pub fn address(&self, base: u64) -> u64 {
        if self.shndx == SHN_ABS {
            self.value
        } else {
            base.wrapping_add(self.value)
        }
    }

    /// `STB_*`.
    pub fn bind(&self) -> u8 {
        self.info >> 4
    }
    /// `STT_*`.
    pub fn kind(&self) -> u8 {
        self.info & 0xf
    }
    /// `STV_*`.
    pub fn visibility(&self) -> u8 {
        self.other & 3
    }
    /// Defined in this module (not `SHN_UNDEF`).
    pub fn is_defined(&self) -> bool {
        self.shndx != goblin::elf::section_header::SHN_UNDEF as u16
    }
    /// An IFUNC: the value is a resolver to call.
    pub fn is_ifunc(&self) -> bool {
        self.kind() == STT_GNU_IFUNC
    }
    /// Binds inside its own module only (local binding, hidden or internal visibility).
    pub fn binds_locally(&self) -> bool {
        self.bind() == s::STB_LOCAL || matches!(self.visibility(), s::STV_HIDDEN | s::STV_INTERNAL)
    }
    /// A definition other modules may bind to: defined, global/weak/unique, default or protected
    /// visibility, an accepted type (TLS included), and a value (unless absolute or TLS).
    pub fn is_export(&self) -> bool {
        let bind_ok = matches!(self.bind(), s::STB_GLOBAL | s::STB_WEAK | STB_GNU_UNIQUE);
        let vis_ok = matches!(self.visibility(), s::STV_DEFAULT | s::STV_PROTECTED);
        let kind_ok = matches!(
            self.kind(),
            s::STT_NOTYPE
                | s::STT_OBJECT
                | s::STT_FUNC
                | s::STT_COMMON
                | s::STT_TLS
                | STT_GNU_IFUNC
        );
        let value_ok = self.value != 0 || self.shndx == SHN_ABS || self.is_tls();
        self.is_defined() && bind_ok && vis_ok && kind_ok && value_ok
    }
    /// Weak binding.
    pub fn is_weak(&self) -> bool {
        self.bind() == s::STB_WEAK
    }
    /// A thread-local symbol.
    pub fn is_tls(&self) -> bool {
        self.kind() == s::STT_TLS
    }
}

/// A name to look up, with its GNU hash computed once (the SysV hash, needed only by old
/// objects without DT_GNU_HASH, is computed when such a table is searched).
#[derive(Clone, Copy, Debug)]
pub struct Name<'n> {
    /// The bytes of the name.
    pub bytes: &'n [u8],
    /// GNU hash of the name.
    pub gnu: u32,
}

impl<'n> Name<'n> {
    /// Hashes `bytes`.
    pub fn new(bytes: &'n [u8]) -> Name<'n> {
        Name {
            bytes,
            gnu: gnu_hash(bytes),
        }
    }

    /// The NUL-terminated name at `off` in `strtab`, found and hashed in one pass (four bytes a
    /// step while none is NUL); `None` if it does not end inside `strtab`.
    pub fn at(strtab: &'n [u8], off: u64) -> Option<Name<'n>> {
        let rest = strtab.get(usize::try_from(off).ok()?..)?;
        let mut h = 5381u32;
        let mut i = 0usize;
        while let Some(&[a, b, c, d]) = rest.get(i..i.wrapping_add(4)) {
            let w = u32::from_le_bytes([a, b, c, d]);
            // A zero byte in `w` (the classic test: exact for "has a zero byte").
            if w.wrapping_sub(0x0101_0101) & !w & 0x8080_8080 != 0 {
                break;
            }
            h = gnu_hash_step4(h, [a, b, c, d]);
            i += 4;
        }
        loop {
            let c = *rest.get(i)?;
            if c == 0 {
                return Some(Name {
                    bytes: rest.get(..i)?,
                    gnu: h,
                });
            }
            h = h.wrapping_mul(33).wrapping_add(u32::from(c));
            i += 1;
        }
    }
}

/// The hash table a module provides.
#[derive(Clone, Copy, Debug)]
pub enum Hash<'a> {
    /// DT_GNU_HASH.
    Gnu(GnuHash<'a>),
    /// DT_HASH.
    Sysv(SysvHash<'a>),
}

/// A module's dynamic symbol table.
#[derive(Clone, Debug)]
pub struct SymTab<'a> {
    /// The symbols (a multiple of 24 bytes, or the rest of the segment for in-memory tables).
    pub syms: &'a [u8],
    /// The string table.
    pub strtab: &'a [u8],
    /// The hash table.
    pub hash: Hash<'a>,
    /// DT_VERSYM: one u16 per symbol.
    pub versym: Option<&'a [u8]>,
    /// Version names by index, from DT_VERDEF (definitions).
    pub defs: Versions<'a>,
}

impl<'a> SymTab<'a> {
    /// Symbol `i`.
    pub fn sym(&self, i: u32) -> Option<Sym> {
        let o = u64::from(i).checked_mul(SYM_SIZE)?;
        // Built here rather than by `Sym::read`: on the resolver's hot path, where inlining
        // across code-generation units is not certain.
        let b = read::slice_at(self.syms, o, SYM_SIZE)?;
        Some(Sym {
            name: read::u32_at(b, 0)?,
            info: *b.get(4)?,
            other: *b.get(5)?,
            shndx: read::u16_at(b, 6)?,
            value: read::u64_at(b, 8)?,
            size: read::u64_at(b, 16)?,
        })
    }

    /// Number of symbols the table has room for.
    pub fn count(&self) -> u64 {
        self.syms.len() as u64 / SYM_SIZE
    }

    /// The name of `sym`, if its offset is inside the string table.
    pub fn name(&self, sym: &Sym) -> Option<&'a [u8]> {
        read::cstr_at(self.strtab, u64::from(sym.name))
    }

    /// The raw DT_VERSYM entry of symbol `i` (1, "global", without a table).
    pub fn versym(&self, i: u32) -> u16 {
        self.versym
            .and_then(|v| read::u16_at(v, u64::from(i) * 2))
            .unwrap_or(1)
    }

    /// True if `sym`'s name is `name` (compared in place, without measuring the string first).
    pub fn name_is(&self, sym: &Sym, name: &[u8]) -> bool {
        let Ok(start) = usize::try_from(sym.name) else {
            return false;
        };
        let end = start.saturating_add(name.len());
        self.strtab.get(start..end) == Some(name) && self.strtab.get(end) == Some(&0)
    }

    /// False if the table certainly has no symbol called `name` (the GNU bloom filter); a cheap
    /// test before [`SymTab::find`].
    #[inline(always)]
    pub fn may_define(&self, name: &Name<'_>) -> bool {
        match &self.hash {
            Hash::Gnu(h) => h.may_contain(name.gnu),
            Hash::Sysv(_) => true,
        }
    }

    /// Finds the exported definition of `name` that `dlsym` (`dlvsym` for `want`) gives: for
    /// an unversioned name, the default version.
    pub fn find(&self, name: &Name<'_>, want: Option<&[u8]>) -> Option<(u32, Sym)> {
        self.find_with(name, VersionMatch::new(want))
    }

    /// The definition a symbol reference asking for `name` at `want` binds to in this table
    /// (glibc's rule for relocations: an unversioned reference takes the oldest version).
    pub fn find_for_relocation(&self, name: &Name<'_>, want: Option<&[u8]>) -> Option<(u32, Sym)> {
        self.find_with(name, VersionMatch::for_relocation(want))
    }

    fn find_with(&self, name: &Name<'_>, mut m: VersionMatch<'_>) -> Option<(u32, Sym)> {
        let mut visit = |i: u32| -> bool {
            let Some(sym) = self.sym(i) else { return true };
            if !sym.is_export() || !self.name_is(&sym, name.bytes) {
                return false;
            }
            m.offer(i, sym, self.versym.map(|_| self.versym(i)), &self.defs)
        };
        match &self.hash {
            Hash::Gnu(h) => h.candidates(name.gnu, &mut visit),
            Hash::Sysv(h) => h.candidates(sysv_hash(name.bytes), &mut visit),
        }
        m.result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_at_finds_and_hashes_like_new() {
        // Names of every length 0..40 with bytes that stress the zero-byte test (0x80, 0x01,
        // 0xff around the NUL).
        let mut strtab = vec![0u8];
        let mut offsets = Vec::new();
        for len in 0..40u8 {
            offsets.push(strtab.len() as u64);
            strtab.extend((0..len).map(|i| [0x80u8, 0x01, 0xff, b'a'][usize::from(i % 4)]));
            strtab.push(0);
        }
        for &off in &offsets {
            let start = off as usize;
            let end = start + strtab[start..].iter().position(|&c| c == 0).unwrap();
            let name = Name::at(&strtab, off).unwrap();
            assert_eq!(name.bytes, &strtab[start..end]);
            assert_eq!(name.gnu, gnu_hash(&strtab[start..end]));
        }
        // Unterminated, or out of range.
        assert!(Name::at(b"abcdefgh", 0).is_none());
        assert!(Name::at(b"abc\0", 9).is_none());
        assert_eq!(Name::at(b"abc\0", 4).map(|n| n.bytes), None);
    }
}
