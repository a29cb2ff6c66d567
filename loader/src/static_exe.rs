//! A fully static host has no shared C library and its dynamic symbol table (if any) exports
//! nothing: plugins' imports are then resolved from the executable's own `.symtab`, read from
//! its file and relocated by its load bias.

use std::collections::HashMap;
use std::sync::OnceLock;

use goblin::elf::section_header::{SHT_STRTAB, SHT_SYMTAB};
use goblin::elf::sym as s;

use crate::read;
use crate::symbols::{Sym, STT_GNU_IFUNC, SYM_SIZE};

/// Global definitions of the static executable: name → symbol (value not yet biased).
#[derive(Debug, Default)]
pub struct ExeSymbols {
    /// The executable's load bias.
    pub bias: u64,
    syms: HashMap<Vec<u8>, Sym>,
}

impl ExeSymbols {
    /// The definition of `name`, as (run-time address, symbol).
    pub fn get(&self, name: &[u8]) -> Option<(u64, Sym)> {
        let sym = *self.syms.get(name)?;
        Some((sym.address(self.bias), sym))
    }

    /// Number of definitions.
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }
}

/// The executable's symbols, read once (`None` when the file has no `.symtab`).
pub fn symbols(bias: u64) -> Option<&'static ExeSymbols> {
    static EXE: OnceLock<Option<ExeSymbols>> = OnceLock::new();
    crate::fork::once(&EXE, || {
        let bytes = std::fs::read(crate::os::executable_file()?).ok()?;
        let syms = parse(&bytes)?;
        Some(ExeSymbols { bias, syms })
    })
    .as_ref()
}

/// The global, weak and hidden definitions in `.symtab` of an ELF64 little-endian file.
pub fn parse(b: &[u8]) -> Option<HashMap<Vec<u8>, Sym>> {
    let shoff = read::u64_at(b, 0x28)?;
    let shentsize = u64::from(read::u16_at(b, 0x3a)?);
    let shnum = u64::from(read::u16_at(b, 0x3c)?);
    if shentsize != 64 {
        return None;
    }
    let section = |i: u64| -> Option<(u32, u64, u64, u32)> {
        let h = read::slice_at(b, shoff.checked_add(i.checked_mul(64)?)?, 64)?;
        Some((
            read::u32_at(h, 4)?,
            read::u64_at(h, 0x18)?,
            read::u64_at(h, 0x20)?,
            read::u32_at(h, 0x28)?,
        ))
    };
    let (symoff, symsize, link) = (0..shnum).find_map(|i| {
        let (t, off, size, link) = section(i)?;
        (t == SHT_SYMTAB).then_some((off, size, link))
    })?;
    let (t, stroff, strsize, _) = section(u64::from(link))?;
    if t != SHT_STRTAB {
        return None;
    }
    let strtab = read::slice_at(b, stroff, strsize)?;
    let table = read::slice_at(b, symoff, symsize)?;
    let mut out: HashMap<Vec<u8>, (u8, Sym)> = HashMap::new();
    let mut off = 0;
    while let Some(e) = read::slice_at(table, off, SYM_SIZE) {
        off += SYM_SIZE;
        let sym = Sym::read(e)?;
        let kind_ok = matches!(
            sym.kind(),
            s::STT_FUNC | s::STT_OBJECT | s::STT_TLS | STT_GNU_IFUNC | s::STT_NOTYPE
        );
        // The static link turns hidden globals (much of static libc: malloc, strlen, ...) into
        // local symbols with hidden visibility; their names are still unique in the program.
        // Plain locals (file-static functions) are not: they are skipped.
        let rank = match (sym.bind(), sym.visibility()) {
            (s::STB_GLOBAL, _) => 3,
            (s::STB_WEAK, _) => 2,
            (s::STB_LOCAL, s::STV_HIDDEN) => 1,
            _ => 0,
        };
        if !sym.is_defined() || rank == 0 || !kind_ok {
            continue;
        }
        let Some(name) = read::cstr_at(strtab, u64::from(sym.name)) else {
            continue;
        };
        let old_rank = out.get(name).map_or(0, |(r, _)| *r);
        if rank > old_rank {
            out.insert(name.to_vec(), (rank, sym));
        }
    }
    Some(out.into_iter().map(|(k, (_, v))| (k, v)).collect())
}
