//! DT_RELR, packed relative relocations (`-Wl,-z,pack-relative-relocs`): relr.so (built from
//! testdata/c/relr.c by GNU ld, which packs them on x86 only) and relr_lld.so (the same, linked
//! by LLD 19, which packs them on every machine) carry more than a thousand RELATIVE
//! relocations, all packed, in each of the encoding's shapes (address entries, full bitmaps,
//! bitmaps with holes, places beyond a bitmap's reach); every pointer is checked, and so are the
//! words between them.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use dynplug::Plugin;
use dynplug_fixtures::inspect::{Object, DT_RELR, R_RELATIVE};
use dynplug_fixtures::path;

const N: usize = 512;
const FAR: usize = 64;

fn f<T: Copy>(p: &Plugin, name: &str) -> T {
    unsafe { p.lookup(name).unwrap_or_else(|e| panic!("{e}")).cast::<T>() }
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "no DT_RELR to test: binutils 2.40's ld packs relative relocations for x86 only \
              (-z pack-relative-relocs is unknown to its aarch64 and riscv64 ld)"
)]
fn gnu_ld_packs_every_relative_relocation_into_relr() {
    packs_every_relative_relocation("relr");
}

#[test]
fn lld_packs_every_relative_relocation_into_relr() {
    packs_every_relative_relocation("relr_lld");
}

/// The fixture `name` has DT_RELR and no RELATIVE left in DT_RELA, and packs every pointer.
fn packs_every_relative_relocation(name: &str) {
    let o = Object::read(path(name));
    assert!(o.tag(DT_RELR).is_some(), "{name}.so has DT_RELR");
    assert_eq!(
        o.relocations_of(R_RELATIVE),
        vec![],
        "no RELATIVE is left in DT_RELA: the loader must decode DT_RELR to get any pointer right"
    );
    let places = o.relr_places();
    let sym = |n: &str| o.symbol_value(n).unwrap_or_else(|| panic!("{n}"));
    let (dense, sparse, far) = (sym("relr_dense"), sym("relr_sparse"), sym("relr_far"));
    for i in 0..N as u64 {
        assert!(places.contains(&(dense + 8 * i)), "relr_dense[{i}]");
        assert!(places.contains(&(sparse + 24 * i)), "relr_sparse[{i}].p");
        assert!(
            !places.contains(&(sparse + 24 * i + 8)),
            "relr_sparse[{i}].x"
        );
    }
    for i in 0..FAR as u64 {
        assert!(places.contains(&(far + 800 * i)), "relr_far[{i}].p");
    }
    assert!(o.relr_bitmaps() >= N / 63, "bitmap entries");
}

#[test]
fn every_packed_pointer_is_base_plus_addend() {
    // relr.so off x86 has its pointers as RELATIVE in DT_RELA: checked all the same.
    for name in ["relr", "relr_lld"] {
        pointers_are_base_plus_addend(name);
    }
}

fn pointers_are_base_plus_addend(name: &str) {
    let p = unsafe { Plugin::open(path(name)) }.unwrap_or_else(|e| panic!("{name}: {e}"));
    let base = f::<extern "C" fn() -> usize>(p, "relr_base")();
    assert_eq!(f::<extern "C" fn() -> i32>(p, "relr_count")(), N as i32);

    let dense = p.lookup("relr_dense").unwrap().addr() as *const usize;
    for i in 0..N {
        assert_eq!(unsafe { *dense.add(i) }, base + 4 * i, "relr_dense[{i}]");
    }
    // struct { int *p; long x, y; }: the bitmap bits for x and y are clear, so the words stay.
    let sparse = p.lookup("relr_sparse").unwrap().addr() as *const [usize; 3];
    for i in 0..N {
        let [ptr, x, y] = unsafe { *sparse.add(i) };
        assert_eq!(ptr, base + 4 * i, "relr_sparse[{i}].p");
        assert_eq!(
            (x, y as isize),
            (i, -1),
            "relr_sparse[{i}].x and .y untouched"
        );
    }
    // struct { int *p; long pad[99]; }: 800 bytes apart.
    let far = p.lookup("relr_far").unwrap().addr() as *const [usize; 100];
    for i in 0..FAR {
        let entry = unsafe { &*far.add(i) };
        assert_eq!(entry[0], base + 4 * i, "relr_far[{i}].p");
        assert!(entry[1..].iter().all(|&w| w == 0), "relr_far[{i}].pad");
    }
    assert_eq!(
        f::<extern "C" fn() -> i32>(p, "relr_check")(),
        0,
        "the plugin's own count of wrong pointers"
    );
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "no DT_RELR to test: binutils 2.40's ld packs relative relocations for x86 only \
              (-z pack-relative-relocs is unknown to its aarch64 and riscv64 ld)"
)]
fn relocs_fixture_packs_rel_ptr() {
    // core.rs's `relr_relative_is_base_plus_addend` reads relocs.so's rel_ptr: it must come from
    // DT_RELR, not DT_RELA.
    let o = Object::read(path("relocs"));
    let place = o.symbol_value("rel_ptr").unwrap();
    assert!(o.relr_places().contains(&place));
    assert_eq!(o.relocation_at(place), None);
}
