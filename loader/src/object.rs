//! An object parsed and validated from its bytes: nothing mapped, nothing run.

use dynplug_arch::Machine;

use crate::elf::dynamic::Dynamic;
use crate::elf::header;
use crate::elf::layout::Layout;
use crate::elf::records::SYM_SIZE;
use crate::elf::view::View;
use crate::error::{LoadError, Malformed};
use crate::map::Mapping;
use crate::read;
use crate::symbols::{GnuHash, Hash, SymTab, SysvHash, Versions};

/// Most symbols accepted in one object.
const MAX_SYMBOLS: u64 = 1 << 24;

/// An ELF shared object whose headers, dynamic section and symbol tables passed every check.
#[derive(Debug)]
pub struct Object<B> {
    bytes: B,
    /// The machine it is for.
    pub machine: Machine,
    /// Whose convention its IFUNC resolvers are called with (from its OS ABI).
    pub ifunc_call: crate::abi::IfuncCall,
    /// Its segments.
    pub layout: Layout,
    /// Its dynamic section.
    pub dynamic: Dynamic,
    /// Number of dynamic symbols.
    pub nsyms: u64,
    /// `e_phoff`.
    pub phoff: u64,
    /// `e_phnum`.
    pub phnum: u16,
    /// The image, once mapped: its tables are then read from the mapping, not the file.
    mapping: Option<Mapping>,
    /// The bias of a mapping kept for the rest of the process.
    leaked: Option<u64>,
    /// The VERDEF names by index, as (offset, length) in the string table: read (and checked)
    /// once, so later symbol tables of the object skip the chain walk.
    def_names: Option<Vec<Option<(u32, u32)>>>,
}

impl<B: AsRef<[u8]>> Object<B> {
    /// Parses and validates `bytes`. `want`: the machine required (`None`: any known machine).
    pub fn parse(bytes: B, want: Option<Machine>, page: u64) -> Result<Box<Object<B>>, LoadError> {
        let len = bytes.as_ref().len() as u64;
        Self::parse_with(
            bytes,
            len,
            want,
            page,
            None::<fn(&Layout) -> Result<Mapping, LoadError>>,
        )
    }

    /// Parses the ELF and program headers from `head` (the first bytes of a file of `file_len`
    /// bytes, through the program headers), maps the image with `map`, and reads every other
    /// table through the mapping: the file is never mapped or read a second time.
    pub fn parse_mapped(
        head: B,
        file_len: u64,
        want: Option<Machine>,
        page: u64,
        map: impl FnOnce(&Layout) -> Result<Mapping, LoadError>,
    ) -> Result<Box<Object<B>>, LoadError> {
        Self::parse_with(head, file_len, want, page, Some(map))
    }

    fn parse_with(
        bytes: B,
        file_len: u64,
        want: Option<Machine>,
        page: u64,
        map: Option<impl FnOnce(&Layout) -> Result<Mapping, LoadError>>,
    ) -> Result<Box<Object<B>>, LoadError> {
        let h = header::parse(bytes.as_ref(), want)?;
        let layout = Layout::new(&h.phdrs, file_len, page)?;
        let mapping = match map {
            Some(map) => Some(map(&layout)?),
            None => None,
        };
        let phnum = u16::try_from(h.phdrs.len()).unwrap_or(u16::MAX);
        // Built on the heap: an object is large, and returned by value it was copied through
        // every frame of the open path.
        let mut obj = Box::new(Object {
            bytes,
            machine: h.machine,
            ifunc_call: crate::abi::IfuncCall::of_os_abi(h.os_abi),
            layout,
            dynamic: Dynamic::default(),
            nsyms: 0,
            phoff: h.phoff,
            phnum,
            mapping,
            leaked: None,
            def_names: None,
        });
        obj.dynamic = Dynamic::parse(&obj.view(), &obj.layout)?;
        obj.nsyms = obj.count_symbols()?;
        obj.validate_tables()?;
        Ok(obj)
    }

    /// The mapping, if the object was parsed with [`Object::parse_mapped`].
    pub fn mapping(&self) -> Option<&Mapping> {
        self.mapping.as_ref()
    }

