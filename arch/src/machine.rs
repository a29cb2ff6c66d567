//! The machines dynplug knows, and their per-machine facts.

use crate::{aarch64, riscv64, x86_64, RelocKind, TlsAbi};

/// A machine (ELF `e_machine`) whose relocations dynplug can apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Machine {
    /// AMD64 (`EM_X86_64`, 62).
    X86_64,
    /// ARM 64-bit (`EM_AARCH64`, 183).
    Aarch64,
    /// RISC-V 64-bit, LP64D (`EM_RISCV`, 243, ELFCLASS64).
    Riscv64,
}

impl Machine {
    /// The machine for an ELF `e_machine` value, if dynplug knows it.
    ///
    /// Only for ELFCLASS64 objects (the caller checks the class): `EM_RISCV` also names RV32.
    pub const fn from_e_machine(e_machine: u16) -> Option<Machine> {
        match e_machine {
            x86_64::EM => Some(Machine::X86_64),
            aarch64::EM => Some(Machine::Aarch64),
            riscv64::EM => Some(Machine::Riscv64),
            _ => None,
        }
    }

    /// The machine this code was compiled for, if dynplug knows it.
    pub const fn host() -> Option<Machine> {
        if cfg!(target_arch = "x86_64") {
            Some(Machine::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Machine::Aarch64)
        } else if cfg!(target_arch = "riscv64") {
            Some(Machine::Riscv64)
        } else {
            None
        }
    }

    /// The ELF `e_machine` value.
    pub const fn e_machine(self) -> u16 {
        match self {
            Machine::X86_64 => x86_64::EM,
            Machine::Aarch64 => aarch64::EM,
            Machine::Riscv64 => riscv64::EM,
        }
    }

    /// A short name ("x86_64", "aarch64", "riscv64").
    pub const fn name(self) -> &'static str {
        match self {
            Machine::X86_64 => "x86_64",
            Machine::Aarch64 => "aarch64",
            Machine::Riscv64 => "riscv64",
        }
    }

    /// Whether an object's `e_flags` suit a Linux process of this machine (riscv: the LP64D
    /// float ABI, as glibc's `elf_machine_matches_host` checks; the others define no such bits).
    pub const fn e_flags_match(self, e_flags: u32) -> bool {
        match self {
            Machine::X86_64 | Machine::Aarch64 => true,
            Machine::Riscv64 => riscv64::e_flags_match(e_flags),
        }
    }

    /// What relocation type `r_type` does on this machine; `None` if dynplug does not know it.
    pub fn classify(self, r_type: u32) -> Option<RelocKind> {
        self.table().iter().find(|e| e.0 == r_type).map(|e| e.2)
    }

    /// The ABI's name for `r_type` (for error messages), or "unknown".
    pub fn reloc_name(self, r_type: u32) -> &'static str {
        self.table()
            .iter()
            .find(|e| e.0 == r_type)
            .map_or("unknown", |e| e.1)
    }

    /// The machine's relocation table: (number, name, kind).
    pub fn table(self) -> &'static [(u32, &'static str, RelocKind)] {
        match self {
            Machine::X86_64 => x86_64::RELOCATIONS,
            Machine::Aarch64 => aarch64::RELOCATIONS,
            Machine::Riscv64 => riscv64::RELOCATIONS,
        }
    }

    /// Whether GLOB_DAT and JUMP_SLOT add the addend (aarch64, riscv64) or ignore it (x86_64).
    pub const fn got_addend(self) -> bool {
        matches!(self, Machine::Aarch64 | Machine::Riscv64)
    }

    /// The `r_type` of this machine's RELATIVE relocation (counted by `DT_RELACOUNT`).
    pub const fn relative_type(self) -> u32 {
        match self {
            Machine::X86_64 => x86_64::R_RELATIVE,
            Machine::Aarch64 => aarch64::R_RELATIVE,
            Machine::Riscv64 => riscv64::R_RELATIVE,
        }
    }

    /// The machine's TLS layout and the constants its TLS relocations use.
    pub const fn tls(self) -> &'static TlsAbi {
        match self {
            Machine::X86_64 => &x86_64::TLS,
            Machine::Aarch64 => &aarch64::TLS,
            Machine::Riscv64 => &riscv64::TLS,
        }
    }
}
