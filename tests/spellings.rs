//! Go's key for a plugin is its canonical path: the same file opened by any spelling (absolute,
//! relative to the working directory, with `.`, `..` or doubled slashes, through symlinks to the
//! file or to a directory) is one plugin, whose initialisers ran once; another file with the same
//! bytes is another plugin.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use std::ffi::{c_char, CStr};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use dynplug::Plugin;
use dynplug_fixtures::fresh_copy;

/// `abs` spelled relative to the working directory (`../../..` up to `/`, then down).
fn relative_to_cwd(abs: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    let mut rel = PathBuf::new();
    for _ in cwd.components().skip(1) {
        rel.push("..");
    }
    rel.push(abs.strip_prefix("/").unwrap());
    assert!(rel.is_relative());
    rel
}

fn init_count(p: &Plugin) -> i32 {
    unsafe { *p.lookup("init_count").unwrap().cast::<*const i32>() }
}

fn order(p: &Plugin) -> String {
    let s = unsafe { CStr::from_ptr(p.lookup("order").unwrap().cast::<*const c_char>()) };
    s.to_str().unwrap().to_string()
}

#[test]
fn every_spelling_is_one_plugin_initialised_once() {
    let copy = fresh_copy("init");
    let canonical = copy.canonicalize().unwrap();
    let dir = copy.parent().unwrap().to_path_buf();
    let file = copy.file_name().unwrap().to_str().unwrap().to_string();
    let stem = copy.file_stem().unwrap().to_str().unwrap().to_string();

    let sub = dir.join(format!("{stem}-sub"));
    std::fs::create_dir_all(&sub).unwrap();
    let file_link = dir.join(format!("{stem}-link.so"));
    let dir_link = dir.join(format!("{stem}-dirlink"));
    let relative_link = sub.join("relative-link.so");
    let chain_link = dir.join(format!("{stem}-chain.so"));
    for l in [&file_link, &dir_link, &relative_link, &chain_link] {
        let _ = std::fs::remove_file(l);
    }
    symlink(&copy, &file_link).unwrap();
    symlink(&dir, &dir_link).unwrap();
    symlink(Path::new("..").join(&file), &relative_link).unwrap();
    symlink(&file_link, &chain_link).unwrap();

    let spellings: Vec<PathBuf> = vec![
        copy.clone(),
        relative_to_cwd(&copy),
        dir.join(".").join(&file),
        PathBuf::from(format!("{}//{file}", dir.display())),
        sub.join("..").join(&file),
        file_link,
        dir_link.join(&file),
        relative_link,
        chain_link,
    ];
    let first = unsafe { Plugin::open(&spellings[0]) }.unwrap();
    assert_eq!(first.path(), canonical);
    for s in &spellings {
        let p = unsafe { Plugin::open(s) }.unwrap_or_else(|e| panic!("{}: {e}", s.display()));
        assert!(std::ptr::eq(p, first), "{} is another plugin", s.display());
        assert_eq!(p.path(), canonical, "{}", s.display());
    }
    assert_eq!(init_count(first), 1, "the initialisers ran once");
    assert_eq!(
        order(first),
        dynplug_fixtures::INIT_ORDER,
        "each initialiser ran once"
    );
}

#[test]
fn the_same_bytes_at_another_path_are_another_plugin() {
    let (a, b) = (fresh_copy("init"), fresh_copy("init"));
    let pa = unsafe { Plugin::open(&a) }.unwrap();
    let pb = unsafe { Plugin::open(&b) }.unwrap();
    assert!(!std::ptr::eq(pa, pb));
    assert_ne!(
        pa.lookup("init_count").unwrap(),
        pb.lookup("init_count").unwrap(),
        "separate images"
    );
    assert_eq!((init_count(pa), init_count(pb)), (1, 1));
}

#[test]
fn file_names_with_spaces_and_non_utf8_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let copy = fresh_copy("init");
    let dir = copy.parent().unwrap().join(format!(
        "with space {}",
        copy.file_stem().unwrap().to_str().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let odd = dir.join(OsStr::from_bytes(b"pl\xffug\xc3\xafn \x01.so"));
    std::fs::rename(&copy, &odd).unwrap();
    let p = unsafe { Plugin::open(&odd) }.unwrap();
    assert_eq!(p.path(), odd.canonicalize().unwrap());
    assert_eq!(init_count(p), 1);
    let e = p.lookup("missing").unwrap_err().to_string();
    assert!(
        e.starts_with("plugin: symbol missing not found in plugin "),
        "{e}"
    );
}
