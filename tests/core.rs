//! The core issue: Go's plugin semantics and every relocation kind the compiler emits, on
//! fixtures built from testdata/c.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::ffi::{c_char, c_void, CString};
use std::path::PathBuf;

use dynplug::{Error, Loader, Plugin, Symbol};
use dynplug_fixtures::{fresh_copy, path};

#[no_mangle]
static mut HOST_VALUE: i32 = 31337;

fn relocs() -> &'static Plugin {
    let loader = Loader::new().export("host_value", &raw const HOST_VALUE as *const c_void);
    unsafe { loader.open(path("relocs")) }.expect("open relocs.so")
}

unsafe fn word(p: &Plugin, name: &str) -> usize {
    unsafe { *p.lookup(name).unwrap().cast::<*const usize>() }
}

#[test]
fn go_doc_example() {
    let p = unsafe { Plugin::open(path("hello")) }.unwrap();
    let v = p.lookup("V").unwrap();
    unsafe { *v.cast::<*mut i32>() = 7 };
    assert_eq!(unsafe { *v.cast::<*const i32>() }, 7);
    unsafe { p.lookup("F").unwrap().cast::<extern "C" fn()>()() };
}

#[test]
fn absolute_64_is_symbol_plus_addend() {
    let p = relocs();
    let answer = p.lookup("answer").unwrap().addr() as usize;
    assert_eq!(unsafe { *(answer as *const i32) }, 42);
    assert_eq!(unsafe { word(p, "abs_ptr") }, answer);
    assert_eq!(unsafe { word(p, "abs_addend") }, answer + 3);
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "no DT_RELR to test: binutils 2.40's ld packs relative relocations for x86 only \
              (-z pack-relative-relocs is unknown to its aarch64 and riscv64 ld)"
)]
fn relr_relative_is_base_plus_addend() {
    let out = std::process::Command::new("readelf")
        .args(["-dW"])
        .arg(path("relocs"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(RELR)"),
        "fixture must carry DT_RELR"
    );
    let p = relocs();
    let ptr = unsafe { word(p, "rel_ptr") } as *const i32;
    assert_eq!(unsafe { *ptr }, 30);
    assert_eq!(unsafe { *ptr.sub(2) }, 10);
}

#[test]
fn glob_dat_binds_host_export_first() {
    let p = relocs();
    let f: extern "C" fn() -> i32 = unsafe { p.lookup("read_host_value").unwrap().cast() };
    assert_eq!(f(), 31337);
}

#[test]
fn unresolved_weak_is_null() {
    let p = relocs();
    assert_eq!(unsafe { word(p, "weak_ptr") }, 0);
    let f: extern "C" fn() -> i32 = unsafe { p.lookup("weak_is_null").unwrap().cast() };
    assert_eq!(f(), 1);
}

#[test]
fn jump_slot_calls_libc() {
    let p = relocs();
    let f: extern "C" fn(*const c_char) -> usize =
        unsafe { p.lookup("call_strlen").unwrap().cast() };
    let s = CString::new("dynplug").unwrap();
    assert_eq!(f(s.as_ptr()), 7);
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "only x86_64's glibc has two memcpy versions (relocs.c imports the old one there)"
)]
fn versioned_imports_bind_the_version_asked_for() {
    let p = relocs();
    let new = unsafe { word(p, "memcpy_new") };
    let old = unsafe { word(p, "memcpy_old") };
    // The host's own memcpy (bound by the system loader to the default version).
    assert_eq!(new, libc::memcpy as *const () as usize);
    assert_ne!(
        old, new,
        "memcpy@GLIBC_2.2.5 is a different function than memcpy@@GLIBC_2.14"
    );
    assert_ne!(old, 0);
}

