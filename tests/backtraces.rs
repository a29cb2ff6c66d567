//! `backtrace_symbols` and `backtrace_symbols_fd` called by a plugin name its functions as glibc
//! does for a library it loaded (the reference: this test binary run again, opening the same
//! file with the system's `dlopen`), and `dynplug::symbolize` names plugin addresses.
// SAFETY (this file): the plugin is the fixture built from testdata/c/bt_symbols.c; each symbol
// is cast to the type its source declares.
use std::ffi::{c_char, c_int, CStr, CString};

use dynplug::Plugin;
use dynplug_fixtures::path;

type LineFn = unsafe extern "C" fn(c_int, *mut c_char, usize) -> c_int;
type FdFn = unsafe extern "C" fn(c_int) -> c_int;

/// What the fixture prints: frame 0's `backtrace_symbols` line for an exported and a local
/// function, then `backtrace_symbols_fd`'s first line; each with its address blanked (bases
/// differ between processes).
fn lines(line: LineFn, fd: FdFn) -> Vec<String> {
    let mut out = Vec::new();
    for local in [0, 1] {
        let mut buf = [0 as c_char; 512];
        assert!(unsafe { line(local, buf.as_mut_ptr(), buf.len()) } > 0);
        out.push(
            unsafe { CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned(),
        );
    }
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    assert!(unsafe { fd(fds[1]) } > 0);
    unsafe { libc::close(fds[1]) };
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        text.extend_from_slice(&buf[..n as usize]);
    }
    out.push(
        String::from_utf8_lossy(&text)
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
    );
    out.into_iter().map(|l| blank_address(&l)).collect()
}

/// `...[0x7f12...]` → `...[ADDR]`.
fn blank_address(line: &str) -> String {
    match line.rfind("[0x") {
        Some(i) => format!("{}[ADDR]", &line[..i]),
        None => line.to_string(),
    }
}

/// The reference run: the fixture opened by glibc's dlopen, its lines printed one a line.
#[test]
fn glibc_reference() {
    if std::env::var_os("DYNPLUG_BT_GLIBC").is_none() {
        return; // only when run by `backtrace_symbols_lines_are_glibcs` below
    }
    let file = CString::new(path("bt_symbols").to_str().unwrap()).unwrap();
    let h = unsafe { libc::dlopen(file.as_ptr(), libc::RTLD_NOW) };
    assert!(!h.is_null());
    let sym = |n: &CStr| unsafe { libc::dlsym(h, n.as_ptr()) };
    let line: LineFn = unsafe { std::mem::transmute(sym(c"bt_symbols_line")) };
    let fd: FdFn = unsafe { std::mem::transmute(sym(c"bt_symbols_fd")) };
    for l in lines(line, fd) {
        println!("LINE {l}");
    }
}

#[test]
fn backtrace_symbols_lines_are_glibcs() {
    let out = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "glibc_reference",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DYNPLUG_BT_GLIBC", "1")
        .output()
        .unwrap();
    let glibc: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.find("LINE ").map(|i| l[i + 5..].to_string()))
        .collect();
    assert_eq!(
        glibc.len(),
        3,
        "the reference run printed no lines: {out:?}"
    );
    let p = unsafe { Plugin::open(path("bt_symbols")) }.unwrap();
    let line: LineFn = unsafe { p.lookup("bt_symbols_line").unwrap().cast() };
    let fd: FdFn = unsafe { p.lookup("bt_symbols_fd").unwrap().cast() };
    let mine = lines(line, fd);
    println!("glibc:   {glibc:#?}\ndynplug: {mine:#?}");
    assert!(
        mine[0].contains("bt_symbols.so(bt_symbols_line+0x"),
        "{}",
        mine[0]
    );
    assert_eq!(mine, glibc);
}

#[test]
fn symbolize_names_a_plugin_function() {
    let p = unsafe { Plugin::open(path("bt_symbols")) }.unwrap();
    let f = unsafe { p.lookup("bt_symbols_fd").unwrap().cast::<*const u8>() } as usize;
    let s = dynplug::symbolize(f + 5).expect("a plugin address is named");
    assert_eq!(s.symbol.as_deref(), Some("bt_symbols_fd"));
    assert_eq!(s.offset, 5);
    assert_eq!(std::path::Path::new(&s.module), p.path());
    assert_eq!(
        dynplug::symbolize(symbolize_names_a_plugin_function as *const () as usize),
        None
    );
}

#[test]
fn symbolize_names_plugin_frames_of_a_host_backtrace() {
    use std::sync::Mutex;
    static FRAMES: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    extern "C" fn cb() {
        let mut frames = [std::ptr::null_mut(); 32];
        let n = unsafe { libc::backtrace(frames.as_mut_ptr(), 32) };
        *FRAMES.lock().unwrap() = frames[..n as usize].iter().map(|&p| p as usize).collect();
    }
    let p = unsafe { Plugin::open(path("callback")) }.unwrap();
    let call_back: extern "C" fn(extern "C" fn()) =
        unsafe { p.lookup("call_back").unwrap().cast() };
    call_back(cb);
    let named: Vec<_> = FRAMES
        .lock()
        .unwrap()
        .iter()
        .filter_map(|&pc| dynplug::symbolize(pc))
        .collect();
    assert!(
        named
            .iter()
            .any(|s| s.symbol.as_deref() == Some("call_back") && s.offset > 0),
        "{named:?}"
    );
}
