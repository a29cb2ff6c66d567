//! x86_64 (AMD64 psABI) relocation numbers and what they do.

use crate::tls::{TlsAbi, TlsVariant};
use crate::{RelocKind as K, Width::*};

/// `EM_X86_64`.
pub const EM: u16 = 62;
/// `R_X86_64_RELATIVE`.
pub const R_RELATIVE: u32 = 8;

/// Every x86_64 dynamic relocation type dynplug recognises: (number, name, kind).
pub static RELOCATIONS: &[(u32, &str, K)] = &[
    (0, "R_X86_64_NONE", K::None),
    (1, "R_X86_64_64", K::Absolute(W64)),
    (2, "R_X86_64_PC32", K::PcRelative(W32S)),
    (5, "R_X86_64_COPY", K::Copy),
    (6, "R_X86_64_GLOB_DAT", K::GlobDat),
    (7, "R_X86_64_JUMP_SLOT", K::JumpSlot),
    (8, "R_X86_64_RELATIVE", K::Relative),
    (10, "R_X86_64_32", K::Absolute(W32)),
    (11, "R_X86_64_32S", K::Absolute(W32S)),
    (16, "R_X86_64_DTPMOD64", K::TlsModule),
    (17, "R_X86_64_DTPOFF64", K::TlsOffset(W64)),
    (18, "R_X86_64_TPOFF64", K::TlsTpOffset(W64)),
    (21, "R_X86_64_DTPOFF32", K::TlsOffset(W32S)),
    (23, "R_X86_64_TPOFF32", K::TlsTpOffset(W32S)),
    (24, "R_X86_64_PC64", K::PcRelative(W64)),
    (32, "R_X86_64_SIZE32", K::Size(W32)),
    (33, "R_X86_64_SIZE64", K::Size(W64)),
    (36, "R_X86_64_TLSDESC", K::TlsDesc),
    (37, "R_X86_64_IRELATIVE", K::IRelative),
];

/// x86_64's TLS: variant II (the thread pointer points at the TCB, blocks below it), no DTV or
/// thread-pointer offset.
pub const TLS: TlsAbi = TlsAbi {
    variant: TlsVariant::II,
    tcb_size: 0,
    dtv_offset: 0,
    tp_offset: 0,
};

#[cfg(test)]
mod tests {
    use crate::{Machine, RelocKind, Width};

    #[test]
    fn numbers_match_the_psabi() {
        let m = Machine::X86_64;
        assert_eq!(m.classify(1), Some(RelocKind::Absolute(Width::W64)));
        assert_eq!(m.classify(2), Some(RelocKind::PcRelative(Width::W32S)));
        assert_eq!(m.classify(6), Some(RelocKind::GlobDat));
        assert_eq!(m.classify(7), Some(RelocKind::JumpSlot));
        assert_eq!(m.classify(8), Some(RelocKind::Relative));
        assert_eq!(m.classify(10), Some(RelocKind::Absolute(Width::W32)));
        assert_eq!(m.classify(11), Some(RelocKind::Absolute(Width::W32S)));
        assert_eq!(m.classify(24), Some(RelocKind::PcRelative(Width::W64)));
        assert_eq!(m.classify(37), Some(RelocKind::IRelative));
        assert_eq!(m.classify(16), Some(RelocKind::TlsModule));
        assert_eq!(m.classify(3), None, "R_X86_64_GOT32 is not dynamic");
        assert_eq!(m.reloc_name(37), "R_X86_64_IRELATIVE");
        assert_eq!(m.relative_type(), 8);
        assert!(!m.got_addend());
    }
}