    /// Keeps the image mapped for the rest of the process; returns its bias.
    pub fn leak_mapping(&mut self) -> Option<u64> {
        let bias = self.mapping.as_ref()?.bias;
        // The view of a leaked mapping stays valid: keep reading through it.
        std::mem::forget(self.mapping.take());
        self.leaked = Some(bias);
        Some(bias)
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// The object's bytes at link-time addresses: from the mapping once mapped, else the file.
    pub fn view(&self) -> View<'_> {
        match self.mapping.as_ref().map(|m| m.bias).or(self.leaked) {
            // SAFETY: the mapping is owned by this object (or leaked), so it outlives the view,
            // and View reads only the file-backed parts of PF_R segments, which are mapped
            // readable.
            Some(bias) => unsafe { View::mapped(bias, &self.layout.loads) },
            None => View::new(self.bytes.as_ref(), &self.layout.loads),
        }
    }

    /// The string table.
    pub fn strtab(&self) -> &[u8] {
        strtab_in(self.view(), &self.dynamic)
    }

    /// String at `off` in the string table.
    pub fn string(&self, off: u64) -> Result<&[u8], Malformed> {
        read::cstr_at(self.strtab(), off).ok_or(Malformed::StringOutOfRange { offset: off })
    }

    /// The dynamic symbol table.
    pub fn symtab(&self) -> Result<SymTab<'_>, Malformed> {
        symtab_in(
            self.view(),
            &self.dynamic,
            self.nsyms,
            self.def_names.as_deref(),
        )
    }

    /// The VERDEF names by index as string-table (offset, length), once validated.
    pub fn def_names(&self) -> Option<&[Option<(u32, u32)>]> {
        self.def_names.as_deref()
    }

    /// Version names the object's imports ask for, by version index (VERNEED).
    pub fn references(&self) -> Result<Versions<'_>, Malformed> {
        references_in(self.view(), &self.dynamic)
    }

    /// The DT_NEEDED names.
    pub fn needed(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.dynamic
            .needed
            .iter()
            .filter_map(|&n| self.string(n).ok())
    }

    fn count_symbols(&self) -> Result<u64, LoadError> {
        let view = self.view();
        let mut n = 0u64;
        if let Some(a) = self.dynamic.gnu_hash {
            let h = GnuHash::parse(view.rest(a).unwrap_or(&[]))
                .map_err(|what| Malformed::BadHashTable { table: "GNU", what })?;
            let count = h
                .symbol_count()
                .map_err(|what| Malformed::BadHashTable { table: "GNU", what })?;
            n = n.max(count);
            if self.dynamic.hash.is_none() && count == u64::from(h.symoffset()) {
                // Nothing hashed (an object that only imports): the table runs at least to the
                // last symbol a relocation names, which glibc reads as well.
                n = n.max(self.last_symbol_named().saturating_add(1));
            }
        }
        if let Some(a) = self.dynamic.hash {
            let h = SysvHash::parse(view.rest(a).unwrap_or(&[])).map_err(|what| {
                Malformed::BadHashTable {
                    table: "SysV",
                    what,
                }
            })?;
            n = n.max(h.symbol_count());
        }
        if n > MAX_SYMBOLS {
            return Err(Malformed::TooMany {
                what: "symbol",
                count: n,
            }
            .into());
        }
        let size = n.saturating_mul(SYM_SIZE);
        if view.slice(self.dynamic.symtab, size).is_none() {
            return Err(Malformed::AddressOutsideImage {
                tag: "DT_SYMTAB",
                addr: self.dynamic.symtab,
                size,
            }
            .into());
        }
        Ok(n)
    }

    /// The highest symbol index a DT_RELA or DT_JMPREL entry names (0: none); tables outside
    /// the image are skipped here (`Dynamic::parse` refused them).
    fn last_symbol_named(&self) -> u64 {
        let view = self.view();
        [self.dynamic.rela, self.dynamic.jmprel]
            .into_iter()
            .flatten()
            .filter_map(|t| view.slice(t.addr, t.size))
            .flat_map(|b| b.chunks_exact(SYM_SIZE as usize))
            .filter_map(|e| read::u64_at(e, 8))
            .map(|info| info >> 32)
            .max()
            .unwrap_or(0)
    }

    fn validate_tables(&mut self) -> Result<(), LoadError> {
        let tab = self.symtab()?;
        let def_names = tab.defs.offsets(tab.strtab);
        let refs = self.references()?;
        if let Some(v) = self.dynamic.versym {
            let Some(table) = self.view().slice(v, self.nsyms.saturating_mul(2)) else {
                return Err(Malformed::AddressOutsideImage {
                    tag: "DT_VERSYM",
                    addr: v,
                    size: self.nsyms * 2,
                }
                .into());
            };
            // Which indices name a version (0 and 1 always do: local and global), worked out
            // once, so the scan of every symbol's entry is one table look-up each: the table
            // on the stack for the usual few indices, on the heap past them.
            let max = tab.defs.max_index().max(refs.max_index()).max(1);
            let (mut few, mut many) = ([false; 128], Vec::new());
            let named: &mut [bool] = match few.get_mut(..=usize::from(max)) {
                Some(few) => few,
                None => {
                    many.resize(usize::from(max) + 1, false);
                    &mut many
                }
            };
            for (n, slot) in (0..=max).zip(named.iter_mut()) {
                *slot = n <= 1 || tab.defs.name(n).is_some() || refs.name(n).is_some();
            }
            for e in table.chunks_exact(2) {
                let ndx = read::u16_at(e, 0).unwrap_or(0) & 0x7fff;
                if !named.get(usize::from(ndx)).copied().unwrap_or(false) {
                    return Err(Malformed::BadVersion {
                        what: "version index out of range",
                        value: ndx.into(),
                    }
                    .into());
                }
            }
        }
        for &n in &self.dynamic.needed {
            self.string(n)?;
        }
        if let Some(s) = self.dynamic.soname {
            let soname = self.string(s)?;
            if let Some(&n) = self
                .dynamic
                .needed
                .iter()
                .find(|&&n| self.string(n).ok() == Some(soname))
            {
                let name = String::from_utf8_lossy(self.string(n)?).into_owned();
                return Err(Malformed::NeedsItself { name }.into());
            }
        }
        self.def_names = def_names;
        Ok(())
    }
}

