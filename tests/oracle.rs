//! glibc's ld.so as the oracle for dynplug-arch's formulas: `oracle_harness` (testdata/oracle)
//! dlopen()s a fixture and reports every relocation with the word glibc left at its place; each
//! word must be what dynplug-arch computes from the same base, symbol addresses and addend.
//! (tests/offline_oracle.rs compares whole segments with `dynplug::offline::relocate`.)
use dynplug_arch::{compute, compute_tls, Inputs, Machine, RelocKind, TlsInputs};
use dynplug_fixtures::edit::Elf;
use dynplug_fixtures::{oracle, path};

/// What dynplug-arch computes for `r` in `fixture` loaded as glibc reported; `Err` names a kind
/// this comparison does not cover.
fn expected(
    machine: Machine,
    fixture: &Elf,
    report: &oracle::Report,
    r: &oracle::Relocated,
) -> Result<Option<u64>, String> {
    let kind = machine
        .classify(r.r_type)
        .ok_or_else(|| format!("type {} unknown to dynplug-arch", r.r_type))?;
    // The fixture's own definition (st_value, 0 if undefined there), and glibc's address for it.
    let own = r
        .symbol
        .as_deref()
        .and_then(|n| fixture.symbol(n))
        .map_or(0, |(value, _)| value);
    let bound = match r.symbol.as_deref() {
        None => 0,
        Some(name) => match report.imports.get(name) {
            Some(&addr) => addr,
            // Defined here (not an import), or an unresolved weak import (0).
            None if own != 0 => report.base + own,
            None => 0,
        },
    };
    if kind.is_tls() {
        let (module_id, block_from_tp) = report.tls.ok_or("TLS relocation without PT_TLS")?;
        let block_from_tp = block_from_tp.unwrap_or(0);
        if r.symbol.is_some()
            && report
                .imports
                .contains_key(r.symbol.as_deref().unwrap_or(""))
        {
            return Err("TLS relocation against another module".into());
        }
        let v = TlsInputs {
            module_id,
            s: own,
            a: r.addend,
            block_from_tp,
        };
        return compute_tls(kind, machine.tls(), &v)
            .map(|w| Some(w.value))
            .map_err(|e| format!("{kind:?}: {e:?}"));
    }
    if matches!(kind, RelocKind::IRelative | RelocKind::Copy) {
        return Err(format!("{kind:?} is not compared here"));
    }
    let v = Inputs {
        s: bound,
        a: r.addend,
        b: report.base,
        p: report.base + r.offset,
        z: 0,
    };
    compute(kind, machine.got_addend(), &v)
        .map(|w| w.map(|w| w.value))
        .map_err(|e| format!("{kind:?}: {e:?}"))
}

/// Every relocation of fixture `name` as glibc applied it (`report`) equals dynplug-arch's value;
/// returns how many were compared.
fn agrees(name: &str, report: &oracle::Report) -> usize {
    let machine = Machine::from_e_machine(report.machine).expect("a machine dynplug-arch knows");
    let fixture = Elf::new(std::fs::read(path(name)).unwrap());
    assert!(!report.relocs.is_empty(), "{name}: no relocations reported");
    assert!(
        !report.segments.is_empty(),
        "{name}: no writable segment reported"
    );
    let mut compared = 0;
    for r in &report.relocs {
        let want =
            expected(machine, &fixture, report, r).unwrap_or_else(|e| panic!("{name}: {r:?}: {e}"));
        if let Some(want) = want {
            let what = machine.reloc_name(r.r_type);
            assert_eq!(r.word, want, "{name}: {r:?} ({what})");
            compared += 1;
        }
    }
    compared
}

