//! An aarch64 plugin (built from testdata/c/foreign_aarch64.c with aarch64-linux-gnu-gcc) on
//! this x86_64 host: an open names the architecture; the dry run still applies every relocation
//! with aarch64's table and formulas, and finds nothing else wrong.
use dynplug::{Error, Loader, Plugin, Unsupported};
use dynplug_fixtures::edit::Elf;
use dynplug_fixtures::path;

fn fixture() -> Vec<u8> {
    std::fs::read(path("foreign_aarch64"))
        .expect("foreign_aarch64.so: install gcc-aarch64-linux-gnu (.ci/run does) and rebuild")
}

#[test]
fn open_names_the_architecture() {
    match unsafe { Plugin::open(path("foreign_aarch64")) } {
        Err(Error::WrongArchitecture { found, .. }) => assert_eq!(found, "aarch64"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dry_run_relocates_with_aarch64_formulas() {
    let r = Loader::new().check_bytes(&fixture()).unwrap();
    match r.problems.as_slice() {
        [Error::WrongArchitecture { found, .. }] => assert_eq!(found, "aarch64"),
        other => panic!("{other:?}"),
    }
    // A relocation type aarch64 does not have is found and named.
    let mut e = Elf::new(fixture());
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
