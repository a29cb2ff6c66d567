//! Thread-local storage: each machine's runtime ABI facts, and the TLS formulas that use them.
//!
//! The facts are data (one [`TlsAbi`] per machine, next to its relocation table) so that the
//! formulas stay machine-independent: riscv's DTPREL differs from aarch64's only by its
//! `dtv_offset`, not by a different formula.

use crate::formula::{fit, FormulaError, Write};
use crate::kind::{RelocKind, Width};

/// Where the static TLS blocks sit relative to the thread pointer (Drepper, "ELF Handling For
/// Thread-Local Storage", section 3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVariant {
    /// Blocks above the thread pointer, after a TCB of `tcb_size` bytes (aarch64, riscv).
    I,
    /// Blocks below the thread pointer, which points at the TCB (x86_64).
    II,
}

/// A machine's TLS layout and the constants its TLS relocations use (with glibc's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsAbi {
    /// Where the blocks are relative to the thread pointer.
    pub variant: TlsVariant,
    /// Variant I: bytes between the thread pointer and the first block, before rounding up to
    /// the block's alignment (glibc `TLS_TCB_SIZE`). Unused (0) in variant II.
    pub tcb_size: u64,
    /// Subtracted from DTPREL values: DTV entries point this far past each block's start
    /// (glibc `TLS_DTV_OFFSET`).
    pub dtv_offset: u64,
    /// Subtracted from TPREL values: the thread pointer sits this far past the TCB
    /// (glibc `TLS_TP_OFFSET`).
    pub tp_offset: u64,
}

/// The numbers a TLS formula may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlsInputs {
    /// The defining module's TLS module id (DTPMOD).
    pub module_id: u64,
    /// S: the symbol's offset in its module's TLS block (`st_value`).
    pub s: u64,
    /// A: the addend.
    pub a: i64,
    /// Where the defining module's block starts, from the thread pointer (negative in variant
    /// II; glibc's `l_tls_offset`, negated there). Only TPREL uses it.
    pub block_from_tp: i64,
}

/// Evaluates a TLS kind's formula on `v` with the machine's constants `abi`.
///
/// TLS descriptors are not a formula (they need the loader's resolver functions), nor is any
/// non-TLS kind: both give [`FormulaError::NotAFormula`].
pub fn compute_tls(kind: RelocKind, abi: &TlsAbi, v: &TlsInputs) -> Result<Write, FormulaError> {
    let s = i128::from(v.s);
    let a = i128::from(v.a);
    match kind {
        RelocKind::TlsModule => fit(i128::from(v.module_id), Width::W64),
        RelocKind::TlsOffset(width) => fit(s + a - i128::from(abi.dtv_offset), width),
        RelocKind::TlsTpOffset(width) => {
            let value = i128::from(v.block_from_tp) + s + a - i128::from(abi.tp_offset);
            fit(value, width)
        }
        _ => Err(FormulaError::NotAFormula),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Machine;

    // Every term distinct and non-zero, so a missing or misplaced one changes the result.
    const V: TlsInputs = TlsInputs {
        module_id: 5,
        s: 0x120,
        a: 0x8,
        block_from_tp: 0x1000,
    };

    fn val(kind: RelocKind, m: Machine, v: &TlsInputs) -> u64 {
        compute_tls(kind, m.tls(), v).unwrap().value
    }

    #[test]
    fn dtprel_is_offset_plus_addend_minus_the_dtv_offset() {
        let k = RelocKind::TlsOffset(Width::W64);
        assert_eq!(val(k, Machine::X86_64, &V), 0x128);
        assert_eq!(val(k, Machine::Aarch64, &V), 0x128);
        assert_eq!(val(k, Machine::Riscv64, &V), (0x128i64 - 0x800) as u64);
    }

    #[test]
    fn tprel_adds_the_block_position_signed() {
        let k = RelocKind::TlsTpOffset(Width::W64);
        assert_eq!(val(k, Machine::Aarch64, &V), 0x1128);
        assert_eq!(val(k, Machine::Riscv64, &V), 0x1128);
        // Variant II: the block lies below the thread pointer.
        let below = TlsInputs {
            block_from_tp: -0x1000,
            ..V
        };
        assert_eq!(val(k, Machine::X86_64, &below), (-0xed8i64) as u64);
    }

    #[test]
    fn a_32_bit_tprel_must_sign_extend() {
        let k = RelocKind::TlsTpOffset(Width::W32S);
        let below = TlsInputs {
            block_from_tp: -0x1000,
            ..V
        };
        assert_eq!(val(k, Machine::X86_64, &below) as u32, (-0xed8i32) as u32);
        let far = TlsInputs {
            block_from_tp: -0x1_0000_0000,
            ..V
        };
        assert!(matches!(
            compute_tls(k, Machine::X86_64.tls(), &far),
            Err(FormulaError::Overflow { .. })
        ));
    }

    #[test]
    fn module_id_is_stored_whole_and_descriptors_are_not_formulas() {
        assert_eq!(val(RelocKind::TlsModule, Machine::Riscv64, &V), 5);
        for k in [
            RelocKind::TlsDesc,
            RelocKind::Relative,
            RelocKind::IRelative,
        ] {
            assert_eq!(
                compute_tls(k, Machine::X86_64.tls(), &V),
                Err(FormulaError::NotAFormula)
            );
        }
    }

    #[test]
    fn layouts_are_glibcs() {
        assert_eq!(Machine::X86_64.tls().variant, TlsVariant::II);
        let a = Machine::Aarch64.tls();
        assert_eq!(
            (a.variant, a.tcb_size, a.dtv_offset),
            (TlsVariant::I, 16, 0)
        );
        let r = Machine::Riscv64.tls();
        assert_eq!(
            (r.variant, r.tcb_size, r.dtv_offset, r.tp_offset),
            (TlsVariant::I, 0, 0x800, 0)
        );
    }
}
