//! Symbol scope as glibc builds it, compared with glibc's `dlopen` on the same files (the
//! reference harness, `dynplug_fixtures::glibc`, runs the same steps in a process of its own).
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called accordingly. The system's dlopen
// is used as the host's own, as a host program would.
use std::ffi::{c_void, CString};
use std::path::Path;

use dynplug::{Error, Loader, Plugin};
use dynplug_fixtures::{glibc, path};

fn text(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The host's own `dlopen(path, RTLD_NOW | RTLD_LOCAL)`.
fn host_dlopen_local(p: &Path) -> *mut c_void {
    let c = CString::new(text(p)).unwrap();
    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!h.is_null(), "the host's dlopen of {}", p.display());
    h
}

fn call(p: &Plugin, name: &str) -> String {
    let f: extern "C" fn() -> i32 = unsafe { p.lookup(name).unwrap().cast() };
    f().to_string()
}

#[test]
fn a_library_the_host_opened_local_is_not_in_the_global_scope() {
    let (liba, plugin) = (path("sc_liba"), path("sc_plugin"));
    let steps = [
        "local",
        text(&liba),
        "local",
        text(&plugin),
        "call",
        "sc_call",
        "call",
        "sc_default_sees_a",
        "call",
        "sc_default_sees_own",
    ];
    let reference = glibc(&steps);
    assert_eq!(reference, ["ok", "ok", "2", "0", "1"], "glibc's answers");
    host_dlopen_local(&liba);
    let p = unsafe { Plugin::open(&plugin) }.unwrap();
    let ours = [
        "ok".to_string(),
        "ok".to_string(),
        call(p, "sc_call"),
        call(p, "sc_default_sees_a"),
        call(p, "sc_default_sees_own"),
    ];
    assert_eq!(ours.as_slice(), reference.as_slice());
}

#[test]
fn a_plugin_needing_a_library_the_host_opened_local_gets_that_copy() {
    let (liba, plugin) = (path("sc_liba"), path("sc_needs_a"));
    let reference = glibc(&[
        "local",
        text(&liba),
        "local",
        text(&plugin),
        "call",
        "sc_call_a",
    ]);
    assert_eq!(reference, ["ok", "ok", "1"]);
    let h = host_dlopen_local(&liba);
    let p = unsafe { Plugin::open(&plugin) }.unwrap();
    assert_eq!(call(p, "sc_call_a"), reference[2]);
    // One copy of the file: the host's.
    let address: extern "C" fn() -> *mut c_void =
        unsafe { p.lookup("sc_f_address").unwrap().cast() };
    let name = CString::new("sc_f").unwrap();
    assert_eq!(address(), unsafe { libc::dlsym(h, name.as_ptr()) });
}

#[test]
fn a_system_library_is_searched_when_the_loader_names_it() {
    let (liba, plugin) = (path("sc_liba"), path("sc_calls_f"));
    let reference = glibc(&["local", text(&liba), "local", text(&plugin)]);
    assert_eq!(
        reference,
        ["ok", "error"],
        "glibc: sc_f is not in the global scope"
    );
    host_dlopen_local(&liba);
    match unsafe { Plugin::open(&plugin) } {
        Err(Error::UndefinedSymbols { symbols, .. }) => assert_eq!(symbols, ["sc_f"]),
        other => panic!("{other:?}"),
    }
    // Named by its soname: as if the host had opened it RTLD_GLOBAL.
    let global = glibc(&[
        "global",
        text(&liba),
        "local",
        text(&plugin),
        "call",
        "sc_call_f",
    ]);
    let loader = Loader::new().search_system_library("sc_liba.so");
    let p = unsafe { loader.open(&plugin) }.unwrap();
    assert_eq!(call(p, "sc_call_f"), global[2]);
}

