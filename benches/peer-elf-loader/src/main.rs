//! `peer-elf-loader open PATH REPS`: median open time in µs over fresh copies, with elf_loader
//! (imports resolved with glibc's dlsym in the global scope).
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn copies(path: &Path, n: usize) -> (PathBuf, Vec<PathBuf>) {
    let dir = std::env::temp_dir().join(format!("dynplug-bench-elf-loader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let v = (0..n)
        .map(|i| {
            let p = dir.join(format!("{i}-{}", path.file_name().and_then(|f| f.to_str()).unwrap_or("lib.so")));
            std::fs::copy(path, &p).expect("copy");
            std::fs::File::open(&p).and_then(|f| f.sync_all()).expect("sync");
            p
        })
        .collect();
    (dir, v)
}

fn lookup(name: &str) -> Option<*const ()> {
    let c = CString::new(name).ok()?;
    // SAFETY: RTLD_DEFAULT and a NUL-terminated name.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) };
    (!p.is_null()).then_some(p as *const ())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, reps): (&Path, usize) = (Path::new(&args[2]), args[3].parse().expect("reps"));
    let (dir, files) = copies(path, reps);
    let mut loader = elf_loader::Loader::new();
    // Warm the page cache for every copy first, as the dynplug and glibc children do (reading
    // each file just before its open would also leave it in the CPU caches).
    for f in &files {
        let _ = std::fs::read(f);
    }
    let mut t = Vec::new();
    for f in &files {
        let s = Instant::now();
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
        t.push(s.elapsed().as_secs_f64() * 1e6);
    }
    std::fs::remove_dir_all(dir).ok();
    t.sort_by(|a, b| a.total_cmp(b));
    println!("{:.1}", t[t.len() / 2]);
}
