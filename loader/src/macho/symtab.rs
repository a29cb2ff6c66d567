//! The `LC_SYMTAB` nlist symbols (dyld's fallback when there is no trie; `inspect`; tests).

use super::MachO;
use crate::macho_error::{MalformedMachO, Result};
use crate::read::{cstr_at, slice_at, u16_at, u32_at, u64_at};

/// `N_EXT`: an external symbol.
pub const N_EXT: u8 = 0x01;
/// `N_TYPE` mask and `N_SECT`: defined in a section.
pub const N_TYPE: u8 = 0x0e;
/// Defined in a section (`n_type & N_TYPE`).
pub const N_SECT: u8 = 0x0e;
/// `N_STAB` mask: debugging entries.
pub const N_STAB: u8 = 0xe0;

/// One `nlist_64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// The name.
    pub name: &'a str,
    /// `n_type`.
    pub n_type: u8,
    /// `n_sect` (1-based section number, 0 for none).
    pub n_sect: u8,
    /// `n_desc`.
    pub n_desc: u16,
    /// `n_value` as in the file (an address for a defined symbol).
    pub n_value: u64,
}

impl Symbol<'_> {
    /// Whether this is an external symbol defined in a section (an export candidate).
    pub fn is_defined_external(&self) -> bool {
        self.n_type & N_STAB == 0 && self.n_type & N_TYPE == N_SECT && self.n_type & N_EXT != 0
    }
}

/// The symbol at `index`.
pub fn symbol<'a>(image: &MachO<'a>, index: u32) -> Result<Symbol<'a>> {
    let tab = image
        .symtab
        .ok_or(MalformedMachO::Missing { what: "LC_SYMTAB" })?;
    if index >= tab.count {
        return Err(crate::macho_error::oob("symbol", index.into(), 16));
    }
    let at = tab.symbols.offset + u64::from(index) * 16;
    let b = image.bytes;
    let e = slice_at(b, at, 16).ok_or(crate::macho_error::oob("symbol", at, 16))?;
    let (strx, n_value) = (u32_at(e, 0).unwrap_or(0), u64_at(e, 8).unwrap_or(0));
    let (n_type, n_sect, desc) = (e[4], e[5], u16_at(e, 6).unwrap_or(0));
    let strings = tab.strings.bytes(b);
    let bad = MalformedMachO::BadString {
        what: "symbol name",
        offset: strx.into(),
    };
    let raw = cstr_at(strings, strx.into()).ok_or(bad.clone())?;
    let name = core::str::from_utf8(raw).map_err(|_| bad)?;
    Ok(Symbol {
        name,
        n_type,
        n_sect,
        n_desc: desc,
        n_value,
    })
}

/// Every symbol, in table order.
pub fn symbols<'a, 'i>(image: &'i MachO<'a>) -> impl Iterator<Item = Result<Symbol<'a>>> + 'i {
    let count = image.symtab.map_or(0, |t| t.count);
    (0..count).map(move |i| symbol(image, i))
}
