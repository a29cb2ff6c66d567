//! The small ELF file a debugger is handed for a module dynplug mapped (see `debugger.rs`).
//!
//! gdb's JIT reader takes every section address of an in-memory ELF as absolute, so the stub
//! carries the module's allocated section headers moved to their run-time addresses (as
//! `SHT_NOBITS`: no contents), its symbol table with run-time values, and, when the file has
//! DWARF, a `.gnu_debuglink` naming the file by absolute path. gdb then reads the file as the
//! stub's separate debug file, giving each of its sections the offset between the stub's address
//! and the file's (the load bias): line tables, variables and frames come from the real file.

use std::borrow::Cow;
use std::os::unix::fs::FileExt;

use crate::elf::view::View;
use crate::read;

const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOTE: u32 = 7;
const SHT_NOBITS: u32 = 8;
const SHT_DYNSYM: u32 = 11;
const SHF_ALLOC: u64 = 2;
const SHN_LORESERVE: u16 = 0xff00;
const STT_FUNC: u8 = 2;
const STT_TLS: u8 = 6;
const STT_GNU_IFUNC: u8 = 10;
const SHDR_SIZE: usize = 64;
use crate::elf::records::SYM_SIZE;

/// One section header of the file.
#[derive(Clone, Copy, Default)]
struct Shdr {
    name: u32,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

impl Shdr {
    fn read(b: &[u8], off: u64) -> Option<Shdr> {
        let h = read::slice_at(b, off, SHDR_SIZE as u64)?;
        Some(Shdr {
            name: read::u32_at(h, 0)?,
            kind: read::u32_at(h, 4)?,
            flags: read::u64_at(h, 8)?,
            addr: read::u64_at(h, 16)?,
            offset: read::u64_at(h, 24)?,
            size: read::u64_at(h, 32)?,
            link: read::u32_at(h, 40)?,
            info: read::u32_at(h, 44)?,
            align: read::u64_at(h, 48)?,
            entsize: read::u64_at(h, 56)?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.name.to_le_bytes());
        out.extend_from_slice(&self.kind.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.addr.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.link.to_le_bytes());
        out.extend_from_slice(&self.info.to_le_bytes());
        out.extend_from_slice(&self.align.to_le_bytes());
        out.extend_from_slice(&self.entsize.to_le_bytes());
    }
}

/// Where a module's bytes are read from.
pub enum Source<'a> {
    /// The whole file in memory (or the bytes a plugin was opened from).
    Bytes(&'a [u8]),
    /// The file on disk (`len` bytes), read piecewise, and its mapped image, where allocated
    /// sections (`.dynsym`, `.dynstr`, notes) are read without touching the file again.
    File {
        /// The open file.
        file: &'a std::fs::File,
        /// Its length.
        len: u64,
        /// The image, mapped.
        image: View<'a>,
    },
}

impl Source<'_> {
    /// `len` bytes at file offset `off`, if inside the file.
    fn read(&self, off: u64, len: u64) -> Option<Cow<'_, [u8]>> {
        match self {
            Source::Bytes(b) => read::slice_at(b, off, len).map(Cow::Borrowed),
            Source::File {
                file, len: size, ..
            } => {
                if off.checked_add(len)? > *size {
                    return None;
                }
                let mut buf = vec![0; usize::try_from(len).ok()?];
                file.read_exact_at(&mut buf, off).ok()?;
                Some(Cow::Owned(buf))
            }
        }
    }

    /// A section's bytes (none for `SHT_NOBITS`).
    fn section(&self, h: &Shdr) -> Option<Cow<'_, [u8]>> {
        if h.kind == SHT_NOBITS {
            return Some(Cow::Borrowed(&[]));
        }
        if let Source::File { image, .. } = self {
            if h.flags & SHF_ALLOC != 0 {
                return image.slice(h.addr, h.size).map(Cow::Borrowed);
            }
        }
        self.read(h.offset, h.size)
    }

    /// CRC-32 of the whole file.
    fn crc32(&self) -> Option<u32> {
        match self {
            Source::Bytes(b) => Some(crc32(b)),
            Source::File { file, .. } => crate::file::FileBytes::new(file)
                .ok()
                .map(|m| crc32(m.as_ref())),
        }
    }
}

/// The file's section headers and section-name table, if well formed.
fn sections<'s>(src: &'s Source<'_>) -> Option<(Vec<Shdr>, Cow<'s, [u8]>)> {
    let head = src.read(0, 64)?;
    let shoff = read::u64_at(&head, 0x28)?;
    let entsize = read::u16_at(&head, 0x3a)?;
    let count = read::u16_at(&head, 0x3c)?;
    let names = read::u16_at(&head, 0x3e)?;
    if usize::from(entsize) != SHDR_SIZE || count == 0 || count >= SHN_LORESERVE {
        return None;
    }
    let table = src.read(shoff, u64::from(count) * SHDR_SIZE as u64)?;
    let headers = (0..u64::from(count))
        .map(|i| Shdr::read(&table, i * SHDR_SIZE as u64))
        .collect::<Option<Vec<_>>>()?;
    let shstrtab = src.section(headers.get(usize::from(names))?)?;
    Some((headers, shstrtab))
}

