//! FreeBSD objects on this Linux host: testdata/c/freebsd_plugin.c built with clang for
//! `<arch>-unknown-freebsd13`, -nostdlib (EI_OSABI 9, only host exports and its own code), opens
//! and runs (x86_64 natively, aarch64 under qemu-user when the suite runs there); glibc refuses it
//! ("ELF file OS ABI invalid"). freebsd_libc_user.c, which needs FreeBSD's C library, is refused
//! by its dry run naming libc.so.7 and the FBSD_1.x imports. OS ABIs other than System V, GNU and
//! FreeBSD are refused.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::{c_int, c_void};
use std::sync::atomic::AtomicI32;

use dynplug::{Error, Loader, Plugin, Unsupported};
use dynplug_fixtures::edit::Elf;
use dynplug_fixtures::{fresh_copy, path};

/// Offset of `EI_OSABI` in the ELF identification.
const EI_OSABI: usize = 7;

/// The host's `host_counter` (an `int` to the plugin; an atomic has its layout).
static HOST_COUNTER: AtomicI32 = AtomicI32::new(100);

extern "C" fn host_add(a: c_int, b: c_int) -> c_int {
    a + b
}

fn host() -> Loader {
    Loader::new()
        .export("host_add", host_add as *const c_void)
        .export("host_counter", HOST_COUNTER.as_ptr() as *const c_void)
}

fn f<T: Copy>(p: &Plugin, name: &str) -> T {
    unsafe { p.lookup(name).unwrap_or_else(|e| panic!("{e}")).cast::<T>() }
}

fn word(p: &Plugin, name: &str) -> usize {
    unsafe { *f::<*const usize>(p, name) }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(path(name)).unwrap_or_else(|e| {
        panic!("{name}.so: {e}: install clang and lld (.ci/run does) and rebuild")
    })
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "clang 14 marks riscv64 FreeBSD objects System V (EI_OSABI 0); \
              os_abis_other_than_system_v_gnu_and_freebsd_are_refused loads it marked 9"
)]
fn the_fixture_is_marked_freebsd() {
    assert_eq!(fixture("freebsd_plugin")[EI_OSABI], 9, "ELFOSABI_FREEBSD");
}

#[test]
fn the_fixture_needs_no_c_library() {
    let info = host().inspect(path("freebsd_plugin")).unwrap();
    assert!(
        info.facts.dependencies.is_empty(),
        "{:?}",
        info.facts.dependencies
    );
}

#[test]
fn a_freebsd_object_opens_and_runs_with_host_exports() {
    let p = unsafe { host().open(fresh_copy("freebsd_plugin")) }.unwrap();
    // The initialiser ran, through the PLT to the host: 41 + 1.
    let counter: *const c_int = f(p, "counter");
    assert_eq!(unsafe { *counter }, 42);
    // Relocated data: RELATIVE, a symbol's address, an import's address plus 8.
    let entry: extern "C" fn(c_int) -> c_int = f(p, "plugin_entry");
    assert_eq!(entry(5), 2 * 5 + 42 + 100);
    assert_eq!(word(p, "counter_ptr"), counter as usize);
    assert_eq!(
        word(p, "host_counter_ptr"),
        HOST_COUNTER.as_ptr() as usize + 8
    );
    let square: extern "C" fn(c_int) -> c_int = f(p, "pure_square");
    assert_eq!(square(-9), 81);
}

#[test]
fn a_freebsd_object_s_tls_is_per_thread() {
    let p = unsafe { host().open(fresh_copy("freebsd_plugin")) }.unwrap();
    let next: extern "C" fn() -> c_int = f(p, "tls_next");
    assert_eq!((next(), next()), (7, 8));
    let other = std::thread::spawn(move || (next(), next())).join().unwrap();
    assert_eq!(
        other,
        (7, 8),
        "another thread starts from the initial value"
    );
    assert_eq!(next(), 9);
}

