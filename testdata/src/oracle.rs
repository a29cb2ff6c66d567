//! glibc's answer for a fixture: `oracle_harness` (built from `testdata/oracle/harness.c`)
//! dlopen()s it and reports its base, the address bound for each import, each relocation with the
//! word at its place afterwards, and its writable and RELRO segments; this reads that report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One relocation entry and the word glibc left at its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relocated {
    /// `r_offset` (link-time address of the place).
    pub offset: u64,
    /// `r_type`.
    pub r_type: u32,
    /// The symbol's name; `None` for an entry without a symbol.
    pub symbol: Option<String>,
    /// `r_addend`.
    pub addend: i64,
    /// The 8 bytes at the place after relocation (little-endian).
    pub word: u64,
}

/// A writable PT_LOAD or the PT_GNU_RELRO region, as its bytes were after relocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Link-time address.
    pub vaddr: u64,
    /// `p_flags`.
    pub flags: u32,
    /// True for PT_GNU_RELRO.
    pub relro: bool,
    /// `p_memsz` bytes.
    pub bytes: Vec<u8>,
}

/// A thread-local import as glibc placed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsImport {
    /// The defining module's TLS module id.
    pub module_id: u64,
    /// The variable's offset in that module's block.
    pub offset: u64,
    /// The block's distance from the harness thread's thread pointer.
    pub block_from_tp: i64,
}

/// What glibc's ld.so did to one fixture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `e_machine`.
    pub machine: u16,
    /// Load bias (`l_addr`).
    pub base: u64,
    /// TLS module id and the block's distance from the harness thread's thread pointer (`None`:
    /// glibc made no block for the thread yet, the module is not in static TLS).
    pub tls: Option<(u64, Option<i64>)>,
    /// Address glibc found for each undefined dynamic symbol it could find (not thread-local).
    pub imports: BTreeMap<String, u64>,
    /// Each undefined thread-local symbol glibc found.
    pub tls_imports: BTreeMap<String, TlsImport>,
    /// What each IFUNC resolver of the fixture that a relocation bound returned, by the
    /// resolver's run-time address.
    pub ifuncs: BTreeMap<u64, u64>,
    /// Every DT_RELA and DT_JMPREL entry.
    pub relocs: Vec<Relocated>,
    /// Writable and RELRO segments.
    pub segments: Vec<Segment>,
}

/// Path of the harness built for the target.
pub fn harness() -> PathBuf {
    crate::dir().join("oracle_harness")
}

/// Runs the harness on `fixture` and parses its report; the harness's error if dlopen fails.
pub fn run(fixture: &Path) -> Result<Report, String> {
    report(crate::command(harness()).arg(fixture))
}

/// Runs the harness built for `arch` ("aarch64", "riscv64") under qemu-user on `fixture`, a
/// fixture of that machine, with that machine's libraries (as `.cargo/config.toml` runs tests).
pub fn run_emulated(arch: &str, fixture: &Path) -> Result<Report, String> {
    if arch == std::env::consts::ARCH {
        // The target's own machine: its harness, run as the tests are.
        return run(fixture);
    }
    let (qemu, root) = match arch {
        "aarch64" => ("qemu-aarch64", "/"),
        "riscv64" => ("qemu-riscv64", "/usr/riscv64-linux-gnu"),
        _ => return Err(format!("no emulator known for {arch}")),
    };
    let harness = crate::dir().join(format!("oracle_harness-{arch}"));
    report(
        Command::new(qemu)
            .arg("-L")
            .arg(root)
            .arg(harness)
            .arg(fixture),
    )
}

fn report(command: &mut Command) -> Result<Report, String> {
    let out = command
        .output()
        .map_err(|e| format!("running {command:?}: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn hex(s: Option<&str>) -> Result<u64, String> {
    let s = s.ok_or("missing field")?;
    u64::from_str_radix(s, 16).map_err(|e| format!("{s}: {e}"))
}

fn dec(s: Option<&str>) -> Result<i64, String> {
    let s = s.ok_or("missing field")?;
    s.parse().map_err(|e| format!("{s}: {e}"))
}

/// Parses the harness's text report (its format: `testdata/oracle/harness.c`).
pub fn parse(text: &str) -> Result<Report, String> {
    let mut r = Report::default();
    let mut lines = text.lines();
    if lines.next() != Some("oracle 1") {
        return Err("not an oracle report (version 1)".into());
    }
    for line in lines {
        let mut f = line.split(' ');
        match f.next() {
            Some("machine") => {
                r.machine = u16::try_from(dec(f.next())?).map_err(|e| e.to_string())?
            }
            Some("base") => r.base = hex(f.next())?,
            Some("tls") => {
                let modid = hex(f.next())?;
                let from_tp = match f.next() {
                    Some("-") => None,
                    s => Some(dec(s)?),
                };
                r.tls = Some((modid, from_tp));
            }
            Some("tlsimport") => {
                let name = f.next().ok_or("tlsimport without a name")?.to_string();
                let t = TlsImport {
                    module_id: hex(f.next())?,
                    offset: hex(f.next())?,
                    block_from_tp: dec(f.next())?,
                };
                r.tls_imports.insert(name, t);
            }
            Some("ifunc") => {
                let resolver = hex(f.next())?;
                r.ifuncs.insert(resolver, hex(f.next())?);
            }
            Some("import") => {
                let name = f.next().ok_or("import without a name")?.to_string();
                r.imports.insert(name, hex(f.next())?);
            }
            Some("reloc") => r.relocs.push(Relocated {
                offset: hex(f.next())?,
                r_type: u32::try_from(dec(f.next())?).map_err(|e| e.to_string())?,
                symbol: f.next().filter(|s| *s != "-").map(str::to_string),
                addend: dec(f.next())?,
                word: hex(f.next())?,
            }),
            Some("segment") => {
                let vaddr = hex(f.next())?;
                let memsz = hex(f.next())?;
                r.segments.push(Segment {
                    vaddr,
                    flags: u32::try_from(hex(f.next())?).map_err(|e| e.to_string())?,
                    relro: dec(f.next())? != 0,
                    bytes: Vec::with_capacity(usize::try_from(memsz).unwrap_or(0)),
                });
            }
            Some("data") => {
                let seg = r.segments.last_mut().ok_or("data before any segment")?;
                let h = f.next().ok_or("empty data line")?;
                for i in (0..h.len()).step_by(2) {
                    let byte = h.get(i..i + 2).ok_or("odd hex length")?;
                    seg.bytes
                        .push(u8::from_str_radix(byte, 16).map_err(|e| e.to_string())?);
                }
            }
            Some("end") => return Ok(r),
            _ => return Err(format!("unexpected line: {line}")),
        }
    }
    Err("report not terminated by `end`".into())
}
