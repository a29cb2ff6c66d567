//! The dynamic section: the tables and flags the loader needs, each checked against the image.

use goblin::elf::dynamic as d;

use super::layout::Layout;
use super::view::View;
use crate::error::{LoadError, Malformed, Unsupported};
use crate::read;

use super::records::{DYN_SIZE, RELA_SIZE, SYM_SIZE};
/// `DT_RELRSZ`, `DT_RELR`, `DT_RELRENT` (newer than some goblin releases).
const DT_RELRSZ: u64 = 35;
const DT_RELR: u64 = 36;
const DT_RELRENT: u64 = 37;
/// Most DT_NEEDED entries accepted.
const MAX_NEEDED: usize = 4096;

/// A table: address and size in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Link-time address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
}

/// What the dynamic section says.
#[derive(Clone, Debug, Default)]
pub struct Dynamic {
    /// DT_STRTAB + DT_STRSZ.
    pub strtab: Table,
    /// DT_SYMTAB.
    pub symtab: u64,
    /// DT_HASH.
    pub hash: Option<u64>,
    /// DT_GNU_HASH.
    pub gnu_hash: Option<u64>,
    /// DT_VERSYM.
    pub versym: Option<u64>,
    /// DT_VERDEF and DT_VERDEFNUM.
    pub verdef: Option<(u64, u64)>,
    /// DT_VERNEED and DT_VERNEEDNUM.
    pub verneed: Option<(u64, u64)>,
    /// DT_RELA + DT_RELASZ.
    pub rela: Option<Table>,
    /// DT_RELACOUNT.
    pub relacount: u64,
    /// DT_JMPREL + DT_PLTRELSZ.
    pub jmprel: Option<Table>,
    /// DT_RELR + DT_RELRSZ.
    pub relr: Option<Table>,
    /// DT_INIT.
    pub init: Option<u64>,
    /// DT_INIT_ARRAY + DT_INIT_ARRAYSZ.
    pub init_array: Option<Table>,
    /// DT_FINI (run at exit, after DT_FINI_ARRAY).
    pub fini: Option<u64>,
    /// DT_FINI_ARRAY + DT_FINI_ARRAYSZ (run at exit, from the last entry).
    pub fini_array: Option<Table>,
    /// DT_PREINIT_ARRAY + DT_PREINIT_ARRAYSZ, when both are present and whole entries (reported
    /// only: only executables run them).
    pub preinit_array: Option<Table>,
    /// DT_NEEDED string offsets.
    pub needed: Vec<u64>,
    /// DT_SONAME string offset.
    pub soname: Option<u64>,
    /// DT_RPATH string offset.
    pub rpath: Option<u64>,
    /// DT_RUNPATH string offset.
    pub runpath: Option<u64>,
    /// DT_SYMBOLIC or DF_SYMBOLIC: the object's own definitions come first.
    pub symbolic: bool,
    /// DT_FLAGS_1.
    pub flags_1: u64,
}