#[test]
fn the_dry_run_of_a_freebsd_object_needing_its_c_library_names_it_and_its_imports() {
    let r = host().check_bytes(&fixture("freebsd_libc_user")).unwrap();
    match r.problems.as_slice() {
        [Error::MissingDependency { library, .. }] => assert_eq!(library, "libc.so.7"),
        other => panic!("{other:?}"),
    }
    let info = host().inspect(path("freebsd_libc_user")).unwrap();
    let mut imports: Vec<String> = info
        .facts
        .imports
        .iter()
        .map(|i| format!("{}@{}", i.name, i.version.as_deref().unwrap_or("")))
        .collect();
    imports.sort();
    assert_eq!(
        imports,
        ["getentropy@FBSD_1.7", "malloc@FBSD_1.0", "puts@FBSD_1.0"]
    );
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "fixtures/aarch64/ is built on x86_64 only (on aarch64 the tests above run this object)"
)]
fn the_aarch64_freebsd_object_relocates_in_the_dry_run() {
    let b = std::fs::read(dynplug_fixtures::dir().join("aarch64/freebsd_plugin.so"))
        .expect("fixtures/aarch64/freebsd_plugin.so: install clang and lld and rebuild");
    assert_eq!(b[EI_OSABI], 9);
    let r = host().check_bytes(&b).unwrap();
    match r.problems.as_slice() {
        [Error::WrongArchitecture { found, .. }] => assert_eq!(found, "aarch64"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn os_abis_other_than_system_v_gnu_and_freebsd_are_refused() {
    let bytes = fixture("freebsd_plugin");
    for (abi, loads) in [(0u8, true), (3, true), (9, true), (6, false), (97, false)] {
        let mut e = Elf::new(bytes.clone());
        e.bytes[EI_OSABI] = abi;
        let r = host().check_bytes(&e.bytes).unwrap();
        if loads {
            assert!(r.problems.is_empty(), "OS ABI {abi}: {:?}", r.problems);
            continue;
        }
        match r.problems.as_slice() {
            [Error::Unsupported {
                feature: Unsupported::OsAbi { os_abi },
                ..
            }] => assert_eq!(*os_abi, abi),
            other => panic!("OS ABI {abi}: {other:?}"),
        }
    }
}

/// What the fixture's IFUNC resolver was given, and how often it ran.
fn resolver_record(p: &Plugin) -> ([u64; 8], c_int) {
    let seen: *const [u64; 8] = f(p, "seen");
    let calls: *const c_int = f(p, "resolver_calls");
    unsafe { (*seen, *calls) }
}

/// The arguments FreeBSD's rtld gives IFUNC resolvers on this machine (`rtld_machdep.h`).
fn freebsd_resolver_arguments() -> [u64; 8] {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__cpuid, __cpuid_count};
        let leaf1 = __cpuid(1);
        let (b7, c7) = if __cpuid(0).eax >= 7 {
            let l7 = __cpuid_count(7, 0);
            (l7.ebx, l7.ecx)
        } else {
            (0, 0)
        };
        // The fixture keeps words 0..4; the rest stay at their initial 1.
        [leaf1.edx, leaf1.ecx, b7, c7]
            .map(u64::from)
            .into_iter()
            .chain([1; 4])
            .collect::<Vec<_>>()
            .try_into()
            .unwrap()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        [0; 8]
    }
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "clang 14 marks riscv64 FreeBSD objects System V: they are called as glibc calls"
)]
fn a_freebsd_object_s_ifunc_resolvers_get_freebsd_rtld_s_arguments() {
    let p = unsafe { host().open(fresh_copy("freebsd_ifunc")) }.unwrap();
    let (seen, calls) = resolver_record(p);
    assert_eq!(seen, freebsd_resolver_arguments());
    // Once for the PLT slot (JUMP_SLOT), once for the IRELATIVE slot.
    assert_eq!(calls, 2);
    let through_plt: extern "C" fn(c_int) -> c_int = f(p, "call_twice");
    let through_irelative: extern "C" fn(c_int) -> c_int = f(p, "call_twice_hidden");
    assert_eq!((through_plt(21), through_irelative(-4)), (42, -8));
    // A lookup gives the implementation (the resolver runs again, with the same arguments).
    let looked_up: extern "C" fn(c_int) -> c_int = f(p, "twice");
    assert_eq!(looked_up(8), 16);
    let (seen, calls) = resolver_record(p);
    assert!(calls >= 3, "{calls}");
    assert_eq!(seen, freebsd_resolver_arguments());
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "glibc gives x86_64 resolvers no argument (nothing to compare) and riscv64's only \
              AT_HWCAP; aarch64's first argument carries _IFUNC_ARG_HWCAP"
)]
fn the_same_object_marked_system_v_gets_glibc_s_arguments() {
    let mut e = Elf::new(fixture("freebsd_ifunc"));
    e.bytes[EI_OSABI] = 0;
    let p = unsafe { host().open_bytes("freebsd_ifunc_as_sysv", &e.bytes) }.unwrap();
    let (seen, calls) = resolver_record(p);
    assert_eq!(calls, 2);
    assert_ne!(seen[0] & 1 << 62, 0, "_IFUNC_ARG_HWCAP: {seen:x?}");
    assert_ne!(seen[1], 0, "&__ifunc_arg_t: {seen:x?}");
}