/// A module's symbol table, as in the file.
struct SymbolTable<'s> {
    header: Shdr,
    syms: Cow<'s, [u8]>,
    strings: Cow<'s, [u8]>,
}

/// The module's `.symtab`, else its `.dynsym`.
fn symbol_table<'s>(src: &'s Source<'_>, headers: &[Shdr]) -> Option<SymbolTable<'s>> {
    let tab = headers
        .iter()
        .find(|h| h.kind == SHT_SYMTAB)
        .or_else(|| headers.iter().find(|h| h.kind == SHT_DYNSYM))?;
    let strings = src.section(headers.get(usize::try_from(tab.link).ok()?)?)?;
    Some(SymbolTable {
        header: *tab,
        syms: src.section(tab)?,
        strings,
    })
}

/// Adds `bias` to the value of every symbol in `syms` defined in a section (not TLS offsets).
fn rebase(syms: &mut [u8], bias: u64) {
    for s in syms.chunks_exact_mut(SYM_SIZE as usize) {
        let (Some(&info), Some(shndx), Some(value)) =
            (s.get(4), read::u16_at(s, 6), read::u64_at(s, 8))
        else {
            continue;
        };
        if shndx != 0 && shndx < SHN_LORESERVE && info & 0xf != STT_TLS {
            if let Some(v) = s.get_mut(8..16) {
                v.copy_from_slice(&value.wrapping_add(bias).to_le_bytes());
            }
        }
    }
}

/// The function symbols of a module mapped at `bias`: (run-time address, size, name), for a
/// profiler's map. Empty if the module has no symbol table.
pub fn functions(src: &Source<'_>, bias: u64) -> Vec<(u64, u64, Vec<u8>)> {
    let Some((headers, _)) = sections(src) else {
        return Vec::new();
    };
    let Some(SymbolTable { syms, strings, .. }) = symbol_table(src, &headers) else {
        return Vec::new();
    };
    syms.chunks_exact(SYM_SIZE as usize)
        .filter_map(|s| {
            let name = read::u32_at(s, 0)?;
            let info = *s.get(4)?;
            let shndx = read::u16_at(s, 6)?;
            let (value, size) = (read::u64_at(s, 8)?, read::u64_at(s, 16)?);
            let is_code = info & 0xf == STT_FUNC || info & 0xf == STT_GNU_IFUNC;
            let defined = shndx != 0 && shndx < SHN_LORESERVE;
            let name = read::cstr_at(&strings, u64::from(name))?;
            (is_code && defined && size != 0 && !name.is_empty())
                .then(|| (value.wrapping_add(bias), size, name.to_vec()))
        })
        .collect()
}

/// True if the file carries DWARF (what a `.gnu_debuglink` to it is for).
fn has_dwarf(headers: &[Shdr], shstrtab: &[u8]) -> bool {
    headers.iter().any(|h| {
        let name = read::cstr_at(shstrtab, u64::from(h.name)).unwrap_or_default();
        name == b".debug_info" || name == b".zdebug_info"
    })
}

/// The stub's contents, placed one after another (8-aligned) after the ELF header, in the
/// one buffer the stub is built in.
struct Builder {
    out: Vec<u8>,
    headers: Vec<Shdr>,
}

impl Builder {
    /// Appends `bytes`; their file offset.
    fn place(&mut self, bytes: &[u8]) -> u64 {
        while self.out.len() % 8 != 0 {
            self.out.push(0);
        }
        let at = self.out.len() as u64;
        self.out.extend_from_slice(bytes);
        at
    }
}