impl Dynamic {
    /// Reads and checks the dynamic section of an object.
    pub fn parse(view: &View<'_>, layout: &Layout) -> Result<Dynamic, LoadError> {
        let dynr = layout.dynamic;
        let bytes = view
            .slice(
                dynr.vaddr,
                dynr.memsz
                    .min(view.rest(dynr.vaddr).map_or(0, |r| r.len() as u64)),
            )
            .ok_or(Malformed::SegmentNotLoaded { what: "PT_DYNAMIC" })?;
        let mut out = Dynamic::default();
        let (mut strtab, mut strsz, mut symtab) = (None, None, None);
        let (mut rela, mut relasz, mut relaent) = (None, None, None);
        let (mut jmprel, mut pltrelsz, mut pltrel) = (None, None, None);
        let (mut relr, mut relrsz, mut relrent) = (None, None, None);
        let (mut init_array, mut init_arraysz) = (None, None);
        let (mut fini_array, mut fini_arraysz) = (None, None);
        let (mut preinit_array, mut preinit_arraysz) = (None, None);
        let (mut verdef, mut verdefnum, mut verneed, mut verneednum) = (None, None, None, None);
        let mut syment = None;
        let mut flags = 0u64;
        let mut terminated = false;
        let mut off = 0u64;
        while let (Some(tag), Some(val)) = (read::u64_at(bytes, off), read::u64_at(bytes, off + 8))
        {
            off += DYN_SIZE;
            match tag {
                d::DT_NULL => {
                    terminated = true;
                    break;
                }
                d::DT_NEEDED => {
                    if out.needed.len() >= MAX_NEEDED {
                        return Err(Malformed::TooMany {
                            what: "DT_NEEDED",
                            count: out.needed.len() as u64 + 1,
                        }
                        .into());
                    }
                    out.needed.push(val)
                }
                d::DT_STRTAB => strtab = Some(val),
                d::DT_STRSZ => strsz = Some(val),
                d::DT_SYMTAB => symtab = Some(val),
                d::DT_SYMENT => syment = Some(val),
                d::DT_HASH => out.hash = Some(val),
                d::DT_GNU_HASH => out.gnu_hash = Some(val),
                d::DT_VERSYM => out.versym = Some(val),
                d::DT_VERDEF => verdef = Some(val),
                d::DT_VERDEFNUM => verdefnum = Some(val),
                d::DT_VERNEED => verneed = Some(val),
                d::DT_VERNEEDNUM => verneednum = Some(val),
                d::DT_RELA => rela = Some(val),
                d::DT_RELASZ => relasz = Some(val),
                d::DT_RELAENT => relaent = Some(val),
                d::DT_RELACOUNT => out.relacount = val,
                d::DT_JMPREL => jmprel = Some(val),
                d::DT_PLTRELSZ => pltrelsz = Some(val),
                d::DT_PLTREL => pltrel = Some(val),
                DT_RELR => relr = Some(val),
                DT_RELRSZ => relrsz = Some(val),
                DT_RELRENT => relrent = Some(val),
                d::DT_REL | d::DT_RELSZ => return Err(Unsupported::RelFormat.into()),
                d::DT_INIT => out.init = Some(val),
                d::DT_INIT_ARRAY => init_array = Some(val),
                d::DT_INIT_ARRAYSZ => init_arraysz = Some(val),
                d::DT_FINI => out.fini = Some(val),
                d::DT_FINI_ARRAY => fini_array = Some(val),
                d::DT_FINI_ARRAYSZ => fini_arraysz = Some(val),
                d::DT_PREINIT_ARRAY => preinit_array = Some(val),
                d::DT_PREINIT_ARRAYSZ => preinit_arraysz = Some(val),
                d::DT_SONAME => out.soname = Some(val),
                d::DT_RPATH => out.rpath = Some(val),
                d::DT_RUNPATH => out.runpath = Some(val),
                d::DT_SYMBOLIC => out.symbolic = true,
                d::DT_TEXTREL => return Err(Unsupported::TextRelocations.into()),
                d::DT_FLAGS => flags = val,
                d::DT_FLAGS_1 => out.flags_1 = val,
                _ => {}
            }
        }
        if !terminated {
            return Err(Malformed::DynamicUnterminated.into());
        }
        if flags & d::DF_TEXTREL != 0 {
            return Err(Unsupported::TextRelocations.into());
        }
        // DF_STATIC_TLS is only a hint: each TPOFF relocation is checked when applied.
        out.symbolic |= flags & d::DF_SYMBOLIC != 0;
        if out.flags_1 & d::DF_1_NOOPEN != 0 {
            return Err(Unsupported::NoOpen.into());
        }
        if out.flags_1 & d::DF_1_PIE != 0 {
            return Err(Unsupported::Executable.into());
        }
        if pltrel.is_some_and(|p| p != d::DT_RELA) {
            return Err(Unsupported::RelFormat.into());
        }
        let need = |v: Option<u64>, tag: &'static str| v.ok_or(Malformed::MissingDynamic { tag });
        out.strtab = Table {
            addr: need(strtab, "DT_STRTAB")?,
            size: need(strsz, "DT_STRSZ")?,
        };
        out.symtab = need(symtab, "DT_SYMTAB")?;
        if syment.is_some_and(|s| s != SYM_SIZE) {
            return Err(Malformed::BadTableSize {
                tag: "DT_SYMENT",
                value: syment.unwrap_or(0),
            }
            .into());
        }
        if out.hash.is_none() && out.gnu_hash.is_none() {
            return Err(Malformed::MissingDynamic {
                tag: "DT_HASH or DT_GNU_HASH",
            }
            .into());
        }
        if relaent.is_some_and(|e| e != RELA_SIZE) {
            return Err(Malformed::BadTableSize {
                tag: "DT_RELAENT",
                value: relaent.unwrap_or(0),
            }
            .into());
        }
        if relrent.is_some_and(|e| e != 8) {
            return Err(Malformed::BadTableSize {
                tag: "DT_RELRENT",
                value: relrent.unwrap_or(0),
            }
            .into());
        }
        out.rela = table(rela, relasz, "DT_RELA", RELA_SIZE)?;
        out.jmprel = table(jmprel, pltrelsz, "DT_JMPREL", RELA_SIZE)?;
        out.rela = without_jmprel(out.rela, out.jmprel);
        out.relr = table(relr, relrsz, "DT_RELR", 8)?;
        out.init_array = table(init_array, init_arraysz, "DT_INIT_ARRAY", 8)?;
        out.fini_array = table(fini_array, fini_arraysz, "DT_FINI_ARRAY", 8)?;
        // Never run by dynplug: an inconsistent pair is ignored here, not refused.
        out.preinit_array =
            table(preinit_array, preinit_arraysz, "DT_PREINIT_ARRAY", 8).unwrap_or(None);
        out.verdef = verdef.map(|a| (a, verdefnum.unwrap_or(0)));
        out.verneed = verneed.map(|a| (a, verneednum.unwrap_or(0)));
        if out
            .relacount
            .checked_mul(RELA_SIZE)
            .is_none_or(|n| n > out.rela.map_or(0, |t| t.size))
        {
            return Err(Malformed::BadTableSize {
                tag: "DT_RELACOUNT",
                value: out.relacount,
            }
            .into());
        }
        out.check_addresses(view)?;
        Ok(out)
    }

