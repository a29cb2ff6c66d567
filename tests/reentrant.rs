//! An initialiser that calls back into the host: opening another plugin from there works,
//! opening the plugin being initialised is an error, not a deadlock.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ (or the
// system libraries named); every symbol is cast to the type its source declares, and called or
// dereferenced accordingly.
use std::path::PathBuf;
use std::sync::Mutex;

use dynplug::{Error, Loader};
use dynplug_fixtures::{fresh_copy, path};

static SELF_PATH: Mutex<Option<PathBuf>> = Mutex::new(None);
static RESULTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

extern "C" fn host_in_init() {
    let me = SELF_PATH.lock().unwrap().clone().unwrap();
    let other = unsafe { dynplug::Plugin::open(path("hello")) };
    RESULTS
        .lock()
        .unwrap()
        .push(format!("other:{}", other.is_ok()));
    let again = unsafe { loader().open(&me) };
    let tag = match again {
        Err(Error::RecursiveOpen { .. }) => "recursive".to_string(),
        other => format!("{other:?}"),
    };
    RESULTS.lock().unwrap().push(tag);
}

fn loader() -> Loader {
    Loader::new().export("host_in_init", host_in_init as *const std::ffi::c_void)
}

#[test]
fn initialiser_reentering_the_host() {
    let copy = fresh_copy("reenter");
    *SELF_PATH.lock().unwrap() = Some(copy.clone());
    let p = unsafe { loader().open(&copy) }.unwrap();
    assert_eq!(
        *RESULTS.lock().unwrap(),
        vec!["other:true".to_string(), "recursive".to_string()]
    );
    assert_eq!(
        unsafe { *p.lookup("reenter_done").unwrap().cast::<*const i32>() },
        1
    );
    // Open now: the same plugin, its initialiser not run again.
    let q = unsafe { loader().open(&copy) }.unwrap();
    assert!(std::ptr::eq(p, q));
    assert_eq!(RESULTS.lock().unwrap().len(), 2);
}