/// The string table seen through `view`.
fn strtab_in<'a>(view: View<'a>, dynamic: &Dynamic) -> &'a [u8] {
    // Checked in Dynamic::parse.
    view.slice(dynamic.strtab.addr, dynamic.strtab.size)
        .unwrap_or(&[])
}

/// The hash table seen through `view`.
fn hash_in<'a>(view: View<'a>, dynamic: &Dynamic) -> Result<Hash<'a>, Malformed> {
    if let Some(a) = dynamic.gnu_hash {
        let b = view.rest(a).unwrap_or(&[]);
        return GnuHash::parse(b)
            .map(Hash::Gnu)
            .map_err(|what| Malformed::BadHashTable { table: "GNU", what });
    }
    let b = view.rest(dynamic.hash.unwrap_or(0)).unwrap_or(&[]);
    SysvHash::parse(b)
        .map(Hash::Sysv)
        .map_err(|what| Malformed::BadHashTable {
            table: "SysV",
            what,
        })
}

/// The dynamic symbol table of an object with `nsyms` symbols, seen through `view` (the file's
/// bytes, or the mapped image).
pub fn symtab_in<'a>(
    view: View<'a>,
    dynamic: &Dynamic,
    nsyms: u64,
    def_names: Option<&[Option<(u32, u32)>]>,
) -> Result<SymTab<'a>, Malformed> {
    let strtab = strtab_in(view, dynamic);
    let syms = view
        .slice(dynamic.symtab, nsyms.saturating_mul(SYM_SIZE))
        .unwrap_or(&[]);
    let versym = dynamic
        .versym
        .map(|a| view.slice(a, nsyms.saturating_mul(2)).unwrap_or(&[]));
    let defs = match (dynamic.verdef, def_names) {
        (Some(_), Some(names)) => Versions::from_offsets(strtab, names),
        (Some((a, n)), None) => Versions::from_verdef(view.rest(a).unwrap_or(&[]), n, strtab)
            .map_err(|(what, value)| Malformed::BadVersion { what, value })?,
        (None, _) => Versions::default(),
    };
    Ok(SymTab {
        syms,
        strtab,
        hash: hash_in(view, dynamic)?,
        versym,
        defs,
    })
}

/// Version names an object's imports ask for, by version index (VERNEED).
fn references_in<'a>(view: View<'a>, dynamic: &Dynamic) -> Result<Versions<'a>, Malformed> {
    match dynamic.verneed {
        Some((a, n)) => {
            Versions::from_verneed(view.rest(a).unwrap_or(&[]), n, strtab_in(view, dynamic))
                .map_err(|(what, value)| Malformed::BadVersion { what, value })
        }
        None => Ok(Versions::default()),
    }
}