    /// Every table the loader reads must be file-backed bytes of the image.
    fn check_addresses(&self, view: &View<'_>) -> Result<(), LoadError> {
        let inside = |tag: &'static str, addr: u64, size: u64| {
            if view.slice(addr, size).is_some() {
                Ok(())
            } else {
                Err(Malformed::AddressOutsideImage { tag, addr, size })
            }
        };
        inside("DT_STRTAB", self.strtab.addr, self.strtab.size)?;
        inside("DT_SYMTAB", self.symtab, SYM_SIZE)?;
        for (tag, t) in [
            ("DT_RELA", self.rela),
            ("DT_JMPREL", self.jmprel),
            ("DT_RELR", self.relr),
        ] {
            if let Some(t) = t {
                inside(tag, t.addr, t.size)?;
            }
        }
        if let Some(h) = self.hash {
            inside("DT_HASH", h, 8)?;
        }
        if let Some(h) = self.gnu_hash {
            inside("DT_GNU_HASH", h, 16)?;
        }
        if let Some(v) = self.versym {
            inside("DT_VERSYM", v, 2)?;
        }
        if let Some((a, _)) = self.verdef {
            inside("DT_VERDEF", a, 20)?;
        }
        if let Some((a, _)) = self.verneed {
            inside("DT_VERNEED", a, 16)?;
        }
        Ok(())
    }
}

/// An address/size pair: both or neither, size a multiple of the entry size.
/// DT_RELA without DT_JMPREL where DT_RELASZ covers both (riscv64's GNU ld counts `.rela.plt`
/// in it): each entry applied once, as glibc's `_ELF_DYNAMIC_DO_RELOC` trims the range.
fn without_jmprel(rela: Option<Table>, jmprel: Option<Table>) -> Option<Table> {
    let (Some(r), Some(j)) = (rela, jmprel) else {
        return rela;
    };
    let same_end = r
        .addr
        .checked_add(r.size)
        .is_some_and(|end| Some(end) == j.addr.checked_add(j.size));
    if !same_end || j.size > r.size {
        return rela;
    }
    let size = r.size - j.size;
    (size > 0).then_some(Table { addr: r.addr, size })
}

fn table(
    addr: Option<u64>,
    size: Option<u64>,
    tag: &'static str,
    ent: u64,
) -> Result<Option<Table>, LoadError> {
    match (addr, size) {
        (None, None) | (None, Some(0)) => Ok(None),
        (Some(_), Some(0)) => Ok(None),
        (Some(addr), Some(size)) if size % ent == 0 => Ok(Some(Table { addr, size })),
        (Some(_), Some(size)) => Err(Malformed::BadTableSize { tag, value: size }.into()),
        (Some(_), None) | (None, Some(_)) => Err(Malformed::MissingDynamic { tag }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::{without_jmprel, Table};

    #[test]
    fn a_rela_range_ending_with_jmprel_is_trimmed_as_glibc_does() {
        let t = |addr, size| Some(Table { addr, size });
        // riscv64's ld: DT_RELASZ counts .rela.plt, which ends the range.
        assert_eq!(
            without_jmprel(t(0x100, 0x90), t(0x160, 0x30)),
            t(0x100, 0x60)
        );
        // Only .rela.plt: nothing left of DT_RELA.
        assert_eq!(without_jmprel(t(0x100, 0x30), t(0x100, 0x30)), None);
        // Separate tables (x86_64, aarch64): unchanged.
        assert_eq!(
            without_jmprel(t(0x100, 0x30), t(0x130, 0x30)),
            t(0x100, 0x30)
        );
        assert_eq!(without_jmprel(t(0x100, 0x30), None), t(0x100, 0x30));
        // A DT_JMPREL larger than DT_RELA cannot be its tail: unchanged.
        assert_eq!(
            without_jmprel(t(0x140, 0x20), t(0x100, 0x60)),
            t(0x140, 0x20)
        );
    }
}
