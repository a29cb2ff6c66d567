//! The load-command walk: every command bounds-checked (size, alignment, inside `sizeofcmds` and
//! the file) and the ones a loader needs decoded into [`Commands`].

use super::header::{Header, HEADER_SIZE};
use super::segments::{self, RawSegment};
use crate::macho_error::{MachOError, MalformedMachO, Result, UnsupportedMachO};
use crate::read::{cstr_at, slice_at, u32_at, u64_at};

pub(super) const LC_REQ_DYLD: u32 = 0x8000_0000;
const LC_SEGMENT: u32 = 0x1;
const LC_SYMTAB: u32 = 0x2;
const LC_DYSYMTAB: u32 = 0xb;
pub(super) const LC_LOAD_DYLIB: u32 = 0xc;
const LC_ID_DYLIB: u32 = 0xd;
pub(super) const LC_LOAD_WEAK_DYLIB: u32 = 0x18 | LC_REQ_DYLD;
pub(super) const LC_SEGMENT_64: u32 = 0x19;
const LC_ROUTINES_64: u32 = 0x1a;
const LC_RPATH: u32 = 0x1c | LC_REQ_DYLD;
pub(super) const LC_REEXPORT_DYLIB: u32 = 0x1f | LC_REQ_DYLD;
pub(super) const LC_LAZY_LOAD_DYLIB: u32 = 0x20;
pub(super) const LC_DYLD_INFO: u32 = 0x22;
pub(super) const LC_DYLD_INFO_ONLY: u32 = 0x22 | LC_REQ_DYLD;
pub(super) const LC_LOAD_UPWARD_DYLIB: u32 = 0x23 | LC_REQ_DYLD;
const LC_CODE_SIGNATURE: u32 = 0x1d;
pub(super) const LC_DYLD_EXPORTS_TRIE: u32 = 0x33 | LC_REQ_DYLD;
const LC_DYLD_CHAINED_FIXUPS: u32 = 0x34 | LC_REQ_DYLD;

/// The most load commands accepted.
const MAX_COMMANDS: u32 = 1 << 16;

/// A byte range of the file (in `__LINKEDIT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileRange {
    /// Offset in the file.
    pub offset: u64,
    /// Length in bytes.
    pub size: u64,
}

impl FileRange {
    /// The range's bytes (empty for an empty range); checked inside the file at parse time.
    pub fn bytes<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        slice_at(file, self.offset, self.size).unwrap_or_default()
    }
}

/// How a dependency is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DylibKind {
    /// `LC_LOAD_DYLIB`.
    Load,
    /// `LC_LOAD_WEAK_DYLIB`: may be missing (its symbols are then 0).
    Weak,
    /// `LC_REEXPORT_DYLIB`: its exports are this image's too.
    Reexport,
    /// `LC_LAZY_LOAD_DYLIB`.
    LazyLoad,
    /// `LC_LOAD_UPWARD_DYLIB`.
    Upward,
}

/// A dependency, in ordinal order (the first is ordinal 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dylib {
    /// Its install name (`@rpath/libfoo.dylib`, `/usr/lib/libSystem.B.dylib`).
    pub name: String,
    /// How it is loaded.
    pub kind: DylibKind,
}

/// `LC_DYLD_INFO(_ONLY)`: the opcode streams and the export trie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DyldInfo {
    /// Rebase opcodes.
    pub rebase: FileRange,
    /// Bind opcodes.
    pub bind: FileRange,
    /// Weak-bind opcodes.
    pub weak_bind: FileRange,
    /// Lazy-bind opcodes.
    pub lazy_bind: FileRange,
    /// The export trie.
    pub export: FileRange,
}

/// `LC_SYMTAB`: the nlist symbols and their strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symtab {
    /// The `nlist_64` array.
    pub symbols: FileRange,
    /// The number of symbols.
    pub count: u32,
    /// The string table.
    pub strings: FileRange,
}

/// `LC_DYSYMTAB`: the partition of the symbols and the indirect symbol table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dysymtab {
    /// Index and count of the external definitions.
    pub extdef: (u32, u32),
    /// Index and count of the undefined symbols.
    pub undef: (u32, u32),
    /// The indirect symbol table (u32 symbol indexes).
    pub indirect: FileRange,
}

/// What the load commands say, decoded and checked.
#[derive(Default)]
pub(crate) struct Commands {
    pub(crate) segments: Vec<RawSegment>,
    pub(crate) id: Option<String>,
    pub(crate) dylibs: Vec<Dylib>,
    pub(crate) rpaths: Vec<String>,
    pub(crate) routines: Option<u64>,
    pub(crate) dyld_info: Option<DyldInfo>,
    pub(crate) chained_fixups: Option<FileRange>,
    pub(crate) exports_trie: Option<FileRange>,
    pub(crate) code_signature: Option<FileRange>,
    pub(crate) symtab: Option<Symtab>,
    pub(crate) dysymtab: Option<Dysymtab>,
}

/// One load command's place, for errors.
struct At {
    index: u32,
    cmd: u32,
}

impl At {
    fn bad(&self, why: &'static str) -> MachOError {
        MalformedMachO::BadLoadCommand {
            index: self.index,
            cmd: self.cmd,
            why,
        }
        .into()
    }
}

