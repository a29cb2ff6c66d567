//! Fresh copies of a library for the benchmark drivers (dynplug's and each peer's): every
//! repetition opens a distinct path and inode, since every loader returns the object it already
//! has for a file it holds.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// `n` copies of `path` in a new directory named after `tag` (returned, to remove afterwards).
/// Each copy is written back, so that its pages are clean in the page cache, as a library's
/// file is: otherwise every page mapped from it would count as private dirty.
pub fn copies(tag: &str, path: &Path, n: usize) -> (PathBuf, Vec<PathBuf>) {
    let dir = std::env::temp_dir().join(format!("dynplug-bench-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let name = path
        .file_name()
        .map_or_else(|| "lib.so".into(), |f| f.to_string_lossy());
    let v = (0..n)
        .map(|i| {
            let p = dir.join(format!("{i}-{name}"));
            std::fs::copy(path, &p).expect("copy");
            std::fs::File::open(&p)
                .and_then(|f| f.sync_all())
                .expect("sync");
            p
        })
        .collect();
    (dir, v)
}

/// Microseconds each `open` of `files` took, in order. Every copy is read first, so that all
/// are in the page cache but not in the CPU caches when opened (reading each just before its
/// open would leave it there), the same for every loader.
pub fn timed_opens<T>(files: &[PathBuf], mut open: impl FnMut(&Path) -> T) -> Vec<f64> {
    for f in files {
        let _ = std::fs::read(f);
    }
    files
        .iter()
        .map(|f| {
            let t = Instant::now();
            std::hint::black_box(open(f));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect()
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
