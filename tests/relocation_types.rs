//! Relocation types no C compiler emits in a shared object (PC64, PC32, 32, 32S, SIZE64,
//! SIZE32, NONE, COPY, unknown): relocs.so (built from testdata/c/relocs.c) with the type of its
//! `abs_ptr = &answer` relocation rewritten, opened from bytes, and the word checked against
//! the formula (S + A − P, Z + A, ...) or the typed error.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use dynplug::{Error, Loader, Malformed, Plugin, Unsupported};
use dynplug_fixtures::edit::Elf;
use dynplug_fixtures::path;

/// The target's numbers for the types tested (x86_64's, aarch64's, riscv64's); a type the
/// machine does not have is `None` and its test is ignored there, saying so.
struct Types {
    pc64: u64,
    copy: u64,
    /// The 32-bit absolute types and their names.
    abs32: &'static [(u64, &'static str)],
}

#[cfg(target_arch = "x86_64")]
const TYPES: Types = Types {
    pc64: 24,
    copy: 5,
    abs32: &[(10, "R_X86_64_32"), (11, "R_X86_64_32S")],
};
#[cfg(target_arch = "aarch64")]
const TYPES: Types = Types {
    pc64: 260,
    copy: 1024,
    abs32: &[(258, "R_AARCH64_ABS32")],
};
#[cfg(target_arch = "riscv64")]
const TYPES: Types = Types {
    pc64: 0,
    copy: 4,
    abs32: &[],
};

/// relocs.so with the relocation of `abs_ptr` given type `r_type`, and the addend `addend`.
fn retyped(r_type: u64, addend: i64) -> Vec<u8> {
    let mut e = Elf::new(std::fs::read(path("relocs")).unwrap());
    let (place, _) = e.symbol("abs_ptr").expect("abs_ptr");
    let r = e.rela_at_place(place).expect("the relocation of abs_ptr");
    let sym = e.u64(r + 8) >> 32;
    e.set_u64(r + 8, (sym << 32) | r_type);
    e.set_u64(r + 16, addend as u64);
    e.bytes
}

fn open(name: &str, r_type: u64, addend: i64) -> Result<&'static Plugin, Error> {
    let host_value = 0i32;
    let loader = Loader::new().export(
        "host_value",
        &host_value as *const i32 as *const std::ffi::c_void,
    );
    unsafe { loader.open_bytes(name, &retyped(r_type, addend)) }
}

/// (P, S, the u64 at P) for a plugin opened with a retyped relocation.
fn place(p: &Plugin) -> (u64, u64, u64) {
    let at = p.lookup("abs_ptr").unwrap().addr() as u64;
    let s = p.lookup("answer").unwrap().addr() as u64;
    (at, s, unsafe { *(at as *const u64) })
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "RV64 has no 64-bit PC-relative dynamic relocation"
)]
fn pc64_is_symbol_plus_addend_minus_place() {
    let (p, s, v) = place(open("pc64", TYPES.pc64, 5).unwrap());
    assert_eq!(v, s.wrapping_add(5).wrapping_sub(p));
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "x86_64's R_X86_64_PC32: aarch64's PREL32 and riscv's are not dynamic relocations \
              glibc handles"
)]
fn pc32_writes_four_bytes_of_s_plus_a_minus_p() {
    let (p, s, v) = place(open("pc32", 2, -7).unwrap());
    let want = s.wrapping_sub(7).wrapping_sub(p) as i64;
    assert!(i32::try_from(want).is_ok(), "same image: within ±2 GiB");
    assert_eq!(v as u32, want as i32 as u32);
    assert_eq!(v >> 32, 0, "the upper half is untouched");
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "x86_64's R_X86_64_SIZE64/SIZE32: aarch64 and riscv64 have no size relocations"
)]
fn size64_and_size32_are_size_plus_addend() {
    let (_, _, v) = place(open("size64", 33, 10).unwrap());
    assert_eq!(v, 4 + 10, "answer is an int: st_size 4");
    let (_, _, v) = place(open("size32", 32, 1).unwrap());
    assert_eq!(v, 5);
}

#[test]
fn none_writes_nothing() {
    let (_, _, v) = place(open("none", 0, 0).unwrap());
    assert_eq!(v, 0, "RELA: the file holds 0 at the place");
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "RV64 has no 32-bit absolute dynamic relocation (glibc refuses R_RISCV_32)"
)]
fn absolute32_that_does_not_fit_is_an_overflow_error() {
    // The plugin is mapped far above 4 GiB: S + A does not fit 32 bits, signed or not.
    for &(t, name) in TYPES.abs32 {
        match open(name, t, 0) {
            Err(Error::Malformed {
                reason: Malformed::RelocationOverflow { name: n, .. },
                ..
            }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn copy_and_unknown_types_are_refused() {
    assert!(matches!(
        open("copy", TYPES.copy, 0),
        Err(Error::Unsupported {
            feature: Unsupported::CopyRelocation { .. },
            ..
        })
    ));
    match open("unknown", 99, 0) {
        Err(Error::Unsupported {
            feature: Unsupported::Relocation { r_type: 99, .. },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let r = Loader::new()
        .export("host_value", 8 as *const std::ffi::c_void)
        .check_bytes(&retyped(99, 0))
        .unwrap();
    assert!(matches!(
        r.problems.as_slice(),
        [Error::Unsupported {
            feature: Unsupported::Relocation { r_type: 99, .. },
            ..
        }]
    ));
}