#[test]
fn a_plugin_opened_global_gives_its_exports_to_later_plugins() {
    let (provider, user) = (path("sc_g_provider"), path("sc_g_user"));
    let local = glibc(&["local", text(&provider), "local", text(&user)]);
    assert_eq!(local, ["ok", "error"]);
    let global = glibc(&[
        "global",
        text(&provider),
        "local",
        text(&user),
        "call",
        "sc_g_call",
    ]);
    assert_eq!(global, ["ok", "ok", "7"]);

    // Local (the default): the user's import is not satisfied, through `Plugin::open` or
    // through the dlopen dynplug serves to plugins.
    unsafe { Plugin::open(&provider) }.unwrap();
    match unsafe { Plugin::open(&user) } {
        Err(Error::UndefinedSymbols { symbols, .. }) => assert_eq!(symbols, ["sc_g_value"]),
        other => panic!("{other:?}"),
    }
    let dlapi = unsafe { Plugin::open(path("dlapi")) }.unwrap();
    let dlopen: extern "C" fn(*const std::ffi::c_char) -> *mut c_void =
        unsafe { dlapi.lookup("dlapi_open").unwrap().cast() };
    let user_c = CString::new(text(&user)).unwrap();
    assert!(
        dlopen(user_c.as_ptr()).is_null(),
        "a plugin's dlopen binds as Plugin::open"
    );

    // Global: the provider opened again with `global(true)` joins the global scope (glibc
    // promotes an object dlopen'ed again with RTLD_GLOBAL).
    let again = glibc(&[
        "local",
        text(&provider),
        "global",
        text(&provider),
        "local",
        text(&user),
        "call",
        "sc_g_call",
    ]);
    assert_eq!(again, ["ok", "ok", "ok", "7"]);
    let p = unsafe { Loader::new().global(true).open(&provider) }.unwrap();
    assert!(std::ptr::eq(p, unsafe { Plugin::open(&provider) }.unwrap()));
    let u = unsafe { Plugin::open(&user) }.unwrap();
    assert_eq!(call(u, "sc_g_call"), global[2]);
    assert!(!dlopen(user_c.as_ptr()).is_null());
    // Lookup never answers from another plugin.
    assert!(u.lookup("sc_g_value").is_err());
}

/// A new hard link to fixture `name`, on the fixtures' file system but outside their directory
/// (removed when dropped: an open plugin's mapping keeps the file).
struct HardLink(std::path::PathBuf);