/// The stub ELF for a module mapped at `bias`. `path`: the file on disk, named by the stub's
/// `.gnu_debuglink` when the file has DWARF (none for a module from memory). `None` if the
/// file's section headers are missing or malformed.
pub fn stub(src: &Source<'_>, bias: u64, path: Option<&[u8]>) -> Option<Vec<u8>> {
    let (headers, shstrtab) = sections(src)?;
    let symbols = symbol_table(src, &headers);
    let link = match path {
        Some(p) if has_dwarf(&headers, &shstrtab) => Some(debuglink(p, src.crc32()?)),
        _ => None,
    };
    let mut names = vec![0u8];
    let mut name = |n: &[u8]| {
        let at = u32::try_from(names.len()).unwrap_or(0);
        names.extend_from_slice(n);
        names.push(0);
        at
    };
    let section_names: Vec<u32> = headers
        .iter()
        .map(|h| name(read::cstr_at(&shstrtab, u64::from(h.name)).unwrap_or_default()))
        .collect();
    let (sym_name, str_name, link_name) =
        (name(b".symtab"), name(b".strtab"), name(b".gnu_debuglink"));
    let names_name = name(b".shstrtab");
    let sizes = symbols
        .as_ref()
        .map_or(0, |t| t.syms.len() + t.strings.len());
    let capacity = 64
        + sizes
        + link.as_ref().map_or(0, Vec::len)
        + names.len()
        + (headers.len() + 4) * (SHDR_SIZE + 8);
    let mut b = Builder {
        out: Vec::with_capacity(capacity),
        headers: vec![Shdr::default()],
    };
    b.out.resize(64, 0);
    // The file's sections, index for index: allocated ones at their run-time address (notes
    // with their contents, so gdb sees a build-id), the others blanked.
    for (h, &n) in headers.iter().zip(&section_names).skip(1) {
        if h.flags & SHF_ALLOC == 0 {
            b.headers.push(Shdr::default());
            continue;
        }
        let mut s = Shdr {
            name: n,
            addr: h.addr.wrapping_add(bias),
            link: 0,
            info: 0,
            ..*h
        };
        match src.section(h) {
            Some(bytes) if h.kind == SHT_NOTE => s.offset = b.place(&bytes),
            _ => s.kind = SHT_NOBITS,
        }
        b.headers.push(s);
    }
    if let Some(SymbolTable {
        header: tab,
        syms,
        strings,
    }) = symbols
    {
        let strtab_index = u32::try_from(b.headers.len() + 1).ok()?;
        let at = b.place(&syms);
        rebase(b.out.get_mut(usize::try_from(at).ok()?..)?, bias);
        b.headers.push(Shdr {
            name: sym_name,
            kind: SHT_SYMTAB,
            offset: at,
            size: syms.len() as u64,
            link: strtab_index,
            info: tab.info,
            align: 8,
            entsize: SYM_SIZE,
            ..Shdr::default()
        });
        let at = b.place(&strings);
        b.headers.push(Shdr {
            name: str_name,
            kind: SHT_STRTAB,
            offset: at,
            size: strings.len() as u64,
            align: 1,
            ..Shdr::default()
        });
    }
    if let Some(link) = link {
        let at = b.place(&link);
        b.headers.push(Shdr {
            name: link_name,
            kind: SHT_PROGBITS,
            offset: at,
            size: link.len() as u64,
            align: 4,
            ..Shdr::default()
        });
    }
    let names_index = u16::try_from(b.headers.len()).ok()?;
    let at = b.place(&names);
    b.headers.push(Shdr {
        name: names_name,
        kind: SHT_STRTAB,
        offset: at,
        size: names.len() as u64,
        align: 1,
        ..Shdr::default()
    });
    let count = u16::try_from(b.headers.len()).ok()?;
    let shoff = b.place(&[]);
    let Builder { mut out, headers } = b;
    for h in &headers {
        h.write(&mut out);
    }
    let head = header(&src.read(0, 64)?, shoff, count, names_index)?;
    out.get_mut(..64)?.copy_from_slice(&head);
    Some(out)
}

/// The stub's ELF header: the file's identification and machine, no program headers.
fn header(head: &[u8], shoff: u64, count: u16, names: u16) -> Option<Vec<u8>> {
    let mut h = read::slice_at(head, 0, 64)?.to_vec();
    h.get_mut(0x20..0x28)?.copy_from_slice(&0u64.to_le_bytes()); // e_phoff
    h.get_mut(0x28..0x30)?.copy_from_slice(&shoff.to_le_bytes());
    h.get_mut(0x36..0x38)?.copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    h.get_mut(0x38..0x3a)?.copy_from_slice(&0u16.to_le_bytes()); // e_phnum
    h.get_mut(0x3a..0x3c)?
        .copy_from_slice(&(SHDR_SIZE as u16).to_le_bytes());
    h.get_mut(0x3c..0x3e)?.copy_from_slice(&count.to_le_bytes());
    h.get_mut(0x3e..0x40)?.copy_from_slice(&names.to_le_bytes());
    Some(h)
}

/// A `.gnu_debuglink` section: the file name, NUL, padding to 4, the file's CRC-32.
fn debuglink(path: &[u8], crc: u32) -> Vec<u8> {
    let mut v = path.to_vec();
    v.push(0);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

/// CRC-32 (IEEE, reflected: the one `.gnu_debuglink` records).
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    !bytes
        .iter()
        .fold(!0u32, |c, &b| TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn debuglink_pads_the_name_to_four_bytes() {
        assert_eq!(debuglink(b"/a", 1), b"/a\0\0\x01\0\0\0");
    }

    #[test]
    fn stub_of_no_elf_is_none() {
        assert!(stub(&Source::Bytes(b"not an elf"), 0, None).is_none());
        assert!(stub(&Source::Bytes(&[0u8; 64]), 0, None).is_none());
    }
}
