//! `$ORIGIN` of a plugin opened through a symbolic link is the link's directory, as glibc takes
//! it (symlinks in the path as given are not resolved): a plugin linked into a directory finds
//! the libraries next to the link. Its own test binary, so that no other test has loaded the
//! dependency already (a library loaded once is found by its soname).
// SAFETY (this file): the plugin opened is the fixture built from testdata/c/dep_user_origin.c;
// its symbol is called with the type that source declares.
use dynplug::Plugin;
use dynplug_fixtures::path;

#[test]
fn origin_is_the_directory_of_the_link() {
    let base = dynplug_fixtures::scratch_dir().join("origin");
    let (links, real) = (base.join("links"), base.join("real"));
    std::fs::create_dir_all(&links).unwrap();
    std::fs::create_dir_all(&real).unwrap();
    // The plugin lives in real/, its dependency (found through RUNPATH=$ORIGIN) only in links/,
    // next to the link to the plugin.
    std::fs::copy(path("dep_user_origin"), real.join("dep_user_origin.so")).unwrap();
    std::fs::copy(path("a_dep_origin"), links.join("a_dep_origin.so")).unwrap();
    let link = links.join("plugin.so");
    std::os::unix::fs::symlink(real.join("dep_user_origin.so"), &link).unwrap();
    let p = unsafe { Plugin::open(&link) }.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.path(),
        std::fs::canonicalize(&link).unwrap(),
        "still named canonically"
    );
    let f: extern "C" fn() -> i32 = unsafe { p.lookup("user_origin").unwrap().cast() };
    assert_eq!(f(), 1234 + 1);
    std::fs::remove_dir_all(&base).ok();
}
