//! At the process's limits, an open fails with `Error::Map` and leaves nothing behind (no
//! mapping, no registration): once memory is back, the same opens work and each initialiser
//! runs once. Run in forked children: one whose address space is limited (RLIMIT_AS), one
//! whose mappings fill the kernel's limit on their number (vm.max_map_count), within a few
//! mappings of it, so that each step of an open (reserving, mapping segments, protecting
//! RELRO) in turn meets the limit.
// SAFETY (this file): the plugins are fixtures built from testdata/; every symbol is cast to
// the type its source declares. The child calls only dynplug and then `_exit`.
use std::time::{Duration, Instant};

use dynplug::{Error, Plugin};
use dynplug_fixtures::path;

/// Bytes of address space the process has now (`VmSize`).
fn vm_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

fn set_soft_limit(bytes: u64) {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut l) }, 0);
    // rlim_t is u64 on Linux, i64 on FreeBSD (where the tests are only compiled).
    l.rlim_cur = libc::rlim_t::try_from(bytes).unwrap().min(l.rlim_max);
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &l) }, 0);
}

/// True if a mapping of a file named `name` is in the process.
fn mapped(name: &str) -> bool {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .any(|l| l.ends_with(name))
}

/// The start addresses of the mappings of a file named `name`.
fn mappings_of(name: &str) -> impl Iterator<Item = usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let starts: Vec<usize> = maps
        .lines()
        .filter(|l| l.ends_with(name))
        .map(|l| usize::from_str_radix(l.split('-').next().unwrap(), 16).unwrap())
        .collect();
    starts.into_iter()
}

/// The child's checks; `Err` names the first that failed.
fn child() -> Result<(), String> {
    let (user, dep) = (path("big_user"), path("a_big_dep"));
    // Room for the small plugin, not for the library's 64 MiB.
    set_soft_limit(vm_size() + (16 << 20));
    for p in [&user, &dep] {
        match unsafe { Plugin::open(p) } {
            Err(Error::Map { .. }) => {}
            other => return Err(format!("{}: under the limit: {other:?}", p.display())),
        }
    }
    if mapped("/big_user.so") || mapped("/a_big_dep.so") {
        return Err("a failed open left a mapping".into());
    }
    set_soft_limit(u64::MAX);
    let p = unsafe { Plugin::open(&user) }.map_err(|e| format!("after the limit: {e}"))?;
    let value: extern "C" fn() -> i32 = unsafe {
        p.lookup("big_user_value")
            .map_err(|e| e.to_string())?
            .cast()
    };
    let d = unsafe { Plugin::open(&dep) }.map_err(|e| format!("after the limit: {e}"))?;
    let inits: extern "C" fn() -> i32 =
        unsafe { d.lookup("big_dep_inits").map_err(|e| e.to_string())?.cast() };
    match (value(), inits()) {
        (43, 1) => Ok(()),
        other => Err(format!("(value, initialiser runs) = {other:?}")),
    }
}

/// Maps single pages, apart (each its own mapping), until the kernel refuses one.
fn fill_mappings() -> Vec<usize> {
    let page = 4096;
    let mut pages = Vec::new();
    loop {
        // Two pages reserved, the second unmapped: no two of them merge.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return pages;
        }
        unsafe { libc::munmap((p as usize + page) as *mut libc::c_void, page) };
        pages.push(p as usize);
    }
}

/// At each distance from the mapping limit, an open fails with `Error::Map` leaving no
/// mapping, or works; with every mapping back, the plugin works and initialised once.
fn mapping_limit_child() -> Result<(), String> {
    let pages = fill_mappings();
    let mut freed = 0;
    let mut opened = None;
    for &p in &pages {
        // A mapping more, then an open.
        unsafe { libc::munmap(p as *mut libc::c_void, 4096) };
        freed += 1;
        match unsafe { Plugin::open(path("big_user")) } {
            Ok(plugin) => {
                opened = Some(plugin);
                break;
            }
            Err(Error::Map { .. }) => {}
            Err(e) => return Err(format!("{freed} mappings from the limit: {e}")),
        }
        if freed > 64 {
            return Err("64 mappings are not enough for an open".into());
        }
    }
    for &p in &pages[freed..] {
        unsafe { libc::munmap(p as *mut libc::c_void, 4096) };
    }
    let p = match opened {
        Some(p) => p,
        None => unsafe { Plugin::open(path("big_user")) }.map_err(|e| e.to_string())?,
    };
    let value: extern "C" fn() -> i32 = unsafe {
        p.lookup("big_user_value")
            .map_err(|e| e.to_string())?
            .cast()
    };
    let d = unsafe { Plugin::open(path("a_big_dep")) }.map_err(|e| e.to_string())?;
    let inits: extern "C" fn() -> i32 =
        unsafe { d.lookup("big_dep_inits").map_err(|e| e.to_string())?.cast() };
    // Failed opens left no mapping: every mapping of the files lies in the images loaded.
    for (file, near, span) in [
        ("/big_user.so", value as usize, 1 << 20),
        ("/a_big_dep.so", inits as usize, 72 << 20),
    ] {
        if let Some(stray) = mappings_of(file).find(|&a| a.abs_diff(near) > span) {
            return Err(format!("{file} is also mapped at {stray:#x}"));
        }
    }
    match (value(), inits(), freed > 1) {
        (43, 1, true) => Ok(()),
        other => Err(format!(
            "(value, initialiser runs, failed first) = {other:?}"
        )),
    }
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "under qemu-user the address-space and mapping limits count qemu's own \
              reservation and mappings: the child cannot be brought within a few mappings of them"
)]
fn opens_fail_with_map_at_the_address_space_limit_and_work_after() {
    in_child(child);
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "under qemu-user the address-space and mapping limits count qemu's own \
              reservation and mappings: the child cannot be brought within a few mappings of them"
)]
fn opens_fail_with_map_at_the_mapping_limit_and_work_after() {
    in_child(mapping_limit_child);
}

/// Runs `f` in a forked child; fails if it fails or hangs.
fn in_child(f: fn() -> Result<(), String>) {
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = match std::panic::catch_unwind(f) {
            Ok(Ok(())) => 0,
            Ok(Err(e)) => {
                // Straight to the descriptor: the harness's capture does not reach the parent.
                let msg = format!("child: {e}\n");
                unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
                1
            }
            Err(_) => 2,
        };
        unsafe { libc::_exit(code) };
    }
    // A hung child fails the test (it is killed), it does not hang it.
    let end = Instant::now() + Duration::from_secs(60);
    let mut status = 0;
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
        if Instant::now() > end {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::waitpid(pid, &mut status, 0) };
            panic!("the child hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status:#x} (see its message above)"
    );
}
