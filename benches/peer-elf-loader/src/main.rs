//! `peer-elf-loader open PATH REPS`: median open time in µs over fresh copies, with elf_loader
//! (imports resolved with glibc's dlsym in the global scope).
use std::ffi::CString;
use std::path::Path;

#[path = "../../common/copies.rs"]
mod copies;
use copies::{copies, median, timed_opens};

fn lookup(name: &str) -> Option<*const ()> {
    let c = CString::new(name).ok()?;
    // SAFETY: RTLD_DEFAULT and a NUL-terminated name.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) };
    (!p.is_null()).then_some(p as *const ())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, reps): (&Path, usize) = (Path::new(&args[2]), args[3].parse().expect("reps"));
    let (dir, files) = copies("elf-loader", path, reps);
    let mut loader = elf_loader::Loader::new();
    let t = timed_opens(&files, |f| {
        let raw = match loader.load_dylib(f.to_str().expect("utf-8 path")) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("elf_loader cannot load it: {e:?}");
                std::process::exit(1);
            }
        };
        match raw.relocator().pre_find_fn(lookup).relocate() {
            Ok(lib) => std::mem::forget(lib),
            Err(e) => {
                eprintln!("elf_loader cannot relocate it: {e:?}");
                std::process::exit(1);
            }
        }
    });
    std::fs::remove_dir_all(dir).ok();
    println!("{:.1}", median(t));
}