#[test]
fn ifuncs_run_their_resolvers() {
    let p = relocs();
    let picked: extern "C" fn() -> i32 = unsafe { p.lookup("picked").unwrap().cast() };
    assert_eq!(
        picked(),
        2,
        "lookup of an IFUNC returns what its resolver picked"
    );
    let call: extern "C" fn() -> i32 = unsafe { p.lookup("call_hidden_picked").unwrap().cast() };
    assert_eq!(call(), 2, "IRELATIVE");
    let call: extern "C" fn() -> i32 = unsafe { p.lookup("call_picked").unwrap().cast() };
    assert_eq!(call(), 2, "PLT call to the object's own IFUNC");
}

#[test]
fn lookup_serves_exports_only() {
    let p = relocs();
    assert!(p.lookup("protected_var").is_ok());
    for name in [
        "hidden_var",
        "static_var",
        "table",
        "pick",
        "impl_one",
        "strlen",
        "",
    ] {
        match p.lookup(name) {
            Err(e @ Error::SymbolNotFound { .. }) => {
                assert_eq!(
                    e.to_string(),
                    format!(
                        "plugin: symbol {name} not found in plugin {}",
                        p.path().display()
                    )
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn initialisers_run_in_order_with_real_arguments() {
    let p = unsafe { Plugin::open(path("init")) }.unwrap();
    let order =
        unsafe { std::ffi::CStr::from_ptr(p.lookup("order").unwrap().cast::<*const c_char>()) };
    assert_eq!(order.to_str().unwrap(), dynplug_fixtures::INIT_ORDER);
    let argc = unsafe { *p.lookup("seen_argc").unwrap().cast::<*const i32>() };
    assert_eq!(argc as usize, std::env::args_os().count());
    let argv = unsafe {
        *p.lookup("seen_argv")
            .unwrap()
            .cast::<*const *const *const c_char>()
    };
    let arg0 = unsafe { std::ffi::CStr::from_ptr(*argv) }
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(arg0, std::env::args().next().unwrap());
    extern "C" {
        static environ: *const *const c_char;
    }
    let envp = unsafe {
        *p.lookup("seen_envp")
            .unwrap()
            .cast::<*const *const *const c_char>()
    };
    assert_eq!(envp, unsafe { environ });
}

#[test]
fn same_file_by_any_spelling_is_one_plugin() {
    let copy = fresh_copy("init");
    let a = unsafe { Plugin::open(&copy) }.unwrap();
    let dir = copy.parent().unwrap();
    let link = dir.join(format!("link-{}.so", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&copy, &link).unwrap();
    let dotted: PathBuf = dir.join(".").join(copy.file_name().unwrap());
    let b = unsafe { Plugin::open(&link) }.unwrap();
    let c = unsafe { Plugin::open(&dotted) }.unwrap();
    assert!(std::ptr::eq(a, b) && std::ptr::eq(b, c));
    assert_eq!(a.path(), std::fs::canonicalize(&copy).unwrap());
    let count = unsafe { *a.lookup("init_count").unwrap().cast::<*const i32>() };
    assert_eq!(count, 1, "initialisers ran once");
}

#[test]
fn concurrent_opens_load_once() {
    let copy = fresh_copy("init");
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let copy = copy.clone();
            std::thread::spawn(move || {
                unsafe { Plugin::open(&copy) }.unwrap() as *const Plugin as usize
            })
        })
        .collect();
    let ptrs: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(ptrs.windows(2).all(|w| w[0] == w[1]));
    let p = unsafe { Plugin::open(&copy) }.unwrap();
    assert_eq!(
        unsafe { *p.lookup("init_count").unwrap().cast::<*const i32>() },
        1
    );
}

#[test]
fn undefined_imports_are_all_named() {
    match unsafe { Plugin::open(path("undefined")) } {
        Err(Error::UndefinedSymbols { symbols, .. }) => {
            assert!(
                symbols.contains(&"dynplug_missing_one".to_string()),
                "{symbols:?}"
            );
            assert!(
                symbols.contains(&"dynplug_missing_two".to_string()),
                "{symbols:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Nothing was registered: the same error again, not a half-open plugin.
    assert!(matches!(
        unsafe { Plugin::open(path("undefined")) },
        Err(Error::UndefinedSymbols { .. })
    ));
}

#[test]
fn text_relocations_are_refused() {
    match unsafe { Plugin::open(path("textrel")) } {
        Err(Error::Unsupported {
            feature: dynplug::Unsupported::TextRelocations,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn library_with_an_interpreter_opens() {
    // PT_INTERP (a library that can also run as a program, as libc or libcap can) is ignored,
    // as dlopen ignores it.
    let file = path("interp");
    let object = dynplug_fixtures::inspect::Object::read(&file);
    assert!(object.segment(3).is_some(), "the fixture has a PT_INTERP");
    let p = unsafe { Plugin::open(&file) }.unwrap();
    let answer: extern "C" fn() -> i32 = unsafe { p.lookup("interp_answer").unwrap().cast() };
    assert_eq!(answer(), 42);
    assert!(Loader::new().check(&file).unwrap().problems.is_empty());
}

static REGISTERED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn no_exports_register(value: i32) {
    REGISTERED.store(value, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn plugin_exporting_nothing_registers_itself() {
    // Nothing hashed (GNU hash with every bucket empty, symoffset 1), imports after index 1:
    // the symbol count comes from the relocations, not the empty table.
    let file = path("no_exports");
    let e = dynplug_fixtures::edit::Elf::new(std::fs::read(&file).unwrap());
    let hash = e.offset_of(e.dyn_val(0x6fff_fef5));
    let (nbucket, symoffset) = (e.u32(hash), e.u32(hash + 4));
    assert!(
        (0..nbucket as usize).all(|b| e.u32(hash + 16 + 8 * e.u32(hash + 8) as usize + 4 * b) == 0)
            && symoffset == 1,
        "the fixture's GNU hash is empty"
    );
    let loader = Loader::new().export("no_exports_register", no_exports_register as *const c_void);
    assert!(loader.check(&file).unwrap().problems.is_empty());
    unsafe { loader.open(&file) }.unwrap();
    assert_eq!(REGISTERED.load(std::sync::atomic::Ordering::SeqCst), 7);
}

#[test]
fn initialisers_may_be_other_modules_functions() {
    // DT_INIT_ARRAY entries bound through symbols to a dependency's function and to libc's
    // tzset: code of other modules, which glibc calls as initialisers.
    use dynplug_fixtures::inspect::{Object, DT_INIT_ARRAY, DT_INIT_ARRAYSZ, R_ABS64};
    let object = Object::read(path("init_elsewhere"));
    let start = object.tag(DT_INIT_ARRAY).unwrap();
    let array = start..start + object.tag(DT_INIT_ARRAYSZ).unwrap();
    // Counted inside the array: riscv64's GOT entries are R_RISCV_64 too.
    assert_eq!(
        object
            .relocations_of(R_ABS64)
            .iter()
            .filter(|r| array.contains(&r.place))
            .count(),
        2,
        "two ABS64 entries in DT_INIT_ARRAY"
    );
    unsafe { Plugin::open(path("init_elsewhere")) }.unwrap();
    let dep = unsafe { Plugin::open(path("a_init_dep")) }.unwrap();
    let marks: extern "C" fn() -> i32 = unsafe { dep.lookup("init_dep_marks").unwrap().cast() };
    assert_eq!(marks(), 1, "init_dep_mark ran once, as an initialiser");
    assert!(Loader::new()
        .check(path("init_elsewhere"))
        .unwrap()
        .problems
        .is_empty());
}

#[test]
fn position_independent_executable_is_refused() {
    // DF_1_PIE: a program, whose start-up code expects to be the process's (dlopen refuses it).
    let file = path("pie");
    let object = dynplug_fixtures::inspect::Object::read(&file);
    assert_eq!(
        object.tag(0x6fff_fffb).map(|f| f & 0x0800_0000),
        Some(0x0800_0000)
    );
    let refused = |e: &Error| {
        matches!(
            e,
            Error::Unsupported {
                feature: dynplug::Unsupported::Executable,
                ..
            }
        )
    };
    match unsafe { Plugin::open(&file) } {
        Err(e) if refused(&e) => {}
        other => panic!("{other:?}"),
    }
    let report = Loader::new().check(&file).unwrap();
    assert!(report.problems.iter().any(refused), "{:?}", report.problems);
}

#[test]
fn symbol_is_send_sync_copy() {
    fn check<T: Send + Sync + Copy + std::fmt::Debug + Eq>() {}
    check::<Symbol>();
}

#[test]
fn missing_file_and_directory() {
    assert!(matches!(
        unsafe { Plugin::open("/nonexistent/x.so") },
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        unsafe { Plugin::open(std::env::temp_dir()) },
        Err(Error::IsDirectory { .. })
    ));
}

#[test]
fn exports_macro_exports_functions_and_statics_by_name() {
    #[allow(non_upper_case_globals)]
    static host_value: i32 = 4242;
    let loader = dynplug::exports!(Loader::new(), static host_value);
    let p = unsafe { loader.open(fresh_copy("relocs")) }.unwrap();
    let f: extern "C" fn() -> i32 = unsafe { p.lookup("read_host_value").unwrap().cast() };
    assert_eq!(f(), 4242);
    extern "C" fn host_in_init() {}
    let loader = dynplug::exports!(Loader::new(), fn host_in_init, static host_value);
    let p = unsafe { loader.open(fresh_copy("reenter")) }.unwrap();
    assert_eq!(
        unsafe { *p.lookup("reenter_done").unwrap().cast::<*const i32>() },
        1
    );
}

#[test]
fn large_object_entry_by_entry() {
    // A thousand of each: RELATIVE, R_ABS64, GLOB_DAT, JUMP_SLOT (the fixture is checked to
    // carry them), every entry compared with what it must hold.
    let out = std::process::Command::new("readelf")
        .arg("-rW")
        .arg(path("large"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // riscv64 has no GLOB_DAT: its GOT entries are R_RISCV_64 too.
    let names: &[&str] = if cfg!(target_arch = "aarch64") {
        &[
            "R_AARCH64_RELATIVE",
            "R_AARCH64_ABS64 ",
            "R_AARCH64_GLOB_DAT",
            "R_AARCH64_JUMP_SLOT",
        ]
    } else if cfg!(target_arch = "riscv64") {
        &["R_RISCV_RELATIVE", "R_RISCV_64 ", "R_RISCV_JUMP_SLOT"]
    } else {
        &[
            "R_X86_64_RELATIVE",
            "R_X86_64_64 ",
            "R_X86_64_GLOB_DAT",
            "R_X86_64_JUMP_SLOT",
        ]
    };
    for &t in names {
        assert!(text.matches(t).count() >= 1000, "{t}");
    }
    let p = unsafe { Plugin::open(path("large")) }.unwrap();
    let check_rel: extern "C" fn() -> i32 = unsafe { p.lookup("check_rel").unwrap().cast() };
    assert_eq!(
        check_rel(),
        0,
        "every RELATIVE pointer points at its data[n]"
    );
    let fptr = p.lookup("fptr").unwrap().addr() as *const usize;
    let got_addr: extern "C" fn(i32) -> usize = unsafe { p.lookup("got_addr").unwrap().cast() };
    for i in 0..1000usize {
        // fptr lists f_100..f_999 then f_000..f_099.
        let n = if i < 900 { i + 100 } else { i - 900 };
        let want = p.lookup(&format!("f_{n:03}")).unwrap().addr() as usize;
        assert_eq!(unsafe { *fptr.add(i) }, want, "fptr[{i}] (R_ABS64)");
        assert_eq!(got_addr(n as i32), want, "&f_{n:03} through the GOT");
        let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(want) };
        assert_eq!(f() as usize, n);
    }
    let call_all: extern "C" fn() -> i64 = unsafe { p.lookup("call_all").unwrap().cast() };
    assert_eq!(call_all(), 499_500, "1000 calls through the PLT");
}

#[test]
fn wrong_architecture_is_named() {
    let mut e = dynplug_fixtures::edit::Elf::new(std::fs::read(path("hello")).unwrap());
    // Another machine than the target's: EM_AARCH64 on x86_64, else EM_X86_64.
    let (machine, other, native) = if cfg!(target_arch = "x86_64") {
        (183, "aarch64", "x86_64")
    } else if cfg!(target_arch = "aarch64") {
        (62, "x86_64", "aarch64")
    } else {
        (62, "x86_64", "riscv64")
    };
    e.set_u16(18, machine);
    let p = fresh_copy("hello").with_extension(format!("{other}.so"));
    std::fs::write(&p, &e.bytes).unwrap();
    match unsafe { Plugin::open(&p) } {
        Err(Error::WrongArchitecture {
            found, expected, ..
        }) => {
            assert_eq!((found.as_str(), expected.as_str()), (other, native));
        }
        other => panic!("{other:?}"),
    }
    e.bytes[4] = 1; // ELFCLASS32
    std::fs::write(&p, &e.bytes).unwrap();
    assert!(matches!(
        unsafe { Plugin::open(&p) },
        Err(Error::WrongArchitecture { .. })
    ));
    // A 32-bit x86 file: its machine named, as for the others.
    e.set_u16(18, 3); // EM_386
    std::fs::write(&p, &e.bytes).unwrap();
    match unsafe { Plugin::open(&p) } {
        Err(Error::WrongArchitecture { found, .. }) => {
            assert_eq!(found, "32-bit little-endian i386")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
#[cfg_attr(
    target_arch = "riscv64",
    ignore = "Debian 12 has no riscv64 zlib: its riscv64 packages are only the cross C library, libstdc++ and libgcc"
)]
fn zlib_round_trips_one_mebibyte() {
    let p = unsafe {
        Plugin::open(std::path::Path::new(dynplug_fixtures::lib_dir()).join("libz.so.1"))
    }
    .unwrap();
    type Compress = extern "C" fn(*mut u8, *mut u64, *const u8, u64) -> i32;
    let compress: Compress = unsafe { p.lookup("compress").unwrap().cast() };
    let uncompress: Compress = unsafe { p.lookup("uncompress").unwrap().cast() };
    let bound: extern "C" fn(u64) -> u64 = unsafe { p.lookup("compressBound").unwrap().cast() };
    let input: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x3f)
        .collect();
    let mut packed = vec![0u8; bound(input.len() as u64) as usize];
    let mut n = packed.len() as u64;
    assert_eq!(
        compress(
            packed.as_mut_ptr(),
            &mut n,
            input.as_ptr(),
            input.len() as u64
        ),
        0
    );
    assert!((n as usize) < input.len());
    let mut out = vec![0u8; input.len()];
    let mut m = out.len() as u64;
    assert_eq!(uncompress(out.as_mut_ptr(), &mut m, packed.as_ptr(), n), 0);
    assert_eq!(m as usize, input.len());
    assert!(out == input, "round trip");
}

#[test]
fn own_versioned_library_binds_the_version_asked_for() {
    // a_ver.so defines vfunc@VER_1 (returns 1) and the default vfunc@@VER_2 (returns 2);
    // ver_user.so imports both.
    let p = unsafe { Plugin::open(path("ver_user")) }.unwrap();
    let old: extern "C" fn() -> i32 = unsafe { p.lookup("call_old").unwrap().cast() };
    let new: extern "C" fn() -> i32 = unsafe { p.lookup("call_default").unwrap().cast() };
    assert_eq!((old(), new()), (1, 2));
    // An unversioned lookup finds the default version, never the hidden one.
    let lib = unsafe { Plugin::open(path("a_ver")) }.unwrap();
    assert_eq!(lib.lookup("vfunc").unwrap(), lib.lookup("vfunc_2").unwrap());
}
