//! A dependency found only through LD_LIBRARY_PATH (own test binary: it sets the variable).
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use dynplug::Plugin;
use dynplug_fixtures::{dir, fresh_copy};

#[test]
fn dependency_through_ld_library_path() {
    // A fresh copy has no $ORIGIN neighbour: only LD_LIBRARY_PATH can find the library.
    let copy = fresh_copy("dep_user_ldpath");
    assert!(unsafe { Plugin::open(&copy) }.is_err());
    std::env::set_var("LD_LIBRARY_PATH", dir().join("ldpath"));
    let p = unsafe { Plugin::open(&copy) }.unwrap();
    let g: extern "C" fn() -> i32 = unsafe { p.lookup("user_ldpath").unwrap().cast() };
    assert_eq!(g(), 5679);
}