/// [`agrees`] for a fixture of this machine, relocated by this process's glibc.
fn glibc_agrees(name: &str) -> usize {
    let report = oracle::run(&path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(Machine::from_e_machine(report.machine), Machine::host());
    agrees(name, &report)
}

/// [`agrees`] for a fixture of `arch`, relocated by that machine's glibc under qemu-user.
fn emulated_glibc_agrees(arch: &str, name: &str) -> usize {
    let report = oracle::run_emulated(arch, &path(name)).unwrap_or_else(|e| {
        panic!("{name} under qemu ({arch}): {e}: install qemu-user and the cross toolchain (.ci/run does)")
    });
    assert_eq!(
        Machine::from_e_machine(report.machine).map(Machine::name),
        Some(arch)
    );
    agrees(name, &report)
}

#[test]
fn data_got_and_plt_words_are_glibcs() {
    // RELATIVE, GLOB_DAT against its own and libc's symbols, JUMP_SLOT into libc and libm (many
    // of them IFUNCs: glibc binds the implementation dlsym also gives).
    for name in [
        "hello",
        "libc_calls",
        "libc_calls_noplt",
        "layout_now",
        "large",
    ] {
        assert!(glibc_agrees(name) > 0);
    }
}

#[test]
fn general_dynamic_tls_words_are_glibcs() {
    // DTPMOD64 (the module id glibc gave) and DTPOFF64 against the module's own variables.
    let report = oracle::run(&path("tls_gd")).unwrap();
    assert!(report.tls.is_some_and(|(modid, _)| modid > 0));
    let tls = report
        .relocs
        .iter()
        .filter(|r| {
            Machine::host()
                .and_then(|m| m.classify(r.r_type))
                .is_some_and(|k| k.is_tls())
        })
        .count();
    assert!(tls >= 2, "tls_gd carries TLS relocations: {tls}");
    glibc_agrees("tls_gd");
}

/// riscv64's R_RISCV_64 (data with and without an addend, and GOT), RELATIVE, JUMP_SLOT, TLS_DTPMOD64 and TLS_DTPREL64
/// (with riscv's 0x800 DTV offset) as glibc's riscv64 ld.so applies them.
#[test]
fn riscv64_words_are_glibcs_under_qemu() {
    let tls = |r: &oracle::Relocated| {
        Machine::Riscv64
            .classify(r.r_type)
            .is_some_and(|k| k.is_tls())
    };
    let report = oracle::run_emulated("riscv64", &path("foreign_riscv64")).unwrap();
    assert_eq!(
        report.relocs.iter().filter(|r| tls(r)).count(),
        2,
        "DTPMOD64 and DTPREL64"
    );
    assert!(emulated_glibc_agrees("riscv64", "foreign_riscv64") >= 10);
}

/// aarch64's ABS64 (with and without an addend), RELATIVE, GLOB_DAT and JUMP_SLOT as glibc's
/// aarch64 ld.so applies them.
#[test]
fn aarch64_words_are_glibcs_under_qemu() {
    assert!(emulated_glibc_agrees("aarch64", "foreign_aarch64") >= 8);
}

#[test]
fn the_report_is_read_exactly() {
    let text = "oracle 1\nmachine 62\nbase 7f0000000000\ntls 2 -64\nimport strlen 7f00000012a0\n\
                reloc 3df0 8 - -16 7f0000001100\nreloc 3fc8 6 V 0 7f0000004014\n\
                tlsimport errno 1 10 -144\nifunc 7f0000001165 7f000000115f\n\
                segment 3de0 30 6 1\ndata 00ff\ndata 10\nend\n";
    let r = oracle::parse(text).unwrap();
    assert_eq!(
        (r.machine, r.base, r.tls),
        (62, 0x7f00_0000_0000, Some((2, Some(-64))))
    );
    assert_eq!(r.imports["strlen"], 0x7f00_0000_12a0);
    let errno = r.tls_imports["errno"];
    assert_eq!(
        (errno.module_id, errno.offset, errno.block_from_tp),
        (1, 0x10, -144)
    );
    assert_eq!(r.ifuncs[&0x7f00_0000_1165], 0x7f00_0000_115f);
    assert_eq!(
        oracle::parse("oracle 1\ntls 2 -\nend\n").unwrap().tls,
        Some((2, None))
    );
    assert_eq!(r.relocs[0].addend, -16);
    assert_eq!(r.relocs[1].symbol.as_deref(), Some("V"));
    assert_eq!(r.segments[0].bytes, [0x00, 0xff, 0x10]);
    assert!(r.segments[0].relro);
    assert!(oracle::parse("oracle 1\nbase 10\n").is_err(), "no end");
}
