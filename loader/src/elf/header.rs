//! The ELF header and program headers, read and validated.

use goblin::elf::header::{self as eh, Header};
use goblin::elf::program_header::ProgramHeader;

use crate::error::{LoadError, Malformed, Unsupported};
use dynplug_arch::Machine;

use super::records::{phdr_at, EHDR_SIZE, PHDR_SIZE};

/// Size of an ELF64 header.
const EHDR64: usize = EHDR_SIZE as usize;
/// Size of an ELF64 program header.
const PHDR64: u16 = PHDR_SIZE as u16;

/// What the header says, once validated.
#[derive(Debug)]
pub struct Parsed {
    /// The machine the object is for.
    pub machine: Machine,
    /// The program headers.
    pub phdrs: Vec<ProgramHeader>,
    /// `e_phoff`, to find the headers in memory for `dl_iterate_phdr`-style users.
    pub phoff: u64,
    /// `EI_OSABI` (one of those [`parse`] accepts).
    pub os_abi: u8,
}

/// Checks the ELF identification and header, and reads the program headers.
///
/// `want` is the machine the caller can run (`None` accepts any machine dynplug knows, for dry
/// runs of foreign images).
pub fn parse(bytes: &[u8], want: Option<Machine>) -> Result<Parsed, LoadError> {
    // One rule: what does not begin with the whole ELF magic is not ELF (an empty file, part of
    // the magic, text); what does but is cut short is a truncated header.
    if bytes.get(..4) != Some(&eh::ELFMAG[..]) {
        return Err(LoadError::NotElf);
    }
    if bytes.len() < EHDR64 {
        return Err(Malformed::TruncatedHeader { len: bytes.len() }.into());
    }
    let class = bytes[eh::EI_CLASS];
    let data = bytes[eh::EI_DATA];
    let host = Machine::host().map_or("an unknown machine", Machine::name);
    if class != eh::ELFCLASS64 || data != eh::ELFDATA2LSB {
        // e_machine sits at the same place in both classes; read in the file's byte order.
        let e_machine = if data == eh::ELFDATA2MSB {
            u16::from_be_bytes([bytes[18], bytes[19]])
        } else {
            u16::from_le_bytes([bytes[18], bytes[19]])
        };
        return Err(LoadError::WrongArchitecture {
            found: format!(
                "{}-bit {} {}",
                if class == eh::ELFCLASS32 { 32 } else { 64 },
                if data == eh::ELFDATA2MSB {
                    "big-endian"
                } else {
                    "little-endian"
                },
                machine_name(e_machine)
            ),
            expected: format!("64-bit little-endian {host}"),
        });
    }
    let h: Header = eh::header64::Header::parse(bytes)
        .map(Header::from)
        .map_err(|_| Malformed::TruncatedHeader { len: bytes.len() })?;
    if bytes[eh::EI_VERSION] != 1 || h.e_version != 1 {
        return Err(bad("e_version", h.e_version.into()));
    }
    os_abi(bytes[eh::EI_OSABI])?;
    let machine = match Machine::from_e_machine(h.e_machine) {
        // Another float ABI is another machine to glibc (riscv's `elf_machine_matches_host`).
        Some(m) if !m.e_flags_match(h.e_flags) => {
            return Err(LoadError::WrongArchitecture {
                found: format!("{} with e_flags {:#x}", m.name(), h.e_flags),
                expected: host.to_string(),
            })
        }
        Some(m) if want.is_none() || want == Some(m) => m,
        _ => {
            return Err(LoadError::WrongArchitecture {
                found: machine_name(h.e_machine),
                expected: host.to_string(),
            })
        }
    };
    match h.e_type {
        eh::ET_DYN => {}
        t => return Err(Unsupported::NotSharedObject { e_type: t }.into()),
    }
    if h.e_phentsize != PHDR64 {
        return Err(bad("e_phentsize", h.e_phentsize.into()));
    }
    let count = h.e_phnum;
    let end = u64::from(count)
        .checked_mul(u64::from(PHDR64))
        .and_then(|n| n.checked_add(h.e_phoff));
    let inside = h.e_phoff >= EHDR64 as u64
        && h.e_phoff % 8 == 0
        && end.is_some_and(|e| e <= bytes.len() as u64);
    if !inside || count == 0 || count == u16::MAX {
        return Err(Malformed::PhdrsOutsideFile {
            offset: h.e_phoff,
            count,
        }
        .into());
    }
    // Read field by field into a vector of the right size (goblin's reader grows one and
    // goes through a generic context per field: 4x the instructions, on every open).
    let outside = || Malformed::PhdrsOutsideFile {
        offset: h.e_phoff,
        count,
    };
    let mut phdrs = Vec::with_capacity(usize::from(count));
    for i in 0..u64::from(count) {
        let at = i
            .checked_mul(PHDR_SIZE)
            .and_then(|o| o.checked_add(h.e_phoff));
        let p = at.and_then(|at| phdr_at(bytes, at)).ok_or_else(outside)?;
        phdrs.push(ProgramHeader {
            p_type: p.p_type,
            p_flags: p.p_flags,
            p_offset: p.p_offset,
            p_vaddr: p.p_vaddr,
            p_paddr: p.p_paddr,
            p_filesz: p.p_filesz,
            p_memsz: p.p_memsz,
            p_align: p.p_align,
        });
    }
    Ok(Parsed {
        machine,
        phdrs,
        phoff: h.e_phoff,
        os_abi: bytes[eh::EI_OSABI],
    })
}

/// The OS ABIs whose objects dynplug loads, on every system: System V (0) and GNU (3), the two
/// glibc accepts (`VALID_ELF_OSABI`), and FreeBSD (9), whose objects have the same psABI as
/// Linux's (relocations, TLS, calling convention; they differ in their C library, whose imports
/// the dry run names). glibc refuses FreeBSD's ("ELF file OS ABI invalid"); FreeBSD's rtld
/// checks no OS ABI (`map_object.c`).
fn os_abi(abi: u8) -> Result<(), LoadError> {
    match abi {
        eh::ELFOSABI_NONE | eh::ELFOSABI_GNU | eh::ELFOSABI_FREEBSD => Ok(()),
        os_abi => Err(Unsupported::OsAbi { os_abi }.into()),
    }
}

fn bad(field: &'static str, value: u64) -> LoadError {
    Malformed::BadHeader { field, value }.into()
}

fn machine_name(e_machine: u16) -> String {
    match Machine::from_e_machine(e_machine) {
        Some(m) => m.name().to_string(),
        None => match e_machine {
            3 => "i386".into(),
            40 => "arm".into(),
            m => format!("e_machine {m}"),
        },
    }
}
