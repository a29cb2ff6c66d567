//! A host for sandboxed settings: build it fully static (no dynamic loader, no shared library in
//! the process) and it still opens plugins, with an import policy.
//!
//! ```text
//! RUSTFLAGS="-C target-feature=+crt-static" cargo run --example static_host \
//!     --target x86_64-unknown-linux-gnu -- exports path/to/nostdlib.so
//! ```
//! Modes: `exports` (host exports only, policy: host exports), `libc` (libc resolved from the
//! executable), `policy` (a policy the plugin breaks: prints the error), `bytes` (from memory).
use std::ffi::c_void;

use dynplug::Loader;

extern "C" fn host_add(a: i32, b: i32) -> i32 {
    a + b
}

/// A static executable holds only the C library functions something in it uses: the C functions
/// this host lets plugins call are referenced here, so the static link keeps them.
fn keep_libc() {
    let keep: [*const (); 6] = [
        libc::printf as *const (),
        libc::snprintf as *const (),
        libc::malloc as *const (),
        libc::free as *const (),
        libc::strlen as *const (),
        libc::fflush as *const (),
    ];
    std::hint::black_box(keep);
}

fn main() {
    keep_libc();
    let args: Vec<String> = std::env::args().collect();
    let (mode, path) = match args.as_slice() {
        [_, m, p] => (m.as_str(), p.as_str()),
        _ => {
            eprintln!("usage: static_host exports|libc|tls_ie|policy|bytes PLUGIN");
            std::process::exit(2);
        }
    };
    let host = Loader::new().export("host_add", host_add as *const c_void);
    // SAFETY (every block below): the plugins are this example's fixtures; their functions are
    // called with the signatures their C sources give them.
    let result = match mode {
        "exports" => unsafe { host.allow_imports(["host_add"]).open(path) }.map(|p| {
            let f: extern "C" fn() -> i32 = unsafe { p.lookup("plugin_main").unwrap().cast() };
            f()
        }),
        "libc" => unsafe { host.open(path) }.map(|p| {
            let f: extern "C" fn(i32) -> i32 = unsafe { p.lookup("static_user").unwrap().cast() };
            f(42)
        }),
        // Initial-exec TLS: the block lies in the executable's static TLS, in every thread.
        "tls_ie" => unsafe { host.open(path) }.map(|p| {
            let add: extern "C" fn(i64) -> i64 = unsafe { p.lookup("iez_add").unwrap().cast() };
            add(3);
            let here = add(3);
            let there = std::thread::spawn(move || add(4)).join().unwrap();
            (here * 100 + there) as i32
        }),
        "policy" => unsafe { host.allow_imports(["host_add", "strlen"]).open(path) }.map(|_| 0),
        "bytes" => {
            let bytes = std::fs::read(path).expect("read plugin");
            unsafe { host.open_bytes("from-memory", &bytes) }.map(|p| {
                let f: extern "C" fn(i32) -> i32 =
                    unsafe { p.lookup("static_user").unwrap().cast() };
                f(7)
            })
        }
        _ => {
            eprintln!("unknown mode {mode}");
            std::process::exit(2);
        }
    };
    match result {
        Ok(v) => println!("result {v}"),
        Err(e) => println!("error {e}"),
    }
}
