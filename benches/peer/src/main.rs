//! `peer open PATH REPS` (median open time in µs over fresh copies) and
//! `peer lookup PATH hit|miss NAMES_FILE` (median ns per lookup) for dlopen-rs.
use std::path::Path;
use std::time::Instant;

use dlopen_rs::{ElfLibrary, OpenFlags};

#[path = "../../common/copies.rs"]
mod copies;
use copies::{copies, median, timed_opens};

fn open(p: &Path) -> ElfLibrary {
    match ElfLibrary::dlopen(
        p.to_str().expect("utf-8 path"),
        OpenFlags::RTLD_LOCAL | OpenFlags::RTLD_NOW,
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("dlopen-rs cannot load it: {e:?}");
            std::process::exit(1);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = Path::new(&args[2]);
    match args[1].as_str() {
        "open" => {
            let reps: usize = args[3].parse().expect("reps");
            let (dir, files) = copies("peer", path, reps);
            // Never closed, as the other loaders' plugins are not.
            let t = timed_opens(&files, |f| std::mem::forget(open(f)));
            std::fs::remove_dir_all(dir).ok();
            println!("{:.1}", median(t));
        }
        "lookup" => {
            let hit = args[3] == "hit";
            let names: Vec<String> = std::fs::read_to_string(&args[4])
                .expect("names")
                .lines()
                .map(|n| {
                    if hit {
                        n.to_string()
                    } else {
                        format!("{n}_not_there")
                    }
                })
                .collect();
            let (dir, files) = copies("peer", path, 1);
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
