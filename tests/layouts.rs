//! The same plugin (testdata/c/layout.c) under several linker layouts: GNU, SysV and both hash
//! tables, code in its own segments or not, with and without RELRO, BIND_NOW, linked for 4 KiB,
//! 16 KiB, 64 KiB (aarch64's page sizes) and 2 MiB pages. In each: .bss reads zero (including
//! the tail of the last file page, where the file holds other sections), is writable page by
//! page, a 64 KiB-aligned variable stays aligned, and exported code and data are found. And
//! large.c with a SysV hash table only: its 2000 functions looked up by name, and imported by
//! sysv_user.so, which needs it (resolved through its DT_HASH).
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::{c_char, CStr};

use dynplug::{Error, Plugin};
use dynplug_fixtures::inspect::{Object, PT_GNU_RELRO, R_ABS64, R_JUMP_SLOT};
use dynplug_fixtures::path;

const DT_HASH: u64 = 4;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const DT_FLAGS: u64 = 30;
const DF_BIND_NOW: u64 = 8;

const LAYOUTS: [&str; 10] = [
    "layout",
    "layout_sysv_hash",
    "layout_both_hash",
    "layout_noseparate",
    "layout_norelro",
    "layout_now",
    "layout_bigpage",
    "layout_page4k",
    "layout_page16k",
    "layout_page64k",
];

/// The page sizes `layout_page*.c` are linked for (`-z max-page-size`).
const PAGE_SIZES: [(&str, u64); 3] = [
    ("layout_page4k", 0x1000),
    ("layout_page16k", 0x4000),
    ("layout_page64k", 0x10000),
];

fn f<T: Copy>(p: &Plugin, name: &str) -> T {
    unsafe { p.lookup(name).unwrap_or_else(|e| panic!("{e}")).cast::<T>() }
}

#[test]
fn fixtures_have_the_layouts_they_claim() {
    let o = |n: &str| Object::read(path(n));
    let (gnu, sysv, both) = (o("layout"), o("layout_sysv_hash"), o("layout_both_hash"));
    assert!(gnu.tag(DT_GNU_HASH).is_some() && gnu.tag(DT_HASH).is_none());
    assert!(sysv.tag(DT_HASH).is_some() && sysv.tag(DT_GNU_HASH).is_none());
    assert!(both.tag(DT_HASH).is_some() && both.tag(DT_GNU_HASH).is_some());
    assert!(gnu.segment(PT_GNU_RELRO).is_some());
    assert!(o("layout_norelro").segment(PT_GNU_RELRO).is_none());
    assert!(o("layout_now").tag(DT_FLAGS).unwrap_or(0) & DF_BIND_NOW != 0);
    for (name, page) in PAGE_SIZES {
        let loads = o(name).loads();
        // The code segment's alignment is the page size it was linked for (the data segment's
        // is at least layout_aligned's 64 KiB).
        assert_eq!(loads[0].align, page, "{name}: {loads:?}");
        assert!(loads.iter().all(|l| l.align >= page), "{name}: {loads:?}");
    }
    let large = o("large_sysv_hash");
    assert!(large.tag(DT_HASH).is_some() && large.tag(DT_GNU_HASH).is_none());
}

#[test]
fn every_layout_loads_zeroed_writable_and_aligned() {
    for name in LAYOUTS {
        let p = unsafe { Plugin::open(path(name)) }.unwrap_or_else(|e| panic!("{name}: {e}"));
        let nonzero: extern "C" fn() -> i64 = f(p, "layout_nonzero_bss");
        assert_eq!(nonzero(), 0, "{name}: .bss reads zero");
        let data = p.lookup("layout_data").unwrap().addr() as *const [u8; 4];
        assert_eq!(unsafe { *data }, [1, 2, 3, 0], "{name}: .data");
        let aligned = p.lookup("layout_aligned").unwrap().addr() as usize;
        assert_eq!(aligned % 65536, 0, "{name}: layout_aligned at {aligned:#x}");
        assert_eq!(unsafe { *(aligned as *const u8) }, 7, "{name}");
        let ro = unsafe { CStr::from_ptr(f::<*const c_char>(p, "layout_rodata")) };
        assert_eq!(ro.to_str().unwrap(), "read-only", "{name}");
        let fun: extern "C" fn(i32) -> i32 = f(p, "layout_fn");
        assert_eq!(fun(14), 42, "{name}");
        let touch: extern "C" fn() -> i64 = f(p, "layout_touch");
        let pages = (8 << 20) / 4096;
        assert_eq!(touch(), 3000 / 512 + 1 + 2 * pages, "{name}: .bss writable");
        assert!(matches!(
            p.lookup("bss_small"),
            Err(Error::SymbolNotFound { .. })
        ));
    }
}

#[test]
fn sysv_hash_finds_every_symbol_and_nothing_else() {
    let p = unsafe { Plugin::open(path("large_sysv_hash")) }.unwrap();
    let got_addr: extern "C" fn(i32) -> usize = f(p, "got_addr");
    for n in 0..1000 {
        for prefix in ["f", "g"] {
            let name = format!("{prefix}_{n:03}");
            let s = p.lookup(&name).unwrap_or_else(|e| panic!("{e}"));
            let fun: extern "C" fn() -> i32 = unsafe { s.cast() };
            assert_eq!(fun(), n, "{name}");
            if prefix == "f" {
                // The address the plugin's own GOT holds (bound by symbol index, not by name).
                assert_eq!(s.addr() as usize, got_addr(n), "{name}");
            }
        }
    }
    for name in [
        "f_1000",
        "f_",
        "F_001",
        "g_0001",
        "h_001",
        "call_al",
        "call_all_",
    ] {
        assert!(
            matches!(p.lookup(name), Err(Error::SymbolNotFound { .. })),
            "{name}"
        );
    }
    let call_all: extern "C" fn() -> i64 = f(p, "call_all");
    assert_eq!(call_all(), 499_500);
}

#[test]
fn imports_resolve_through_a_dependency_s_sysv_hash() {
    let user = Object::read(path("sysv_user"));
    let imports = |t: u32| {
        user.relocations_of(t)
            .iter()
            .filter(|r| r.symbol.starts_with(if t == R_ABS64 { "f_" } else { "g_" }))
            .count()
    };
    assert_eq!(imports(R_ABS64), 1000);
    assert_eq!(imports(R_JUMP_SLOT), 1000);

    let p = unsafe { Plugin::open(path("sysv_user")) }.unwrap();
    let call_all: extern "C" fn() -> i64 = f(p, "sysv_call_all");
    assert_eq!(call_all(), 499_500, "1000 calls bound through DT_HASH");
    let table = p.lookup("sysv_fptr").unwrap().addr() as *const Option<extern "C" fn() -> i32>;
    for i in 0..1000 {
        let n = if i < 900 { i + 100 } else { i - 900 };
        let fun = unsafe { *table.add(i as usize) }.unwrap_or_else(|| panic!("f_{n:03} unbound"));
        assert_eq!(fun(), n, "sysv_fptr[{i}] is f_{n:03}");
    }
}
