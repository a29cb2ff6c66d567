//! AArch64 (ELF for the Arm 64-bit architecture) relocation numbers and what they do.

use crate::tls::{TlsAbi, TlsVariant};
use crate::{RelocKind as K, Width::*};

/// `EM_AARCH64`.
pub const EM: u16 = 183;
/// `R_AARCH64_RELATIVE`.
pub const R_RELATIVE: u32 = 1027;

/// Every AArch64 dynamic relocation type dynplug recognises: (number, name, kind).
///
/// 1028 is the module id and 1029 the offset, as glibc and the toolchains number them (FreeBSD's
/// header swaps the names, not the meaning).
pub static RELOCATIONS: &[(u32, &str, K)] = &[
    (0, "R_AARCH64_NONE", K::None),
    (257, "R_AARCH64_ABS64", K::Absolute(W64)),
    (258, "R_AARCH64_ABS32", K::Absolute(W32)),
    (260, "R_AARCH64_PREL64", K::PcRelative(W64)),
    (1024, "R_AARCH64_COPY", K::Copy),
    (1025, "R_AARCH64_GLOB_DAT", K::GlobDat),
    (1026, "R_AARCH64_JUMP_SLOT", K::JumpSlot),
    (1027, "R_AARCH64_RELATIVE", K::Relative),
    (1028, "R_AARCH64_TLS_DTPMOD", K::TlsModule),
    (1029, "R_AARCH64_TLS_DTPREL", K::TlsOffset(W64)),
    (1030, "R_AARCH64_TLS_TPREL", K::TlsTpOffset(W64)),
    (1031, "R_AARCH64_TLSDESC", K::TlsDesc),
    (1032, "R_AARCH64_IRELATIVE", K::IRelative),
];

/// AArch64's TLS: variant I with a 16-byte TCB (two words: DTV pointer, reserved) between the
/// thread pointer and the first block (glibc `TLS_TCB_SIZE` = `sizeof (tcbhead_t)`), no DTV or
/// thread-pointer offset.
pub const TLS: TlsAbi = TlsAbi {
    variant: TlsVariant::I,
    tcb_size: 16,
    dtv_offset: 0,
    tp_offset: 0,
};

#[cfg(test)]
mod tests {
    use crate::{compute, Inputs, Machine, RelocKind, Width};

    #[test]
    fn numbers_match_the_abi() {
        let m = Machine::Aarch64;
        assert_eq!(m.classify(257), Some(RelocKind::Absolute(Width::W64)));
        assert_eq!(m.classify(1025), Some(RelocKind::GlobDat));
        assert_eq!(m.classify(1026), Some(RelocKind::JumpSlot));
        assert_eq!(m.classify(1027), Some(RelocKind::Relative));
        assert_eq!(m.classify(1028), Some(RelocKind::TlsModule));
        assert_eq!(m.classify(1029), Some(RelocKind::TlsOffset(Width::W64)));
        assert_eq!(m.classify(1032), Some(RelocKind::IRelative));
        assert_eq!(m.classify(8), None);
        assert!(m.got_addend());
    }

    #[test]
    fn glob_dat_adds_the_addend() {
        let v = Inputs {
            s: 0x4000,
            a: 8,
            ..Inputs::default()
        };
        let m = Machine::Aarch64;
        let w = compute(m.classify(1025).unwrap(), m.got_addend(), &v)
            .unwrap()
            .unwrap();
        assert_eq!(w.value, 0x4008);
    }
}
