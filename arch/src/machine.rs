//! The machines dynplug knows, and their per-machine facts.

use crate::{aarch64, x86_64, RelocKind};

/// A machine (ELF `e_machine`) whose relocations dynplug can apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Machine {
    /// AMD64 (`EM_X86_64`, 62).
    X86_64,
    /// ARM 64-bit (`EM_AARCH64`, 183).
    Aarch64,
}

impl Machine {
    /// The machine for an ELF `e_machine` value, if dynplug knows it.
    pub const fn from_e_machine(e_machine: u16) -> Option<Machine> {
        match e_machine {
            x86_64::EM => Some(Machine::X86_64),
            aarch64::EM => Some(Machine::Aarch64),
            _ => None,
        }
    }

    /// The machine this code was compiled for, if dynplug knows it.
    pub const fn host() -> Option<Machine> {
        if cfg!(target_arch = "x86_64") {
            Some(Machine::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Machine::Aarch64)
        } else {
            None
        }
    }

    /// The ELF `e_machine` value.
    pub const fn e_machine(self) -> u16 {
        match self {
            Machine::X86_64 => x86_64::EM,
            Machine::Aarch64 => aarch64::EM,
        }
    }

    /// A short name ("x86_64", "aarch64").
    pub const fn name(self) -> &'static str {
        match self {
            Machine::X86_64 => "x86_64",
            Machine::Aarch64 => "aarch64",
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
        }
    }

    /// Whether GLOB_DAT and JUMP_SLOT add the addend (aarch64) or ignore it (x86_64).
    pub const fn got_addend(self) -> bool {
        matches!(self, Machine::Aarch64)
    }

    /// The `r_type` of this machine's RELATIVE relocation (counted by `DT_RELACOUNT`).
    pub const fn relative_type(self) -> u32 {
        match self {
            Machine::X86_64 => x86_64::R_RELATIVE,
            Machine::Aarch64 => aarch64::R_RELATIVE,
        }
    }
}
