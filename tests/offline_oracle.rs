//! `dynplug::offline::relocate` against glibc's own ld.so: `oracle_harness` (testdata/oracle)
//! dlopen()s a fixture and dumps its writable and RELRO segments after relocation; dynplug's
//! offline result at the base glibc chose, with the addresses glibc bound for the imports, the
//! TLS module ids and offsets glibc gave and the results of the fixture's IFUNC resolvers, must be
//! byte-identical. x86_64 natively; aarch64 and riscv64 under qemu-user (fixtures built by their
//! `// cross:` directive). Two differences are glibc's bookkeeping, not relocations, and are
//! allowed only where they are: glibc adds the base to the address entries of `.dynamic` in
//! place on x86_64 and aarch64 (`elf_get_dynamic_info`; checked to be exactly that), and its riscv
//! ld.so stores its lazy resolver and the object's link_map in the first two words of `.got.plt`
//! even under RTLD_NOW.
use std::collections::BTreeSet;
use std::path::PathBuf;

use dynplug::offline::{relocate, Binding, OwnTls, Request, TlsDescriptors};
use dynplug_arch::{Machine, RelocKind};
use dynplug_fixtures::edit::Elf;
use dynplug_fixtures::oracle::{self, Report};

/// `PT_DYNAMIC`.
const PT_DYNAMIC: u32 = 2;

/// `DT_PLTGOT`.
const DT_PLTGOT: u64 = 3;

/// The fixtures whose relocations the harness reports (each dlopen()s standalone), natively.
const NATIVE: &[&str] = &[
    "oracle_kinds",
    "oracle_tls_trad",
    "hello",
    "libc_calls",
    "libc_calls_noplt",
    "layout_now",
    "layout_norelro",
    "layout_noseparate",
    "large",
    "dense",
    "relr",
    "relr_lld",
    "asm_relocs",
    "visibility",
    "a_ver",
    "tls_gd",
    "tls_desc",
    "tls_ie",
    "tls_ie_zero",
    "tls_errno_ie",
];

/// The fixtures built for every machine (`// cross: aarch64 riscv64`).
const CROSS: &[&str] = &[
    "oracle_kinds",
    "oracle_tls_trad",
    "hello",
    "libc_calls",
    "tls_gd",
    "relr_lld",
];

/// A fixture and glibc's report on it.
struct Case {
    name: String,
    image: Vec<u8>,
    report: Report,
    machine: Machine,
}

