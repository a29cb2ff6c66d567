//! Initialisers (testdata/c/init_order.c): DT_INIT first (where glibc runs it: not riscv64), then DT_INIT_ARRAY entry by entry, each
//! exactly once, each called with the process's real (argc, argv, envp). The order is checked
//! against DT_INIT and the array as they are in the loaded image, not against a list written here.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::{c_char, CStr};
use std::os::unix::ffi::OsStrExt;

use dynplug::Plugin;
use dynplug_fixtures::inspect::{Object, DT_INIT, DT_INIT_ARRAY, DT_INIT_ARRAYSZ};
use dynplug_fixtures::path;

const ALL: [&str; 6] = [
    "io_dt_init",
    "io_ctor_101",
    "io_arr_150",
    "io_ctor_200",
    "io_ctor_plain",
    "io_arr_plain",
];

/// The initialisers that run: io_dt_init (DT_INIT) only where DT_INIT runs (not on riscv64).
fn initialisers() -> &'static [&'static str] {
    &ALL[usize::from(!dynplug_fixtures::DT_INIT_RUNS)..]
}

extern "C" {
    static environ: *const *const c_char;
    /// glibc: argv[0] as the kernel passed it to the process.
    static program_invocation_name: *const c_char;
}

fn plugin() -> &'static Plugin {
    unsafe { Plugin::open(path("init_order")) }.unwrap()
}

fn addr(p: &Plugin, name: &str) -> usize {
    p.lookup(name).unwrap_or_else(|e| panic!("{e}")).addr() as usize
}

/// `n` elements of the plugin's array `name`.
fn array<T: Copy>(p: &Plugin, name: &str, n: usize) -> Vec<T> {
    let a = addr(p, name) as *const T;
    (0..n).map(|i| unsafe { *a.add(i) }).collect()
}

fn count(p: &Plugin) -> usize {
    unsafe { *p.lookup("io_count").unwrap().cast::<*const i32>() as usize }
}

#[test]
fn dt_init_then_init_array_in_array_order_each_once() {
    let p = plugin();
    let n = count(p);
    assert_eq!(
        n,
        initialisers().len(),
        "every initialiser ran exactly once"
    );
    let called: Vec<usize> = array(p, "io_called", n);

    // Where DT_INIT and DT_INIT_ARRAY are in the loaded image: link-time address + bias.
    let o = Object::read(path("init_order"));
    let bias = addr(p, "io_dt_init") - o.symbol_value("io_dt_init").unwrap() as usize;
    let dt_init = bias + o.tag(DT_INIT).expect("DT_INIT") as usize;
    assert_eq!(
        dt_init,
        addr(p, "io_dt_init"),
        "-Wl,-init made io_dt_init DT_INIT"
    );
    let init_array = bias + o.tag(DT_INIT_ARRAY).expect("DT_INIT_ARRAY") as usize;
    let entries = o.tag(DT_INIT_ARRAYSZ).unwrap() as usize / 8;
    let in_memory: Vec<usize> = (0..entries)
        .map(|i| unsafe { *(init_array as *const usize).add(i) })
        .collect();
    // The array also holds crtbegin's frame_dummy, which records nothing.
    let ours: Vec<usize> = initialisers().iter().map(|n| addr(p, n)).collect();
    let mut expected: Vec<usize> = [dt_init]
        .into_iter()
        .filter(|_| dynplug_fixtures::DT_INIT_RUNS)
        .collect();
    expected.extend(in_memory.iter().filter(|a| ours.contains(a)));
    assert_eq!(
        expected.len(),
        initialisers().len(),
        "array: {in_memory:x?}"
    );
    assert_eq!(called, expected, "DT_INIT, then DT_INIT_ARRAY in order");

    // The linker sorted the array by priority; unprioritised entries come last.
    let name = |a: &usize| initialisers()[ours.iter().position(|o| o == a).unwrap()];
    let order: Vec<&str> = called.iter().map(name).collect();
    let prioritised = &initialisers()[..initialisers().len() - 2];
    assert_eq!(order[..prioritised.len()], *prioritised);
    let mut rest = order[prioritised.len()..].to_vec();
    rest.sort();
    assert_eq!(rest, ["io_arr_plain", "io_ctor_plain"]);
}

#[test]
fn every_initialiser_gets_the_process_arguments() {
    let p = plugin();
    let n = count(p);
    assert_eq!(n, initialisers().len());
    let argcs: Vec<i32> = array(p, "io_argc", n);
    let argvs: Vec<*const *const c_char> = array(p, "io_argv", n);
    let envps: Vec<*const *const c_char> = array(p, "io_envp", n);
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    for i in 0..n {
        let who = initialisers()[i];
        assert_eq!(argcs[i] as usize, args.len(), "{who}: argc");
        let argv = argvs[i];
        assert!(!argv.is_null(), "{who}: argv");
        // The process's own argv, not a copy: argv[0] is the very string the kernel passed.
        assert_eq!(
            unsafe { *argv },
            unsafe { program_invocation_name },
            "{who}: argv[0]"
        );
        for (j, arg) in args.iter().enumerate() {
            let got = unsafe { CStr::from_ptr(*argv.add(j)) };
            assert_eq!(got.to_bytes(), arg.as_bytes(), "{who}: argv[{j}]");
        }
        assert!(
            unsafe { *argv.add(args.len()) }.is_null(),
            "{who}: argv[argc]"
        );
        assert_eq!(envps[i], unsafe { environ }, "{who}: envp");
    }
}
