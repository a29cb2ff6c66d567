//! IFUNC resolvers (testdata/c/ifunc.c) run after every other relocation of their object: the
//! resolver calls strlen through the PLT and reads a host variable through the GOT, and its
//! choice (made from that variable) is what every path to the IFUNC reaches. And when an import
//! is missing, no resolver runs at all: the open fails before any of the plugin's code runs.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::{c_int, c_void};

use dynplug::{Error, Loader, Plugin};
use dynplug_fixtures::fresh_copy;
use dynplug_fixtures::inspect::{Object, R_ABS64, R_IRELATIVE, R_JUMP_SLOT};

static CHOOSE_B: c_int = 2;
static CHOOSE_A: c_int = 1;

fn open(choice: &'static c_int) -> &'static Plugin {
    let loader = Loader::new().export("host_choice", choice as *const c_int as *const c_void);
    unsafe { loader.open(fresh_copy("ifunc")) }.unwrap()
}

fn every_path(p: &Plugin) -> [c_int; 4] {
    let f = |n: &str| -> extern "C" fn() -> c_int { unsafe { p.lookup(n).unwrap().cast() } };
    let ptr = unsafe {
        *p.lookup("chosen_ptr")
            .unwrap()
            .cast::<*const extern "C" fn() -> c_int>()
    };
    [
        f("call_chosen")(),
        f("call_chosen_local")(),
        f("chosen")(),
        ptr(),
    ]
}

#[test]
fn fixture_reaches_the_ifunc_every_way() {
    let o = Object::read(dynplug_fixtures::path("ifunc"));
    let r = o.relocations();
    let has = |t: u32, s: &str| r.iter().any(|r| r.r_type == t && r.symbol == s);
    assert!(has(R_IRELATIVE, ""));
    assert!(has(R_JUMP_SLOT, "chosen"));
    assert!(has(R_ABS64, "chosen"));
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "aarch64's and riscv64's ld put strlen's PLT slot first: the case of a resolver \
              bound before a slot it calls through needs x86_64's order"
)]
fn fixture_puts_the_ifunc_slot_before_strlens() {
    let o = Object::read(dynplug_fixtures::path("ifunc"));
    let r = o.relocations();
    // The own IFUNC's slot comes before strlen's: binding it on the way would call the
    // resolver with strlen's slot still unbound.
    let pos = |s: &str| {
        r.iter()
            .position(|r| r.r_type == R_JUMP_SLOT && r.symbol == s)
    };
    assert!(pos("chosen").unwrap() < pos("strlen").unwrap());
}

#[test]
fn resolver_sees_a_fully_relocated_object() {
    // A resolver run too early crashes (it calls through an unbound PLT slot): the opens run in
    // a child process, so that a crash fails this test instead of killing the others.
    if in_child("resolver_sees_a_fully_relocated_object") {
        assert_eq!(every_path(open(&CHOOSE_B)), [20; 4]);
        assert_eq!(every_path(open(&CHOOSE_A)), [10; 4]);
    }
}

#[test]
fn no_resolver_runs_when_an_import_is_missing() {
    // Without host_choice the open fails before any code of the plugin runs: an undefined
    // symbol, not a resolver reading through an unbound GOT entry.
    if in_child("no_resolver_runs_when_an_import_is_missing") {
        match unsafe { Plugin::open(fresh_copy("ifunc")) } {
            Err(Error::UndefinedSymbols { symbols, .. }) => assert_eq!(symbols, ["host_choice"]),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_ifunc_resolver_outside_the_code_is_refused() {
    // The exported IFUNC `chosen` moved onto a data object: binding it would call into data.
    // The open fails with the address named, before any code of the plugin runs (in a child, so
    // that a call into data fails this test instead of killing the others).
    if in_child("an_ifunc_resolver_outside_the_code_is_refused") {
        let bytes = std::fs::read(dynplug_fixtures::path("ifunc")).unwrap();
        let mut e = dynplug_fixtures::edit::Elf::new(bytes);
        let (data, _) = e.symbol("ifunc_resolver_calls").unwrap();
        assert!(e.set_symbol_value("chosen", data));
        let p = fresh_copy("ifunc").with_extension("moved.so");
        std::fs::write(&p, &e.bytes).unwrap();
        let loader =
            Loader::new().export("host_choice", &CHOOSE_A as *const c_int as *const c_void);
        match unsafe { loader.open(&p) } {
            Err(Error::Malformed {
                reason: dynplug::Malformed::CodeOutsideText { what, addr },
                ..
            }) => {
                assert_eq!(what, "IFUNC resolver");
                assert_eq!(addr % 0x1000, data % 0x1000, "the moved address is named");
            }
            other => panic!("{other:?}"),
        }
    }
}

const CHILD: &str = "DYNPLUG_IFUNC_TEST_CHILD";

/// True in the child process, which runs the test's body; in the parent, runs `test` in a child
/// and asserts that it passed (a crash there is a failure here).
fn in_child(test: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let out = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    false
}

#[test]
fn a_lookup_runs_only_the_resolver_of_the_symbol_looked_up_as_dlsym_does() {
    let p = open(&CHOOSE_B);
    let calls = unsafe {
        p.lookup("ifunc_resolver_calls")
            .unwrap()
            .cast::<*const c_int>()
    };
    // The open ran it for the PLT slot, the IRELATIVE slot and the data pointer (glibc: the same).
    let at_open = unsafe { *calls };
    assert_eq!(at_open, 3);
    // Looking up other symbols (the first lookup indexes the exports) runs no resolver...
    for name in ["call_chosen", "chosen_ptr", "ifunc_resolver_calls"] {
        p.lookup(name).unwrap();
    }
    assert_eq!(unsafe { *calls }, at_open);
    // ... and each lookup of the IFUNC runs its resolver once, as each dlsym of it does.
    for n in 1..=2 {
        p.lookup("chosen").unwrap();
        assert_eq!(unsafe { *calls }, at_open + n);
    }
}