impl Case {
    fn native(name: &str) -> Case {
        let path = dynplug_fixtures::path(name);
        let report = oracle::run(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        Case::new(name.to_string(), path, report)
    }

    fn emulated(arch: &str, name: &str) -> Case {
        let path = dynplug_fixtures::cross_path(arch, name);
        assert!(
            path.exists(),
            "{}: missing: install gcc-{arch}-linux-gnu (.ci/run does) and rebuild",
            path.display()
        );
        let report = oracle::run_emulated(arch, &path).unwrap_or_else(|e| {
            panic!("{name} under qemu-{arch}: {e}: install qemu-user and the {arch} C library (.ci/run does)")
        });
        Case::new(format!("{arch}/{name}"), path, report)
    }

    fn new(name: String, path: PathBuf, report: Report) -> Case {
        let image = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let machine = Machine::from_e_machine(report.machine).expect("a machine dynplug knows");
        Case {
            name,
            image,
            report,
            machine,
        }
    }

    /// The kind of each relocation glibc applied.
    fn kinds(&self) -> BTreeSet<String> {
        self.report
            .relocs
            .iter()
            .map(|r| self.machine.reloc_name(r.r_type).to_string())
            .collect()
    }

    /// The resolver glibc wrote into the fixture's TLS descriptors (its own function, which
    /// dynplug cannot know: given to the offline request as the static resolver).
    fn tlsdesc_resolver(&self) -> u64 {
        let mut words = self
            .report
            .relocs
            .iter()
            .filter(|r| self.machine.classify(r.r_type) == Some(RelocKind::TlsDesc))
            .map(|r| r.word);
        let first = words.next().unwrap_or(0);
        assert!(
            words.all(|w| w == first),
            "{}: glibc used two descriptor resolvers",
            self.name
        );
        first
    }

    /// The offline relocation with glibc's inputs.
    fn relocate(&self) -> dynplug::offline::Relocated {
        let r = &self.report;
        let imports = |name: &[u8], _version: Option<&[u8]>| {
            let name = std::str::from_utf8(name).ok()?;
            if let Some(t) = r.tls_imports.get(name) {
                return Some(Binding::ThreadLocal {
                    module_id: t.module_id,
                    offset: t.offset,
                    block_from_tp: Some(t.block_from_tp),
                });
            }
            r.imports.get(name).map(|&a| Binding::Address(a))
        };
        let ifunc = |resolver: u64| r.ifuncs.get(&resolver).copied();
        let request = Request {
            imports: &imports,
            ifunc: &ifunc,
            tls: r.tls.map(|(module_id, block_from_tp)| OwnTls {
                module_id,
                block_from_tp,
            }),
            tls_descriptors: TlsDescriptors {
                static_resolver: self.tlsdesc_resolver(),
                dynamic_resolver: 0,
            },
            ..Request::new(r.base)
        };
        relocate(&self.image, &request).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// The link-time range of PT_DYNAMIC.
    fn dynamic(&self) -> std::ops::Range<u64> {
        let elf = Elf::new(self.image.clone());
        let (o, _) = elf
            .phdrs()
            .into_iter()
            .find(|p| p.1 == PT_DYNAMIC)
            .expect("PT_DYNAMIC");
        let vaddr = elf.u64(o + 16);
        vaddr..vaddr + elf.u64(o + 40)
    }

    /// Compares every writable and RELRO byte glibc produced with dynplug's; returns how many
    /// bytes were compared. Panics naming each differing word and the relocation there.
    fn agrees(&self) -> usize {
        let out = self.relocate();
        assert!(
            out.problems.is_empty(),
            "{}: offline problems: {:?}",
            self.name,
            out.problems
        );
        assert!(
            !self.report.segments.is_empty(),
            "{}: nothing dumped",
            self.name
        );
        let dynamic = self.dynamic();
        // The 8-byte words (at aligned link-time addresses) where a byte differs.
        let mut words = BTreeSet::new();
        let mut compared = 0;
        for seg in &self.report.segments {
            let len = seg.bytes.len() as u64;
            let ours = out.bytes_at(seg.vaddr, len).unwrap_or_else(|| {
                panic!(
                    "{}: no offline segment holds {:#x}+{len:#x}",
                    self.name, seg.vaddr
                )
            });
            compared += seg.bytes.len();
            let at = |i: usize| (seg.vaddr + i as u64) & !7;
            words.extend(
                (0..seg.bytes.len())
                    .filter(|&i| seg.bytes.get(i) != ours.get(i))
                    .map(at),
            );
        }
        let glibc_word = |at: u64| {
            self.report.segments.iter().find_map(|s| {
                let from = usize::try_from(at.checked_sub(s.vaddr)?).ok()?;
                let b: [u8; 8] = s.bytes.get(from..from + 8)?.try_into().ok()?;
                Some(u64::from_le_bytes(b))
            })
        };
        let our_word = |at: u64| {
            let b: [u8; 8] = out.bytes_at(at, 8)?.try_into().ok()?;
            Some(u64::from_le_bytes(b))
        };
        let mut differ = Vec::new();
        for at in words {
            let (g, d) = (glibc_word(at), our_word(at));
            if self.dynamic_entry_adjusted(&dynamic, at, g, d) || self.lazy_binding_word(at) {
                continue;
            }
            let reloc = self.report.relocs.iter().find(|r| r.offset == at);
            let what = reloc.map(|r| self.machine.reloc_name(r.r_type));
            differ.push(format!("{at:#x}: glibc {g:x?}, dynplug {d:x?} ({what:?})"));
        }
        assert!(
            differ.is_empty(),
            "{}: {} words differ:\n{}",
            self.name,
            differ.len(),
            differ.join("\n")
        );
        compared
    }

    /// True for the two words glibc's riscv ld.so fills at the start of `.got.plt` even under
    /// RTLD_NOW (`elf_machine_runtime_setup`: its lazy resolver and the object's link_map), which
    /// no relocation writes.
    fn lazy_binding_word(&self, at: u64) -> bool {
        let pltgot = Elf::new(self.image.clone()).dyn_val(DT_PLTGOT);
        self.machine == Machine::Riscv64 && pltgot != 0 && (at == pltgot || at == pltgot + 8)
    }

    /// True if the word at `at` is the value of a `.dynamic` entry that glibc relocated in place
    /// (its `d_ptr` plus the base): glibc's bookkeeping, not a relocation.
    fn dynamic_entry_adjusted(
        &self,
        dynamic: &std::ops::Range<u64>,
        at: u64,
        glibc: Option<u64>,
        ours: Option<u64>,
    ) -> bool {
        let value_slot = dynamic.contains(&at) && (at - dynamic.start) % 16 == 8;
        value_slot && glibc.is_some() && glibc == ours.map(|o| o.wrapping_add(self.report.base))
    }
}

/// Every native relocation fixture, byte for byte.
#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "the fixtures and harnesses of the three machines are built on x86_64 hosts (testdata/build.rs, // cross:)"
)]
fn x86_64_segments_are_glibcs() {
    assert_eq!(
        Machine::host(),
        Some(Machine::X86_64),
        "this test runs on x86_64 hosts"
    );
    let mut kinds = BTreeSet::new();
    for name in NATIVE {
        let case = Case::native(name);
        assert!(case.agrees() > 0);
        kinds.extend(case.kinds());
    }
    for k in [
        "R_X86_64_64",
        "R_X86_64_GLOB_DAT",
        "R_X86_64_JUMP_SLOT",
        "R_X86_64_RELATIVE",
        "R_X86_64_IRELATIVE",
        "R_X86_64_DTPMOD64",
        "R_X86_64_DTPOFF64",
        "R_X86_64_TPOFF64",
        "R_X86_64_TLSDESC",
    ] {
        assert!(kinds.contains(k), "no fixture carries {k}: {kinds:?}");
    }
}

