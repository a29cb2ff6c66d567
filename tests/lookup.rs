//! Go's Lookup on visibility.so (testdata/c/visibility.c): every defined symbol of global or weak
//! binding and default or protected visibility is found (here each under a default symbol
//! version), with the address its code uses; anything else fails with Go's message.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use dynplug::{Error, Plugin};
use dynplug_fixtures::path;

fn plugin() -> &'static Plugin {
    unsafe { Plugin::open(path("visibility")) }.unwrap()
}

#[test]
fn exported_variables_and_functions_are_found() {
    let p = plugin();
    for (var, value) in [("vis_default", 1), ("vis_weak", 2), ("vis_protected", 3)] {
        let s = p.lookup(var).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(unsafe { *s.cast::<*const i32>() }, value, "{var}");
        let f = p
            .lookup(&format!("{var}_fn"))
            .unwrap_or_else(|e| panic!("{e}"));
        let f: extern "C" fn() -> i32 = unsafe { f.cast() };
        assert_eq!(f(), value, "{var}_fn");
    }
    // The variable lookup returns is the one the plugin's code uses.
    unsafe { *p.lookup("vis_default").unwrap().cast::<*mut i32>() = 100 };
    let sum: extern "C" fn() -> i32 = unsafe { p.lookup("vis_sum_unexported").unwrap().cast() };
    assert_eq!(sum(), 4 + 4 + 5 + 6 + 7 + 7, "the unexported ones exist");
    let s = p.lookup("vis_default").unwrap();
    assert_eq!(unsafe { *s.cast::<*const i32>() }, 100);
}

#[test]
fn unexported_symbols_are_not_found_with_go_s_message() {
    let p = plugin();
    for name in [
        "vis_hidden",
        "vis_hidden_fn",
        "vis_internal",
        "vis_static",
        "vis_script_local",
        "vis_script_local_fn",
        "vis_default ",
        "vis_defaul",
    ] {
        not_found(p, name);
    }
}

#[test]
fn version_names_are_not_variables() {
    // GNU ld puts an absolute symbol (SHN_ABS, value 0, STT_OBJECT) named after each version
    // it defines into .dynsym: `VIS_1` here. It is neither a function nor a variable; Go's
    // Lookup must not hand out a null address for it.
    not_found(plugin(), "VIS_1");
}

fn not_found(p: &Plugin, name: &str) {
    match p.lookup(name) {
        Err(e @ Error::SymbolNotFound { .. }) => assert_eq!(
            e.to_string(),
            format!(
                "plugin: symbol {name} not found in plugin {}",
                p.path().display()
            )
        ),
        other => panic!("{name}: {other:?}"),
    }
}