impl HardLink {
    fn to(name: &str) -> HardLink {
        let dir = format!("links-{}-{name}", std::process::id());
        let dir = dynplug_fixtures::dir().with_file_name(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join(format!("{name}-link.so"));
        std::fs::hard_link(path(name), &link).unwrap();
        HardLink(link)
    }
}

impl Drop for HardLink {
    fn drop(&mut self) {
        let _ = self.0.parent().map(std::fs::remove_dir_all);
    }
}

#[test]
fn a_hard_link_to_an_open_plugin_is_that_plugin() {
    let p = unsafe { Plugin::open(path("sc_hl")) }.unwrap();
    let link = HardLink::to("sc_hl");
    let q = unsafe { Plugin::open(&link.0) }.unwrap();
    assert!(std::ptr::eq(p, q), "the same plugin");
    assert_eq!(call(q, "sc_hl_inits"), "1", "initialisers ran once");
}

#[test]
fn a_hard_link_to_a_dependency_dynplug_loaded_is_that_copy() {
    let user = unsafe { Plugin::open(path("sc_hl_user")) }.unwrap();
    let link = HardLink::to("sc_hl_dep");
    let dep = unsafe { Plugin::open(&link.0) }.unwrap();
    assert_eq!(call(dep, "sc_hl_dep_inits"), "1", "initialisers ran once");
    assert_eq!(call(user, "sc_hl_user_dep_inits"), "1");
    // One copy: the user's dependency is the plugin the hard link opened.
    let bound: extern "C" fn() -> usize =
        unsafe { user.lookup("sc_hl_user_dep_address").unwrap().cast() };
    assert_eq!(
        bound(),
        dep.lookup("sc_hl_dep_inits").unwrap().addr() as usize
    );
}

#[test]
fn the_rpath_of_the_loader_chain_finds_a_dependency_s_dependency() {
    let plugin = path("rpc_plugin");
    let reference = glibc(&["local", text(&plugin), "call", "rp_call"]);
    assert_eq!(reference, ["ok", "51"], "glibc's answers");
    let p = unsafe { Plugin::open(&plugin) }.unwrap();
    assert_eq!(call(p, "rp_call"), reference[1]);
}

#[test]
fn gnu_unique_symbols_are_one_per_process() {
    let (a, b) = (path("uq_a"), path("uq_b"));
    let steps = [
        "local",
        text(&a),
        "call",
        "uq_a_bump",
        "call",
        "uq_a_bump_member",
        "local",
        text(&b),
        "call",
        "uq_b_bump",
        "call",
        "uq_b_bump_member",
    ];
    let reference = glibc(&steps);
    assert_eq!(
        reference,
        ["ok", "1", "1", "ok", "2", "2"],
        "glibc's answers"
    );
    let pa = unsafe { Plugin::open(&a) }.unwrap();
    let ours_a = [call(pa, "uq_a_bump"), call(pa, "uq_a_bump_member")];
    let pb = unsafe { Plugin::open(&b) }.unwrap();
    let ours_b = [call(pb, "uq_b_bump"), call(pb, "uq_b_bump_member")];
    assert_eq!(
        ["ok", &ours_a[0], &ours_a[1], "ok", &ours_b[0], &ours_b[1]],
        reference
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
    );
}

#[test]
fn an_unversioned_reference_binds_the_oldest_version_as_glibc() {
    let user = path("unv_user");
    let object = dynplug_fixtures::inspect::Object::read(&user);
    assert!(
        object.tag(0x6fff_fffe).is_none(),
        "the fixture needs no version"
    );
    let reference = glibc(&["local", text(&user), "call", "unv_call"]);
    assert_eq!(reference, ["ok", "1"], "glibc's answers");
    let p = unsafe { Plugin::open(&user) }.unwrap();
    assert_eq!(call(p, "unv_call"), reference[1]);
}

#[test]
fn an_ld_preload_library_is_in_the_global_scope() {
    let (liba, plugin) = (path("sc_liba"), path("sc_calls_f"));
    if std::env::var_os("DYNPLUG_SCOPE_PRELOADED").is_some() {
        // In the child below, which the system loader started with sc_liba.so preloaded.
        let p = unsafe { Plugin::open(&plugin) }.unwrap();
        println!("sc_call_f={}", call(p, "sc_call_f"));
        return;
    }
    let preload = [("LD_PRELOAD", liba.as_os_str())];
    let reference =
        dynplug_fixtures::glibc_env(&preload, &["local", text(&plugin), "call", "sc_call_f"]);
    assert_eq!(reference, ["ok", "1"], "glibc's answers");
    let out = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_ld_preload_library_is_in_the_global_scope",
            "--nocapture",
        ])
        .env("LD_PRELOAD", &liba)
        .env("DYNPLUG_SCOPE_PRELOADED", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("sc_call_f={}", reference[1])),
        "{stdout}"
    );
}

#[test]
fn a_plugin_s_dlopen_of_a_bare_name_searches_the_caller_s_paths() {
    let user = path("dlsub_user");
    let reference = glibc(&["local", text(&user), "call", "dlsub_call"]);
    assert_eq!(reference, ["ok", "77"], "glibc's answers");
    let p = unsafe { Plugin::open(&user) }.unwrap();
    assert_eq!(call(p, "dlsub_call"), reference[1]);
}

#[test]
fn a_library_a_plugin_dlopens_does_not_inherit_the_plugin_s_rpath() {
    // glibc's dlopen searches the caller's RPATH for the library, but the library it opens has
    // no loader chain (`__RTLD_CALLMAP`): what that library needs is not looked for there.
    let user = path("dlxc_user");
    let reference = glibc(&["local", text(&user), "call", "dlxc_call"]);
    assert_eq!(reference, ["ok", "-1"], "glibc's answers");
    let p = unsafe { Plugin::open(&user) }.unwrap();
    assert_eq!(call(p, "dlxc_call"), reference[1]);
}
