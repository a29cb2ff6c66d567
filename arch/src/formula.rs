//! The relocation formulas, evaluated on plain numbers.

use crate::kind::{RelocKind, Width};

/// The numbers a formula may use (names from the ELF ABIs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    /// S: the symbol's run-time address (0 for an unresolved weak symbol).
    pub s: u64,
    /// A: the addend.
    pub a: i64,
    /// B: the load bias of the module being relocated.
    pub b: u64,
    /// P: the run-time address of the place being relocated.
    pub p: u64,
    /// Z: the symbol's size.
    pub z: u64,
}

/// A value to store at the place, with its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write {
    /// The value; for 32-bit widths only the low 32 bits are stored.
    pub value: u64,
    /// How many bytes to store.
    pub width: Width,
}

/// Why a formula could not produce a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormulaError {
    /// The result does not fit the relocation's width.
    Overflow {
        /// The full-precision result.
        value: i128,
        /// The width it had to fit.
        width: Width,
    },
    /// The kind is not a plain formula (IRELATIVE, COPY, TLS): the loader handles it itself.
    NotAFormula,
}

pub(crate) fn fit(value: i128, width: Width) -> Result<Write, FormulaError> {
    let ok = match width {
        // 64-bit results wrap modulo 2^64, as the hardware does.
        Width::W64 => true,
        Width::W32 => (0..=i128::from(u32::MAX)).contains(&value),
        Width::W32S => (i128::from(i32::MIN)..=i128::from(i32::MAX)).contains(&value),
    };
    if !ok {
        return Err(FormulaError::Overflow { value, width });
    }
    // Truncation is the point here: the range was checked above for 32-bit widths, and 64-bit
    // results are taken modulo 2^64.
    let value = (value & i128::from(u64::MAX)) as u64;
    Ok(Write { value, width })
}

/// Evaluates the formula of `kind` on `v`.
///
/// `got_addend` says whether the machine adds A to GOT and PLT entries (aarch64 does, x86_64
/// does not). Returns `None` for [`RelocKind::None`].
pub fn compute(
    kind: RelocKind,
    got_addend: bool,
    v: &Inputs,
) -> Result<Option<Write>, FormulaError> {
    let s = i128::from(v.s);
    let a = i128::from(v.a);
    let w = match kind {
        RelocKind::None => return Ok(None),
        RelocKind::Relative => fit(i128::from(v.b) + a, Width::W64)?,
        RelocKind::Absolute(width) => fit(s + a, width)?,
        RelocKind::GlobDat | RelocKind::JumpSlot => {
            let value = if got_addend { s + a } else { s };
            fit(value, Width::W64)?
        }
        RelocKind::PcRelative(width) => fit(s + a - i128::from(v.p), width)?,
        RelocKind::Size(width) => fit(i128::from(v.z) + a, width)?,
        RelocKind::IRelative
        | RelocKind::Copy
        | RelocKind::TlsModule
        | RelocKind::TlsOffset(_)
        | RelocKind::TlsTpOffset(_)
        | RelocKind::TlsDesc => return Err(FormulaError::NotAFormula),
    };
    Ok(Some(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values chosen so that any wrong term (a missing B, a sign error on A, P not subtracted)
    // changes the result.
    const V: Inputs = Inputs {
        s: 0x7f00_0000_2345,
        a: -0x10,
        b: 0x7f00_0001_0000,
        p: 0x7f00_0001_1000,
        z: 0x40,
    };

    fn val(kind: RelocKind, got: bool) -> u64 {
        match compute(kind, got, &V) {
            Ok(Some(w)) => w.value,
            other => panic!("{kind:?}: {other:?}"),
        }
    }

    #[test]
    fn relative_is_base_plus_addend() {
        assert_eq!(val(RelocKind::Relative, false), 0x7f00_0000_fff0);
    }

    #[test]
    fn absolute64_is_symbol_plus_addend() {
        assert_eq!(
            val(RelocKind::Absolute(Width::W64), false),
            0x7f00_0000_2335
        );
    }

    #[test]
    fn got_and_plt_ignore_addend_on_x86_64_but_not_on_aarch64() {
        assert_eq!(val(RelocKind::GlobDat, false), 0x7f00_0000_2345);
        assert_eq!(val(RelocKind::JumpSlot, false), 0x7f00_0000_2345);
        assert_eq!(val(RelocKind::GlobDat, true), 0x7f00_0000_2335);
        assert_eq!(val(RelocKind::JumpSlot, true), 0x7f00_0000_2335);
    }

    #[test]
    fn pc_relative64_subtracts_place() {
        let expect = (0x7f00_0000_2335i128 - 0x7f00_0001_1000i128) as i64 as u64;
        assert_eq!(val(RelocKind::PcRelative(Width::W64), false), expect);
    }

    #[test]
    fn pc_relative32_is_signed_and_checked() {
        let near = Inputs {
            s: 0x1000,
            a: 4,
            p: 0x3000,
            ..V
        };
        let w = compute(RelocKind::PcRelative(Width::W32S), false, &near)
            .unwrap()
            .unwrap();
        assert_eq!(w.value as u32, (-0x1ffci32) as u32);
        assert_eq!(w.width.bytes(), 4);
        assert!(matches!(
            compute(RelocKind::PcRelative(Width::W32S), false, &V),
            Ok(Some(_))
        ));
        let far = Inputs {
            s: 0x1_0000_0000,
            a: 0,
            p: 0,
            ..V
        };
        assert!(matches!(
            compute(RelocKind::PcRelative(Width::W32S), false, &far),
            Err(FormulaError::Overflow { .. })
        ));
    }

    #[test]
    fn abs32_zero_extends_and_abs32s_sign_extends() {
        let low = Inputs {
            s: 0x8000_0000,
            a: 0x10,
            ..V
        };
        assert_eq!(
            compute(RelocKind::Absolute(Width::W32), false, &low)
                .unwrap()
                .unwrap()
                .value,
            0x8000_0010
        );
        assert!(compute(RelocKind::Absolute(Width::W32S), false, &low).is_err());
        let neg = Inputs {
            s: 0x10,
            a: -0x20,
            ..V
        };
        assert!(compute(RelocKind::Absolute(Width::W32), false, &neg).is_err());
        let w = compute(RelocKind::Absolute(Width::W32S), false, &neg)
            .unwrap()
            .unwrap();
        assert_eq!(w.value as u32, 0xffff_fff0);
        assert!(compute(RelocKind::Absolute(Width::W32), false, &V).is_err());
    }

    #[test]
    fn size_is_size_plus_addend() {
        assert_eq!(val(RelocKind::Size(Width::W64), false), 0x30);
    }

    #[test]
    fn none_writes_nothing_and_special_kinds_are_not_formulas() {
        assert_eq!(compute(RelocKind::None, false, &V), Ok(None));
        for k in [
            RelocKind::IRelative,
            RelocKind::Copy,
            RelocKind::TlsModule,
            RelocKind::TlsDesc,
        ] {
            assert_eq!(compute(k, false, &V), Err(FormulaError::NotAFormula));
        }
    }
}
