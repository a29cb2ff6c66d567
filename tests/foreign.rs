//! Plugins of other machines on this x86_64 host: aarch64 (testdata/c/foreign_aarch64.c, built
//! with aarch64-linux-gnu-gcc) and riscv64 (foreign_riscv64.c, riscv64-linux-gnu-gcc). An open
//! names the architecture; the dry run still applies every relocation with that machine's table
//! and formulas, and finds nothing else wrong.
use dynplug::{Error, Loader, Plugin, Unsupported};
use dynplug_fixtures::edit::Elf;
use dynplug_fixtures::path;

/// Offset of `e_flags` in an ELF64 header.
const E_FLAGS: usize = 48;

fn fixture(name: &str, gcc: &str) -> Vec<u8> {
    std::fs::read(path(name))
        .unwrap_or_else(|e| panic!("{name}.so: {e}: install {gcc} (.ci/run does) and rebuild"))
}

fn aarch64() -> Vec<u8> {
    fixture("foreign_aarch64", "gcc-aarch64-linux-gnu")
}

fn riscv64() -> Vec<u8> {
    fixture("foreign_riscv64", "gcc-riscv64-linux-gnu")
}

/// The dry run of `bytes` finds only the architecture; a relocation type unknown to the machine
/// is found and named.
fn dry_run_relocates_with_formulas_of(bytes: Vec<u8>, machine: &str) {
    let r = Loader::new().check_bytes(&bytes).unwrap();
    match r.problems.as_slice() {
        [Error::WrongArchitecture { found, .. }] => assert_eq!(found, machine),
        other => panic!("{other:?}"),
    }
    let mut e = Elf::new(bytes);
    let rela = e.relas()[0];
    let info = e.u64(rela + 8);
    e.set_u64(rela + 8, (info & !0xffff_ffff) | 9999);
    let r = Loader::new().check_bytes(&e.bytes).unwrap();
    assert!(
        r.problems.iter().any(|p| matches!(
            p,
            Error::Unsupported {
                feature: Unsupported::Relocation { r_type: 9999, .. },
                ..
            }
        )),
        "{:?}",
        r.problems
    );
}

#[test]
fn open_names_the_architecture() {
    // The target's own machine is not foreign (on aarch64, foreign_aarch64.so just opens).
    let foreign = [
        ("foreign_aarch64", "aarch64"),
        ("foreign_riscv64", "riscv64"),
    ]
    .into_iter()
    .filter(|&(_, machine)| machine != std::env::consts::ARCH);
    for (name, machine) in foreign {
        match unsafe { Plugin::open(path(name)) } {
            Err(Error::WrongArchitecture { found, .. }) => assert_eq!(found, machine),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
#[cfg_attr(
    target_arch = "aarch64",
    ignore = "aarch64 is the target's own machine here: no architecture problem to find (every \
              other test applies its relocations for real)"
)]
fn dry_run_relocates_with_aarch64_formulas() {
    dry_run_relocates_with_formulas_of(aarch64(), "aarch64");
}

/// R_RISCV_64 (data and GOT), RELATIVE, JUMP_SLOT, TLS_DTPMOD64 and TLS_DTPREL64.
#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "riscv64 is the target's own machine here: no architecture problem to find (every \
              other test applies its relocations for real)"
)]
fn dry_run_relocates_with_riscv64_formulas() {
    dry_run_relocates_with_formulas_of(riscv64(), "riscv64");
}

/// A riscv64 object whose float ABI is not LP64D is another machine to glibc, and to dynplug.
#[test]
fn riscv64_with_another_float_abi_is_refused() {
    let mut e = Elf::new(riscv64());
    let flags = e.u32(E_FLAGS);
    assert_eq!(flags & 0x6, 0x4, "built for the double-float ABI");
    for soft_or_single in [flags & !0x6, (flags & !0x6) | 0x2] {
        e.set_u32(E_FLAGS, soft_or_single);
        let r = Loader::new().check_bytes(&e.bytes).unwrap();
        match r.problems.as_slice() {
            [Error::WrongArchitecture { found, .. }] => {
                assert_eq!(*found, format!("riscv64 with e_flags {soft_or_single:#x}"))
            }
            other => panic!("e_flags {soft_or_single:#x}: {other:?}"),
        }
    }
}
