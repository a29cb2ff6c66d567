//! Every shared object in the system's library directory that glibc's `dlopen` opens, dynplug
//! opens too: each library is opened in a child process of this test, once by each loader, so
//! that one library's initialisers cannot disturb another's. The one refusal allowed is
//! initial-exec thread-local storage whose image has non-zero initialised data, inside a module
//! dynplug loads: no thread could be given those bytes (docs/architecture.md). On Debian 12 that
//! is libglvnd's libGLdispatch and Mesa's libglapi (a pointer to a no-op dispatch table in
//! `.tdata`), and the 10 libraries that need them (libGL, libEGL, libGLX, libOpenGL, ...);
//! libgomp, libubsan and libc_malloc_debug, whose initial-exec TLS is zero-initialised, open.
//! This is what found libraries with a
//! PT_INTERP (libcap, libsystemd, PAM modules) and libraries that export nothing being refused,
//! and a plugin's `dlopen("libc.so.6")` loading a second libc.
//!
//! No test harness (`harness = false` in Cargo.toml): `main` is either the parent, which runs
//! the children and fails if dynplug refuses what glibc opens, or one child.
// SAFETY (this file): the libraries opened are the system's own, opened the way its loader
// opens them; a child process holds each.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CHILD: &str = "DYNPLUG_SYSTEM_LIBRARY";

fn main() {
    if let Some(spec) = std::env::var_os(CHILD) {
        let spec = spec.into_string().unwrap();
        let (how, path) = spec.split_once(':').unwrap();
        println!("RESULT {}", open(how, Path::new(path)));
        return;
    }
    let libraries = libraries();
    // x86_64's directory holds what .ci/run installs and their dependencies (hundreds); the
    // arm64 multiarch packages .ci/run installs bring about 40.
    let enough = if cfg!(target_arch = "x86_64") { 50 } else { 20 };
    assert!(
        libraries.len() >= enough,
        "{} libraries in {}",
        libraries.len(),
        dynplug_fixtures::lib_dir()
    );
    let (mut both, mut allowed, mut refused) = (0, Vec::new(), Vec::new());
    let mut glibc_refused = Vec::new();
    for lib in &libraries {
        if child("glibc", lib) != "ok" {
            glibc_refused.push(lib.display().to_string());
            continue;
        }
        match child("dynplug", lib).as_str() {
            "ok" => both += 1,
            r if r.starts_with("err unsupported: initial-exec thread-local storage")
                && r.contains("non-zero initialised data") =>
            {
                allowed.push(lib.display().to_string())
            }
            r => refused.push(format!("{}: {r}", lib.display())),
        }
    }
    println!(
        "{} shared objects in {}; {} that glibc's dlopen refuses too: {}",
        libraries.len(),
        dynplug_fixtures::lib_dir(),
        glibc_refused.len(),
        glibc_refused.join(" ")
    );
    println!("{both} libraries opened by both loaders");
    println!(
        "{} refused for initialised initial-exec TLS: {}",
        allowed.len(),
        allowed.join(" ")
    );
    assert!(
        refused.is_empty(),
        "dynplug refused {} that glibc opens:\n{}",
        refused.len(),
        refused.join("\n")
    );
    assert!(both >= enough, "only {both} libraries opened");
}

/// The shared objects directly in `DIR` (regular files; linker scripts fail with both loaders).
fn libraries() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dynplug_fixtures::lib_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.contains(".so") && !p.is_symlink() && p.is_file()
        })
        .collect();
    v.sort();
    v
}

/// Opens `path` with `how` ("glibc" or "dynplug") in a child: "ok", "err <reason>", or how the
/// child ended (killed after 60 s).
fn child(how: &str, path: &Path) -> String {
    let mut c = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .env(CHILD, format!("{how}:{}", path.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            c.kill().ok();
            return "killed after 60 s".into();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let out = c.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().find_map(|l| l.strip_prefix("RESULT ")) {
        Some(r) => r.to_string(),
        None => format!("child ended: {:?}", out.status),
    }
}

fn open(how: &str, path: &Path) -> String {
    if how == "glibc" {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        return if h.is_null() {
            "err".into()
        } else {
            "ok".into()
        };
    }
    match unsafe { dynplug::Plugin::open(path) } {
        // Every export indexed too (IFUNC resolvers run).
        Ok(p) => {
            let _ = p.lookup("dynplug_no_such_symbol");
            "ok".into()
        }
        Err(e) => {
            let e = e.to_string();
            // "plugin.Open("<path>"): <reason>": the reason.
            let reason = e.split_once("): ").map_or(e.as_str(), |(_, r)| r);
            format!("err {reason}")
        }
    }
}
