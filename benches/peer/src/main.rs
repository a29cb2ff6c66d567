//! `peer open PATH REPS` (median open time in µs over fresh copies) and
//! `peer lookup PATH hit|miss NAMES_FILE` (median ns per lookup) for dlopen-rs.
use std::path::{Path, PathBuf};
use std::time::Instant;

use dlopen_rs::{ElfLibrary, OpenFlags};

fn copies(path: &Path, n: usize) -> (PathBuf, Vec<PathBuf>) {
    let dir = std::env::temp_dir().join(format!("dynplug-bench-peer-{}", std::process::id()));
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

fn open(p: &Path) -> ElfLibrary {
    match ElfLibrary::dlopen(p.to_str().expect("utf-8 path"), OpenFlags::RTLD_LOCAL | OpenFlags::RTLD_NOW) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("dlopen-rs cannot load it: {e:?}");
            std::process::exit(1);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = Path::new(&args[2]);
    match args[1].as_str() {
        "open" => {
            let reps: usize = args[3].parse().expect("reps");
            let (dir, files) = copies(path, reps);
            // Warm the page cache for every copy first, as the dynplug and glibc children do
            // (reading each file just before its open would also leave it in the CPU caches).
            for f in &files {
                let _ = std::fs::read(f);
            }
            let mut t = Vec::new();
            for f in &files {
                let s = Instant::now();
                let l = open(f);
                t.push(s.elapsed().as_secs_f64() * 1e6);
                std::mem::forget(l);
            }
            std::fs::remove_dir_all(dir).ok();
            println!("{:.1}", median(t));
        }
        "lookup" => {
            let hit = args[3] == "hit";
            let names: Vec<String> = std::fs::read_to_string(&args[4])
                .expect("names")
                .lines()
                .map(|n| if hit { n.to_string() } else { format!("{n}_not_there") })
                .collect();
            let (dir, files) = copies(path, 1);
            let l = open(&files[0]);
            let mut per = Vec::new();
            for _ in 0..15 {
                let s = Instant::now();
                for n in &names {
                    // SAFETY: the symbol is only looked up, never called.
                    let r = unsafe { l.get::<*const ()>(n) };
                    assert_eq!(r.is_ok(), hit, "{n}");
                    std::hint::black_box(r.is_ok());
                }
                per.push(s.elapsed().as_secs_f64() * 1e9 / names.len() as f64);
            }
            std::fs::remove_dir_all(dir).ok();
            println!("{:.0}", median(per));
        }
        other => panic!("unknown mode {other}"),
    }
}
