//! RISC-V 64-bit (RISC-V ELF psABI, LP64D) relocation numbers and what they do.
//!
//! The table is what glibc's `elf_machine_rela` for riscv handles on a 64-bit machine
//! (sysdeps/riscv/dl-machine.h): RV64 has no GLOB_DAT (GOT entries are `R_RISCV_64`), its
//! JUMP_SLOT adds the addend, and the 32-bit data and TLS types are RV32's only (glibc refuses
//! `R_RISCV_32` in a 64-bit object as a bad type, and so does dynplug).

use crate::tls::{TlsAbi, TlsVariant};
use crate::{RelocKind as K, Width::*};

/// `EM_RISCV`.
pub const EM: u16 = 243;
/// `R_RISCV_RELATIVE`.
pub const R_RELATIVE: u32 = 3;

/// `EF_RISCV_FLOAT_ABI`: the bits of `e_flags` naming the floating-point calling convention.
pub const EF_FLOAT_ABI: u32 = 0x6;
/// `EF_RISCV_FLOAT_ABI_DOUBLE`: LP64D, the ABI of Debian's riscv64 port and of Rust's
/// `riscv64gc-unknown-linux-gnu`.
pub const EF_FLOAT_ABI_DOUBLE: u32 = 0x4;

/// Every RV64 dynamic relocation type dynplug recognises: (number, name, kind).
pub static RELOCATIONS: &[(u32, &str, K)] = &[
    (0, "R_RISCV_NONE", K::None),
    (2, "R_RISCV_64", K::Absolute(W64)),
    (3, "R_RISCV_RELATIVE", K::Relative),
    (4, "R_RISCV_COPY", K::Copy),
    (5, "R_RISCV_JUMP_SLOT", K::JumpSlot),
    (7, "R_RISCV_TLS_DTPMOD64", K::TlsModule),
    (9, "R_RISCV_TLS_DTPREL64", K::TlsOffset(W64)),
    (11, "R_RISCV_TLS_TPREL64", K::TlsTpOffset(W64)),
    (58, "R_RISCV_IRELATIVE", K::IRelative),
];

/// RISC-V's TLS: variant I with no TCB between the thread pointer and the first block
/// (glibc `TLS_TCB_SIZE` 0, `TLS_TP_OFFSET` 0), and DTV pointers 0x800 past each block's start
/// (`TLS_DTV_OFFSET`, so that a 12-bit signed displacement reaches the whole first 4 KiB).
pub const TLS: TlsAbi = TlsAbi {
    variant: TlsVariant::I,
    tcb_size: 0,
    dtv_offset: 0x800,
    tp_offset: 0,
};

/// Whether `e_flags` names the float ABI a riscv64 Linux process uses (LP64D): glibc's
/// `elf_machine_matches_host` skips a library with another one, as if it were another machine.
pub const fn e_flags_match(e_flags: u32) -> bool {
    e_flags & EF_FLOAT_ABI == EF_FLOAT_ABI_DOUBLE
}

#[cfg(test)]
mod tests {
    use crate::{compute, compute_tls, Inputs, Machine, RelocKind, TlsInputs, Width};

    #[test]
    fn numbers_match_the_psabi() {
        let m = Machine::Riscv64;
        assert_eq!(Machine::from_e_machine(243), Some(m));
        assert_eq!(m.e_machine(), 243);
        assert_eq!(m.classify(0), Some(RelocKind::None));
        assert_eq!(m.classify(2), Some(RelocKind::Absolute(Width::W64)));
        assert_eq!(m.classify(3), Some(RelocKind::Relative));
        assert_eq!(m.classify(4), Some(RelocKind::Copy));
        assert_eq!(m.classify(5), Some(RelocKind::JumpSlot));
        assert_eq!(m.classify(7), Some(RelocKind::TlsModule));
        assert_eq!(m.classify(9), Some(RelocKind::TlsOffset(Width::W64)));
        assert_eq!(m.classify(11), Some(RelocKind::TlsTpOffset(Width::W64)));
        assert_eq!(m.classify(58), Some(RelocKind::IRelative));
        assert_eq!(m.reloc_name(58), "R_RISCV_IRELATIVE");
        assert_eq!(m.relative_type(), 3);
        assert!(m.got_addend());
    }

    #[test]
    fn rv32_only_and_static_types_are_refused() {
        let m = Machine::Riscv64;
        // R_RISCV_32, TLS_DTPMOD32, TLS_DTPREL32, TLS_TPREL32: RV32's; 18 R_RISCV_CALL and
        // 23 R_RISCV_PCREL_HI20 are link-time only; 12 is TLSDESC, which glibc does not handle.
        for t in [1, 6, 8, 10, 12, 18, 23] {
            assert_eq!(m.classify(t), None, "type {t}");
        }
    }

    #[test]
    fn jump_slot_and_64_add_the_addend() {
        let v = Inputs {
            s: 0x4000,
            a: 8,
            ..Inputs::default()
        };
        let m = Machine::Riscv64;
        for t in [2, 5] {
            let w = compute(m.classify(t).unwrap(), m.got_addend(), &v)
                .unwrap()
                .unwrap();
            assert_eq!(w.value, 0x4008, "type {t}");
        }
    }

    #[test]
    fn dtprel_subtracts_the_dtv_offset_and_tprel_does_not() {
        let m = Machine::Riscv64;
        // S (the symbol's offset in its block) 0x10, A 0x4, block 0x40 past the thread pointer.
        let v = TlsInputs {
            module_id: 3,
            s: 0x10,
            a: 0x4,
            block_from_tp: 0x40,
        };
        let dtprel = compute_tls(RelocKind::TlsOffset(Width::W64), m.tls(), &v).unwrap();
        assert_eq!(dtprel.value, (0x14i64 - 0x800) as u64);
        let tprel = compute_tls(RelocKind::TlsTpOffset(Width::W64), m.tls(), &v).unwrap();
        assert_eq!(tprel.value, 0x54);
        let modid = compute_tls(RelocKind::TlsModule, m.tls(), &v).unwrap();
        assert_eq!(modid.value, 3);
    }

    #[test]
    fn only_the_lp64d_float_abi_matches() {
        let m = Machine::Riscv64;
        assert!(m.e_flags_match(0x5), "RVC + double");
        assert!(m.e_flags_match(0x4));
        assert!(!m.e_flags_match(0x1), "soft float");
        assert!(!m.e_flags_match(0x3), "single");
        assert!(!m.e_flags_match(0x7), "quad");
        assert!(
            Machine::X86_64.e_flags_match(0x7),
            "other machines have no such bits"
        );
    }
}
