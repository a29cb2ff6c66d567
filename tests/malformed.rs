//! Malformed files, each with the exact error variant dynplug must give, through `Plugin::open`
//! of a file and through the dry run of its bytes. Made by editing the compiled hello.so
//! (testdata/src/edit.rs) and from testdata/malformed/ (inputs the fuzzers found).
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::path::PathBuf;

use dynplug::{Error, Loader, Malformed, Plugin};
use dynplug_fixtures::edit::{ph, Elf};
use dynplug_fixtures::{fresh_copy, path};

fn hello() -> Elf {
    Elf::new(std::fs::read(path("hello")).unwrap())
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p =
        fresh_copy("hello").with_file_name(format!("malformed-{name}-{}.so", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Opens `bytes` as a file and dry-runs them; both must fail with a `Malformed` that `want`
/// accepts.
fn expect(name: &str, bytes: &[u8], want: impl Fn(&Malformed) -> bool) {
    match unsafe { Plugin::open(write(name, bytes)) } {
        Err(Error::Malformed { reason, .. }) if want(&reason) => {}
        other => panic!("{name}: open gave {other:?}"),
    }
    let r = Loader::new().check_bytes(bytes).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|e| matches!(e, Error::Malformed { reason, .. } if want(reason))),
        "{name}: dry run gave {:?}",
        r.problems
    );
}

#[test]
fn truncated_header() {
    let e = hello();
    expect("truncated", &e.bytes[..40], |m| {
        matches!(m, Malformed::TruncatedHeader { len: 40 })
    });
    expect("magic", &e.bytes[..4], |m| {
        matches!(m, Malformed::TruncatedHeader { len: 4 })
    });
}

#[test]
fn program_headers_outside_the_file() {
    let mut e = hello();
    let len = e.bytes.len() as u64;
    e.set_u64(0x20, len - 8);
    expect("phoff", &e.bytes, |m| {
        matches!(m, Malformed::PhdrsOutsideFile { .. })
    });
    let mut e = hello();
    e.set_u16(0x38, 0xfff0);
    expect("phnum", &e.bytes, |m| {
        matches!(m, Malformed::PhdrsOutsideFile { .. })
    });
}

#[test]
fn loads_unsorted_or_overlapping() {
    let mut e = hello();
    let loads = e.loads();
    let (a, b) = (loads[0], loads[1]);
    let (ha, hb) = (e.bytes[a..a + 56].to_vec(), e.bytes[b..b + 56].to_vec());
    e.bytes[a..a + 56].copy_from_slice(&hb);
    e.bytes[b..b + 56].copy_from_slice(&ha);
    expect("unsorted", &e.bytes, |m| {
        matches!(m, Malformed::LoadsUnsortedOrOverlapping { .. })
    });
    let mut e = hello();
    let l1 = e.loads()[1];
    let (v0, o0) = (e.u64(loads[0] + ph::VADDR), e.u64(loads[0] + ph::OFFSET));
    e.set_u64(l1 + ph::VADDR, v0);
    e.set_u64(l1 + ph::OFFSET, o0);
    expect("overlapping", &e.bytes, |m| {
        matches!(m, Malformed::LoadsUnsortedOrOverlapping { .. })
    });
}

#[test]
fn filesz_exceeds_memsz() {
    let mut e = hello();
    let l = e.loads()[1];
    e.set_u64(l + ph::FILESZ, e.u64(l + ph::MEMSZ) + 1);
    expect("filesz", &e.bytes, |m| {
        matches!(m, Malformed::FileszExceedsMemsz { .. })
    });
}

#[test]
fn incongruent_offset_and_address() {
    let mut e = hello();
    let l = e.loads()[1];
    e.set_u64(l + ph::VADDR, e.u64(l + ph::VADDR) + 1);
    expect("incongruent", &e.bytes, |m| {
        matches!(m, Malformed::Incongruent { .. })
    });
}

#[test]
fn huge_memsz_is_refused_not_attempted() {
    let mut e = hello();
    let l = *e.loads().last().unwrap();
    e.set_u64(l + ph::MEMSZ, 1 << 60);
    expect("memsz", &e.bytes, |m| {
        matches!(m, Malformed::ImageTooLarge { .. })
    });
}

#[test]
fn no_dynamic_segment() {
    let mut e = hello();
    let (d, _) = e.phdrs().into_iter().find(|p| p.1 == 2).unwrap();
    e.set_u32(d + ph::TYPE, 0);
    expect("nodynamic", &e.bytes, |m| matches!(m, Malformed::NoDynamic));
}

#[test]
fn dynamic_address_outside_the_image() {
    let mut e = hello();
    let at = e.dyn_val_at(5); // DT_STRTAB
    e.set_u64(at, 0x7fff_0000);
    expect("strtab", &e.bytes, |m| {
        matches!(
            m,
            Malformed::AddressOutsideImage {
                tag: "DT_STRTAB",
                ..
            }
        )
    });
    let mut e = hello();
    let at = e.dyn_val_at(7); // DT_RELA
    e.set_u64(at, 0x7fff_0000);
    expect("rela", &e.bytes, |m| {
        matches!(m, Malformed::AddressOutsideImage { tag: "DT_RELA", .. })
    });
}

#[test]
fn string_offset_out_of_range() {
    let mut e = hello();
    let strsz = e.dyn_val(10);
    let at = e.dyn_val_at(1); // DT_NEEDED
    e.set_u64(at, strsz + 100);
    expect("needed", &e.bytes, |m| {
        matches!(m, Malformed::StringOutOfRange { .. })
    });
}

#[test]
fn symbol_index_out_of_range() {
    let mut e = hello();
    let r = *e.relas().last().unwrap(); // the JUMP_SLOT for printf
    let jump_slot = u64::from(dynplug_fixtures::inspect::R_JUMP_SLOT);
    e.set_u64(r + 8, (0x00ff_ffffu64 << 32) | jump_slot);
    expect("symindex", &e.bytes, |m| {
        matches!(
            m,
            Malformed::SymbolIndexOutOfRange {
                index: 0x00ff_ffff,
                ..
            }
        )
    });
}

#[test]
fn relocation_outside_writable_segments() {
    let mut e = hello();
    let r = e.relas()[0]; // a RELATIVE
    e.set_u64(r, 0x10); // into the ELF header's page: read-only
    expect("reloc", &e.bytes, |m| {
        matches!(m, Malformed::RelocationOutsideWritable { offset: 0x10 })
    });
}

#[test]
fn gnu_hash_chain_without_end_terminates() {
    // No chain word has its end bit, up to the end of the segment: the walk runs off the
    // table (instead of on and on) and says so.
    let mut e = hello();
    let first = e.gnu_chains()[0];
    let l = e.loads()[0];
    let end = (e.u64(l + ph::OFFSET) + e.u64(l + ph::FILESZ)) as usize;
    for c in (first..end - 3).step_by(4) {
        let v = e.u32(c);
        e.set_u32(c, v & !1);
    }
    expect("chain", &e.bytes, |m| {
        matches!(m, Malformed::BadHashTable { table: "GNU", .. })
    });
}

#[test]
fn version_index_out_of_range() {
    let mut e = hello();
    let versym = e.offset_of(e.dyn_val(0x6fff_fff0));
    e.set_u16(versym + 2, 0x7ffe);
    expect("versym", &e.bytes, |m| {
        matches!(m, Malformed::BadVersion { .. })
    });
}

/// An address of data, never code: the dynamic section's, in the writable segment. (Not the
/// string table: aarch64's and riscv64's ld put it in the executable segment, having no
/// separate-code by default.)
fn data_address(e: &Elf) -> u64 {
    let (dynamic, _) = e
        .phdrs()
        .into_iter()
        .find(|&(_, t)| t == 2)
        .expect("PT_DYNAMIC");
    e.u64(dynamic + ph::VADDR)
}

#[test]
fn initialiser_pointing_into_data() {
    // The first DT_INIT_ARRAY entry (a RELATIVE relocation) made to point at the dynamic
    // section: not code of this object or of any other, never called.
    let mut e = hello();
    let entry = e.dyn_val(25);
    let rela = e.rela_at_place(entry).expect("the entry is relocated");
    e.set_u64(rela + 16, data_address(&e));
    expect("init-array", &e.bytes, |m| {
        matches!(
            m,
            Malformed::CodeOutsideText {
                what: "DT_INIT_ARRAY entry",
                ..
            }
        )
    });
}

#[test]
fn needing_itself() {
    let mut e = hello();
    // DT_INIT (DT_RELACOUNT where the crt files make no _init: riscv64) becomes DT_SONAME naming
    // the string DT_NEEDED names.
    let (init, _) = e
        .dynamic()
        .into_iter()
        .find(|d| d.1 == 12 || d.1 == 0x6fff_fff9)
        .unwrap();
    let needed = e.dyn_val(1);
    e.set_u64(init, 14);
    e.set_u64(init + 8, needed);
    expect("itself", &e.bytes, |m| {
        matches!(m, Malformed::NeedsItself { .. })
    });
}

#[test]
fn fuzzer_regressions() {
    // testdata/malformed/: inputs the fuzzers found crashing the loader, now typed errors.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/malformed");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        let r = Loader::new().check_bytes(&bytes);
        assert!(
            !matches!(&r, Ok(rep) if rep.is_ok()),
            "{}: must not load",
            p.display()
        );
        assert!(unsafe { Plugin::open(&p) }.is_err(), "{}", p.display());
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn not_elf_directory_unreadable() {
    let p = write("text", b"just some text, not an object file");
    assert!(matches!(
        unsafe { Plugin::open(&p) },
        Err(Error::NotElf { .. })
    ));
    assert!(matches!(
        Loader::new().check_bytes(b"just text"),
        Err(Error::NotElf { .. })
    ));
    // One rule for what is not ELF: what does not begin with the ELF magic, however short (an
    // empty file, part of the magic) or long (text), is `NotElf`, from an open and from the dry
    // run of the file and of its bytes alike.
    for bytes in [&b""[..], b"\x7fEL", b"some text"] {
        let p = write("not-elf", bytes);
        assert!(
            matches!(unsafe { Plugin::open(&p) }, Err(Error::NotElf { .. })),
            "open of {bytes:?}"
        );
        assert!(
            matches!(Loader::new().check(&p), Err(Error::NotElf { .. })),
            "check of {bytes:?}"
        );
        assert!(
            matches!(Loader::new().check_bytes(bytes), Err(Error::NotElf { .. })),
            "check_bytes of {bytes:?}"
        );
    }
    assert!(matches!(
        unsafe { Plugin::open(std::env::temp_dir()) },
        Err(Error::IsDirectory { .. })
    ));
    // A FIFO cannot be read as a file: an error, not a hang.
    let fifo = p.with_file_name(format!("fifo-{}.so", std::process::id()));
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    assert!(matches!(
        unsafe { Plugin::open(&fifo) },
        Err(Error::Io { .. })
    ));
    assert!(matches!(Loader::new().check(&fifo), Err(Error::Io { .. })));
    // A file without read permission: an I/O error, unless this process may read anything
    // (root), in which case it is read like any other.
    let locked = write("locked", &std::fs::read(path("hello")).unwrap());
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let r = unsafe { Plugin::open(&locked) };
    if unsafe { libc::geteuid() } == 0 {
        assert!(r.is_ok(), "{r:?}");
    } else {
        assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
    }
}

#[test]
fn relro_outside_the_image_once_rounded_to_pages() {
    // RELRO is protected in whole pages, its end rounded down (LLD pads it to its page's end,
    // past its PT_LOAD's memsz: accepted, tests/linkers.rs). Whole pages past the pages of its
    // PT_LOAD are outside the image.
    let mut e = hello();
    let (relro, _) = e.phdrs().into_iter().find(|p| p.1 == 0x6474_e552).unwrap();
    let vaddr = e.u64(relro + ph::VADDR);
    let load = e
        .loads()
        .into_iter()
        .find(|&l| {
            let (v, m) = (e.u64(l + ph::VADDR), e.u64(l + ph::MEMSZ));
            (v..v + m).contains(&vaddr)
        })
        .unwrap();
    let load_end = e.u64(load + ph::VADDR) + e.u64(load + ph::MEMSZ);
    let pages_end = (load_end + 0xfff) & !0xfff;
    e.set_u64(relro + ph::MEMSZ, pages_end + 0x1000 - vaddr);
    expect("relro-past-pages", &e.bytes, |m| {
        matches!(
            m,
            Malformed::SegmentNotLoaded {
                what: "PT_GNU_RELRO"
            }
        )
    });
}

#[test]
fn finaliser_pointing_into_data() {
    // Finalisers are checked at open as initialisers are: DT_FINI, then the first
    // DT_FINI_ARRAY entry, made to point at the dynamic section.
    // (riscv64's crt files make no _fini, and DT_FINI is not run there: dynplug_fixtures::DT_INIT_RUNS.)
    let mut e = hello();
    let data = data_address(&e);
    if dynplug_fixtures::DT_INIT_RUNS {
        let fini = e.dyn_val_at(13);
        e.set_u64(fini, data);
        expect("fini", &e.bytes, |m| {
            matches!(
                m,
                Malformed::CodeOutsideText {
                    what: "DT_FINI",
                    ..
                }
            )
        });
    }
    let mut e = hello();
    let entry = e.dyn_val(26);
    let rela = e.rela_at_place(entry).expect("the entry is relocated");
    e.set_u64(rela + 16, data);
    expect("fini-array", &e.bytes, |m| {
        matches!(
            m,
            Malformed::CodeOutsideText {
                what: "DT_FINI_ARRAY entry",
                ..
            }
        )
    });
}
