//! The Go plugin documentation's example: open the plugin, set its variable `V` to 7, call `F`.
//!
//! ```text
//! cargo run --example hello   # prints "Hello, number 7"
//! ```
//!
//! Like `go build -buildmode=plugin`, the example first builds the plugin (testdata/c/hello.c)
//! with the system C compiler, when its shared object is missing or older than its source.
use std::path::{Path, PathBuf};
use std::process::Command;

use dynplug::Plugin;

/// Builds `target/plugins/hello.so` from `testdata/c/hello.c` if needed.
fn build_plugin() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("testdata/c/hello.c");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let out = target.join("plugins/hello.so");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let stale = match (modified(&src), modified(&out)) {
        (Some(s), Some(o)) => o < s,
        _ => true,
    };
    if stale {
        std::fs::create_dir_all(out.parent().expect("a parent directory"))
            .expect("create target/plugins");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let status = Command::new(&cc)
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .unwrap_or_else(|e| panic!("running {cc}: {e}"));
        assert!(status.success(), "{cc} failed to build {}", src.display());
    }
    out
}

fn main() -> Result<(), dynplug::Error> {
    // SAFETY: hello.so is built from testdata/c/hello.c just above; its initialisers are benign.
    let p = unsafe { Plugin::open(build_plugin()) }?;
    let v = p.lookup("V")?;
    let f = p.lookup("F")?;
    // SAFETY: V is an `int` and F a `void F(void)` in hello.c.
    unsafe {
        *v.cast::<*mut i32>() = 7;
        f.cast::<extern "C" fn()>()();
    }
    Ok(())
}
