//! A file is loaded once per process, whichever way it is reached first, as with dlopen: a
//! library dynplug loaded as a plugin's dependency and then opened as a plugin is that copy (its
//! state shared, its initialiser not run again); a plugin opened first is the copy a later
//! plugin's dependency binds to; a library the system loader has (libgcc_s, which every Rust
//! test binary links) is the system's copy, not a second mapping; and a library still being
//! initialised on another thread is returned once its initialiser has run.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/ and the
// system's libgcc_s; every symbol is cast to the type its source declares.
use std::ffi::{c_void, CString};
use std::sync::{Condvar, Mutex};

use dynplug::{Loader, Plugin};
use dynplug_fixtures::path;

/// How many copies of files whose name contains `needle` the process maps: mappings of file
/// offset 0, except one that directly follows another of the same file at offset 0 (a small
/// object's RW segment starting in the file's first page, as riscv64's and aarch64's ld lay
/// them out without separate code, is a second offset-0 mapping of the same copy).
fn images_of(needle: &str) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut previous: Option<(u64, String)> = None;
    let mut copies = 0;
    for l in maps.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (Some(range), Some(offset)) = (f.first(), f.get(2)) else {
            continue;
        };
        let (start, end) = range.split_once('-').unwrap();
        let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
        let file = f.get(5).copied().unwrap_or("");
        let at_zero = *offset == "00000000";
        let continues = previous
            .as_ref()
            .is_some_and(|(prev_end, prev_file)| *prev_end == hex(start) && prev_file == file);
        if at_zero && file.contains(needle) && !continues {
            copies += 1;
        }
        previous = at_zero.then(|| (hex(end), file.to_string()));
    }
    copies
}

type StateAt = extern "C" fn() -> *mut i32;
type Count = extern "C" fn() -> i32;

fn check_one_copy(x: &str, user: &Plugin, dep: &Plugin) {
    let via_user: StateAt = unsafe { user.lookup(&format!("user_{x}_state")).unwrap().cast() };
    let direct: StateAt = unsafe { dep.lookup(&format!("{x}_once_state_at")).unwrap().cast() };
    assert_eq!(
        via_user(),
        direct(),
        "the plugin and its dependency see one {x}_once_state"
    );
    let inits: Count = unsafe { dep.lookup(&format!("{x}_once_init_count")).unwrap().cast() };
    assert_eq!(inits(), 1, "{x}_once.so initialised once");
    assert_eq!(
        images_of(&format!("{x}_once.so")),
        1,
        "{x}_once.so mapped once"
    );
}

#[test]
fn a_dependency_opened_as_a_plugin_is_the_same_copy() {
    let user = unsafe { Plugin::open(path("once_user_a")) }.unwrap();
    let dep = unsafe { Plugin::open(path("a_once")) }.unwrap();
    check_one_copy("a", user, dep);
}

#[test]
fn a_plugin_is_the_copy_a_later_dependency_binds_to() {
    let dep = unsafe { Plugin::open(path("b_once")) }.unwrap();
    let user = unsafe { Plugin::open(path("once_user_b")) }.unwrap();
    check_one_copy("b", user, dep);
}

/// The file of the libgcc_s the system loader mapped into this test.
fn system_libgcc() -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|f| f.contains("libgcc_s.so"))
        .expect("the test binary links libgcc_s")
        .to_string()
}

#[test]
fn a_library_the_system_loaded_is_the_systems_copy() {
    let libgcc = system_libgcc();
    let before = images_of("libgcc_s.so");
    let p = unsafe { Plugin::open(&libgcc) }.unwrap();
    let name = CString::new("_Unwind_RaiseException").unwrap();
    // SAFETY: a NUL-terminated name looked up in the global scope (the test, not dynplug, asks
    // the system loader).
    let system = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    assert!(!system.is_null());
    assert_eq!(p.lookup("_Unwind_RaiseException").unwrap().addr(), system);
    assert_eq!(
        images_of("libgcc_s.so"),
        before,
        "no second mapping of libgcc_s"
    );
    assert_eq!(
        p.path(),
        std::fs::canonicalize(&libgcc).unwrap(),
        "registered under its canonical path"
    );
}

#[test]
fn the_dry_run_of_a_library_the_process_has_finds_no_problem() {
    // An open returns the copy the process has, so it meets no problem; a dry run of the file
    // as a second copy would bind its DT_INIT_ARRAY symbol to the first copy and call that
    // malformed.
    let libgcc = system_libgcc();
    let report = Loader::new().check(&libgcc).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // The same for a library dynplug loaded (as a plugin here).
    let hello = path("hello");
    unsafe { Plugin::open(&hello) }.unwrap();
    assert!(Loader::new().check(&hello).unwrap().problems.is_empty());
}

/// A one-way signal from a plugin's initialiser (through a host export) to the test.
struct Flag(Mutex<bool>, Condvar);

impl Flag {
    const fn new() -> Flag {
        Flag(Mutex::new(false), Condvar::new())
    }

    fn set(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }

    fn wait(&self) {
        let mut set = self.0.lock().unwrap();
        while !*set {
            set = self.1.wait(set).unwrap();
        }
    }
}

/// Opens `plugin` on a new thread with `host_fn` exported as `export`, and calls the plugin's
/// `fn() -> i32` called `result` there; the thread's answer.
fn open_on_thread(
    plugin: &'static str,
    export: &'static str,
    host_fn: extern "C" fn(),
    result: &'static str,
) -> std::thread::JoinHandle<i32> {
    std::thread::spawn(move || {
        let loader = Loader::new().export(export, host_fn as *const c_void);
        let p = unsafe { loader.open(path(plugin)) }.unwrap();
        let f: Count = unsafe { p.lookup(result).unwrap().cast() };
        f()
    })
}

static STARTED: Flag = Flag::new();

extern "C" fn slow_init_started() {
    STARTED.set();
}

#[test]
fn a_library_being_initialised_is_returned_once_its_initialiser_has_run() {
    // One thread opens slow_user.so, whose dependency's initialiser runs for 300 ms; once it has
    // started, this thread opens that dependency directly: the open returns the same copy, and
    // only after the initialiser finished.
    let opener = open_on_thread(
        "slow_user",
        "slow_init_started",
        slow_init_started,
        "slow_user_sees",
    );
    STARTED.wait();
    let dep = unsafe { Plugin::open(path("a_slow_init")) }.unwrap();
    let finished: Count = unsafe { dep.lookup("slow_init_finished").unwrap().cast() };
    assert_eq!(
        finished(),
        1,
        "returned while its initialiser was still running"
    );
    assert_eq!(opener.join().unwrap(), 1);
    assert_eq!(images_of("a_slow_init.so"), 1);
}

static STARTED_B: Flag = Flag::new();

extern "C" fn slow_init_started_b() {
    STARTED_B.set();
}

#[test]
fn a_plugin_using_a_library_being_initialised_runs_its_initialisers_after_it() {
    // One thread opens slow_user_b1.so, whose dependency's initialiser runs for 300 ms; once it
    // has started, this thread opens slow_user_b2.so, which needs the same library: that
    // plugin's initialiser runs only after the library's finished (it records what it saw).
    let opener = open_on_thread(
        "slow_user_b1",
        "slow_init_started_b",
        slow_init_started_b,
        "slow_user_b1_saw",
    );
    STARTED_B.wait();
    let second = unsafe { Plugin::open(path("slow_user_b2")) }.unwrap();
    let saw: Count = unsafe { second.lookup("slow_user_b2_saw").unwrap().cast() };
    assert_eq!(
        saw(),
        1,
        "its initialiser ran before the library's had finished"
    );
    assert_eq!(opener.join().unwrap(), 1);
    assert_eq!(images_of("b_slow_init.so"), 1);
}

static HOOK_STARTED: Flag = Flag::new();

/// Runs in a_initcycle.so's initialiser (thread A): once the main thread is waiting for that
/// initialiser inside its open of initcycle_q.so, opens initcycle_q.so too.
extern "C" fn initcycle_hook() {
    HOOK_STARTED.set();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let q = unsafe { Plugin::open(path("initcycle_q")) }.unwrap();
    let value: Count = unsafe { q.lookup("initcycle_q_value").unwrap().cast() };
    assert_eq!(value(), 7);
}

#[test]
fn an_initialiser_opening_a_plugin_another_thread_waits_on_does_not_deadlock() {
    // Thread A: opens initcycle_p.so; a_initcycle.so's initialiser (on A) waits 500 ms, then
    // opens initcycle_q.so. Meanwhile this thread opens initcycle_q.so, which needs
    // a_initcycle.so: it waits for that initialiser, which waits for this open. One must go on
    // (glibc's rule for an initialiser reopening what it initialises). In a child process with
    // a deadline, so that a deadlock fails the test instead of hanging it.
    if !in_child_within(
        "an_initialiser_opening_a_plugin_another_thread_waits_on_does_not_deadlock",
        30,
    ) {
        return;
    }
    let opener = open_on_thread(
        "initcycle_p",
        "initcycle_hook",
        initcycle_hook,
        "initcycle_p_value",
    );
    HOOK_STARTED.wait();
    let q = unsafe { Plugin::open(path("initcycle_q")) }.unwrap();
    let value: Count = unsafe { q.lookup("initcycle_q_value").unwrap().cast() };
    assert_eq!(value(), 7);
    assert_eq!(opener.join().unwrap(), 7);
}

const CHILD: &str = "DYNPLUG_LOADED_ONCE_CHILD";

/// True in the child process, which runs the test's body; in the parent, runs `test` in a child
/// and asserts it passed within `seconds` (killed and failed otherwise).
fn in_child_within(test: &str, seconds: u64) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let mut child = dynplug_fixtures::command(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
            assert!(status.success(), "child: {status:?}\n{out}");
            assert!(out.contains("1 passed"), "{out}");
            return false;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            panic!("{test}: no answer within {seconds} s (deadlock)");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