/// Every fixture built for `arch`, under qemu-user; the kinds glibc applied.
fn emulated(arch: &str) -> BTreeSet<String> {
    let mut kinds = BTreeSet::new();
    for name in CROSS
        .iter()
        .chain((arch == "aarch64").then_some(&"tls_desc"))
    {
        let case = Case::emulated(arch, name);
        assert!(case.agrees() > 0);
        kinds.extend(case.kinds());
    }
    kinds
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "the fixtures and harnesses of the three machines are built on x86_64 hosts (testdata/build.rs, // cross:)"
)]
fn aarch64_segments_are_glibcs_under_qemu() {
    let kinds = emulated("aarch64");
    for k in [
        "R_AARCH64_ABS64",
        "R_AARCH64_GLOB_DAT",
        "R_AARCH64_JUMP_SLOT",
        "R_AARCH64_RELATIVE",
        "R_AARCH64_IRELATIVE",
        "R_AARCH64_TLS_DTPMOD",
        "R_AARCH64_TLS_DTPREL",
        "R_AARCH64_TLS_TPREL",
        "R_AARCH64_TLSDESC",
    ] {
        assert!(kinds.contains(k), "no fixture carries {k}: {kinds:?}");
    }
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "the fixtures and harnesses of the three machines are built on x86_64 hosts (testdata/build.rs, // cross:)"
)]
fn riscv64_segments_are_glibcs_under_qemu() {
    let kinds = emulated("riscv64");
    for k in [
        "R_RISCV_64",
        "R_RISCV_JUMP_SLOT",
        "R_RISCV_RELATIVE",
        "R_RISCV_IRELATIVE",
        "R_RISCV_TLS_DTPMOD64",
        "R_RISCV_TLS_DTPREL64",
        "R_RISCV_TLS_TPREL64",
    ] {
        assert!(kinds.contains(k), "no fixture carries {k}: {kinds:?}");
    }
}