/// Walks the load commands after `header`.
pub(crate) fn walk(bytes: &[u8], header: &Header) -> Result<Commands> {
    let size = u64::from(header.sizeofcmds);
    let region = slice_at(bytes, HEADER_SIZE, size).ok_or(crate::macho_error::oob(
        "load commands",
        HEADER_SIZE,
        size,
    ))?;
    if header.ncmds > MAX_COMMANDS {
        return Err(MalformedMachO::TooMany {
            what: "load command",
            count: header.ncmds.into(),
        }
        .into());
    }
    let mut out = Commands::default();
    let mut pos = 0u64;
    for index in 0..header.ncmds {
        let head = |o| u32_at(region, pos + o);
        let (Some(cmd), Some(cmdsize)) = (head(0), head(4)) else {
            return Err(crate::macho_error::oob(
                "load command",
                HEADER_SIZE + pos,
                8,
            ));
        };
        let at = At { index, cmd };
        if cmdsize < 8 || cmdsize % 8 != 0 {
            return Err(at.bad("cmdsize is not a non-zero multiple of 8"));
        }
        let body =
            slice_at(region, pos, cmdsize.into()).ok_or_else(|| at.bad("runs past sizeofcmds"))?;
        decode(&mut out, &at, body, bytes.len() as u64)?;
        pos += u64::from(cmdsize);
    }
    Ok(out)
}

/// Sets `slot`, which a command may set once.
fn once<T>(slot: &mut Option<T>, value: T, cmd: u32) -> Result<()> {
    if slot.replace(value).is_some() {
        return Err(MalformedMachO::DuplicateCommand { cmd }.into());
    }
    Ok(())
}

/// Decodes one command into `out`.
fn decode(out: &mut Commands, at: &At, cmd: &[u8], file_len: u64) -> Result<()> {
    let u32f = |o| u32_at(cmd, o).ok_or_else(|| at.bad("too short"));
    let range = |o| -> Result<FileRange> {
        let (offset, size) = (u64::from(u32f(o)?), u64::from(u32f(o + 4)?));
        Ok(FileRange { offset, size })
    };
    match at.cmd {
        LC_SEGMENT_64 => out.segments.push(segments::parse_segment(cmd, file_len)?),
        LC_SEGMENT => return Err(UnsupportedMachO::Bits32.into()),
        LC_ID_DYLIB => once(&mut out.id, lc_str(cmd, at, 24)?, at.cmd)?,
        LC_LOAD_DYLIB | LC_LOAD_WEAK_DYLIB | LC_REEXPORT_DYLIB | LC_LAZY_LOAD_DYLIB
        | LC_LOAD_UPWARD_DYLIB => {
            let kind = match at.cmd {
                LC_LOAD_DYLIB => DylibKind::Load,
                LC_LOAD_WEAK_DYLIB => DylibKind::Weak,
                LC_REEXPORT_DYLIB => DylibKind::Reexport,
                LC_LAZY_LOAD_DYLIB => DylibKind::LazyLoad,
                _ => DylibKind::Upward,
            };
            let name = lc_str(cmd, at, 24)?;
            out.dylibs.push(Dylib { name, kind });
        }
        LC_RPATH => out.rpaths.push(lc_str(cmd, at, 12)?),
        LC_ROUTINES_64 => {
            let init = u64_at(cmd, 8).ok_or_else(|| at.bad("too short"))?;
            once(&mut out.routines, init, at.cmd)?;
        }
        LC_DYLD_INFO | LC_DYLD_INFO_ONLY => {
            let info = DyldInfo {
                rebase: range(8)?,
                bind: range(16)?,
                weak_bind: range(24)?,
                lazy_bind: range(32)?,
                export: range(40)?,
            };
            once(&mut out.dyld_info, info, at.cmd)?;
        }
        LC_DYLD_CHAINED_FIXUPS => once(&mut out.chained_fixups, range(8)?, at.cmd)?,
        LC_DYLD_EXPORTS_TRIE => once(&mut out.exports_trie, range(8)?, at.cmd)?,
        LC_CODE_SIGNATURE => once(&mut out.code_signature, range(8)?, at.cmd)?,
        LC_SYMTAB => {
            let (symoff, nsyms) = (u64::from(u32f(8)?), u32f(12)?);
            let symtab = Symtab {
                symbols: FileRange {
                    offset: symoff,
                    size: u64::from(nsyms) * 16,
                },
                count: nsyms,
                strings: range(16)?,
            };
            once(&mut out.symtab, symtab, at.cmd)?;
        }
        LC_DYSYMTAB => {
            let dysymtab = Dysymtab {
                extdef: (u32f(16)?, u32f(20)?),
                undef: (u32f(24)?, u32f(28)?),
                indirect: FileRange {
                    offset: u64::from(u32f(56)?),
                    size: u64::from(u32f(60)?) * 4,
                },
            };
            once(&mut out.dysymtab, dysymtab, at.cmd)?;
        }
        c if c & LC_REQ_DYLD != 0 => {
            return Err(UnsupportedMachO::RequiredCommand { cmd: c }.into())
        }
        _ => {}
    }
    Ok(())
}

/// The `lc_str` whose offset is the u32 at 8: a NUL-terminated UTF-8 string inside the command,
/// after its `fixed` part.
fn lc_str(cmd: &[u8], at: &At, fixed: u64) -> Result<String> {
    let off = u32_at(cmd, 8).ok_or_else(|| at.bad("too short"))?;
    if u64::from(off) < fixed {
        return Err(at.bad("string offset inside the command's fixed part"));
    }
    let raw =
        cstr_at(cmd, off.into()).ok_or_else(|| at.bad("string not terminated in the command"))?;
    let s = core::str::from_utf8(raw).map_err(|_| at.bad("string is not UTF-8"))?;
    Ok(s.to_string())
}
