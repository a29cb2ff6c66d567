//! The 64-bit Mach-O header: magic, CPU, file type. Everything else is refused with its reason.

use crate::macho_error::{MalformedMachO, Result, UnsupportedMachO};
use crate::read::u32_at;

/// `MH_MAGIC_64`, little-endian.
pub(super) const MH_MAGIC_64: u32 = 0xfeed_facf;
/// `MH_MAGIC` (32-bit).
const MH_MAGIC: u32 = 0xfeed_face;
/// The byte-swapped magics: big-endian images.
const MH_CIGAM_64: u32 = 0xcffa_edfe;
const MH_CIGAM: u32 = 0xcefa_edfe;
/// `FAT_MAGIC` and `FAT_MAGIC_64` (stored big-endian) as little-endian reads see them.
const FAT_CIGAM: u32 = 0xbeba_feca;
const FAT_CIGAM_64: u32 = 0xbfba_feca;

const CPU_TYPE_X86_64: u32 = 0x0100_0007;
const CPU_TYPE_ARM64: u32 = 0x0100_000c;
/// The capability bits of `cpusubtype`.
const CPU_SUBTYPE_MASK: u32 = 0xff00_0000;
const CPU_SUBTYPE_ARM64E: u32 = 2;

const MH_DYLIB: u32 = 6;
const MH_BUNDLE: u32 = 8;

/// The size of `mach_header_64`.
pub const HEADER_SIZE: u64 = 32;

/// The machine an image is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// x86_64.
    X86_64,
    /// arm64 (not arm64e).
    Arm64,
}

/// What kind of image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `MH_DYLIB`: a dynamic library.
    Dylib,
    /// `MH_BUNDLE`: a plugin bundle (no install name).
    Bundle,
}

/// The fields of `mach_header_64` a loader uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The machine.
    pub arch: Arch,
    /// Dylib or bundle.
    pub kind: FileKind,
    /// `ncmds`.
    pub ncmds: u32,
    /// `sizeofcmds`.
    pub sizeofcmds: u32,
    /// `flags` (`MH_TWOLEVEL`, `MH_HAS_TLV_DESCRIPTORS`...).
    pub flags: u32,
}

/// Whether `bytes` start like any Mach-O or universal file (to choose a format; [`Header::parse`]
/// says whether it is one dynplug loads).
pub fn is_macho(bytes: &[u8]) -> bool {
    u32_at(bytes, 0).is_some_and(|m| {
        [
            MH_MAGIC_64,
            MH_MAGIC,
            MH_CIGAM_64,
            MH_CIGAM,
            FAT_CIGAM,
            FAT_CIGAM_64,
        ]
        .contains(&m)
    })
}

impl Header {
    /// Reads and checks the header at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Header> {
        let field = |off: u64| {
            u32_at(bytes, off).ok_or(crate::macho_error::oob("Mach-O header", 0, HEADER_SIZE))
        };
        match field(0)? {
            MH_MAGIC_64 => {}
            MH_MAGIC => return Err(UnsupportedMachO::Bits32.into()),
            MH_CIGAM_64 | MH_CIGAM => return Err(UnsupportedMachO::BigEndian.into()),
            FAT_CIGAM | FAT_CIGAM_64 => return Err(UnsupportedMachO::Fat.into()),
            magic => return Err(MalformedMachO::BadMagic { magic }.into()),
        }
        // The whole header, reserved word included, before any field is trusted.
        field(HEADER_SIZE - 4)?;
        let (cputype, cpusubtype) = (field(4)?, field(8)?);
        let arch = match (cputype, cpusubtype & !CPU_SUBTYPE_MASK) {
            (CPU_TYPE_X86_64, _) => Arch::X86_64,
            (CPU_TYPE_ARM64, CPU_SUBTYPE_ARM64E) => return Err(UnsupportedMachO::Arm64e.into()),
            (CPU_TYPE_ARM64, _) => Arch::Arm64,
            _ => {
                return Err(UnsupportedMachO::CpuType {
                    cputype,
                    cpusubtype,
                }
                .into())
            }
        };
        let kind = match field(12)? {
            MH_DYLIB => FileKind::Dylib,
            MH_BUNDLE => FileKind::Bundle,
            filetype => return Err(UnsupportedMachO::FileType { filetype }.into()),
        };
        Ok(Header {
            arch,
            kind,
            ncmds: field(16)?,
            sizeofcmds: field(20)?,
            flags: field(24)?,
        })
    }
}
