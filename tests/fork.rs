//! fork() while other threads open, look up and dry-run plugins (and run their initialisers):
//! the child, which has only the forking thread, opens plugins and runs them. glibc resets its
//! loader lock in the child; a lock dynplug held in another thread at the fork must not block
//! the child for ever, nor state that thread owned (an initialiser it was running).
//!
//! Each child must exit within a deadline: a child still running then is killed and counted as
//! hung (the test fails, it does not hang).
// SAFETY (this file): the plugins are fixtures built from testdata/; every symbol is cast to
// the type its source declares. The child calls only dynplug and then `_exit`.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dynplug::{Loader, Plugin};
use dynplug_fixtures::{fresh_copy, path};

const FORKS: usize = 300;
const OPENERS: usize = 2;
/// Far longer than a child needs (a few milliseconds): only a hung child reaches it.
const DEADLINE: Duration = Duration::from_secs(20);

/// What a child does: open a new plugin and run it, and open the one a thread was opening at
/// the fork. Its exit status: 0 if all went well.
///
/// The latter's initialiser may have been running in that thread at the fork: in the child it
/// never finishes (that thread does not exist there), and the plugin counts as open, as glibc
/// counts a library whose initialisers started. Only the new plugin must have run its own.
fn child(new: &PathBuf, busy: &PathBuf) -> i32 {
    let run = || -> Result<(), String> {
        for (p, must_be_ready) in [(new, true), (busy, false)] {
            let plugin = unsafe { Plugin::open(p) }.map_err(|e| e.to_string())?;
            let ready: extern "C" fn() -> i32 = unsafe {
                plugin
                    .lookup("fork_ready")
                    .map_err(|e| e.to_string())?
                    .cast()
            };
            if must_be_ready && ready() != 1 {
                return Err(format!("{}: initialiser did not run", p.display()));
            }
        }
        Ok(())
    };
    match std::panic::catch_unwind(run) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            // Straight to the descriptor: the test harness's capture of this thread's output
            // does not reach the parent.
            let msg = format!("child: {e}\n");
            unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
            1
        }
        Err(_) => 2,
    }
}

/// Waits for `pid` until the deadline; kills it then. Its exit status, or `None` if it hung.
fn wait(pid: libc::pid_t) -> Option<i32> {
    let end = Instant::now() + DEADLINE;
    loop {
        let mut status = 0;
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid: {}", std::io::Error::last_os_error());
        if r == pid {
            return Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
        }
        if Instant::now() > end {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_child_forked_while_threads_open_plugins_opens_plugins() {
    // Made before any thread starts: the children read these, never change them.
    let busy: Arc<Vec<PathBuf>> = Arc::new(
        (0..FORKS * 4)
            .map(|_| fresh_copy("fork_slow_init"))
            .collect(),
    );
    let new: Vec<PathBuf> = (0..FORKS).map(|_| fresh_copy("fork_slow_init")).collect();
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..OPENERS {
        let (busy, next, stop) = (busy.clone(), next.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed) % busy.len();
                let p = unsafe { Plugin::open(&busy[i]) }.unwrap();
                p.lookup("fork_ready").unwrap();
            }
        }));
    }
    let checker_stop = stop.clone();
    threads.push(std::thread::spawn(move || {
        while !checker_stop.load(Ordering::Relaxed) {
            let r = Loader::new().check(path("hello")).unwrap();
            assert!(r.is_ok(), "{:?}", r.problems);
        }
    }));
    let (mut hung, mut failed) = (0, 0);
    for new in &new {
        // The plugin an opener is at (or about to be at) when the fork happens.
        let at = &busy[next.load(Ordering::Relaxed) % busy.len()];
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let code = child(new, at);
            unsafe { libc::_exit(code) };
        }
        match wait(pid) {
            None => hung += 1,
            Some(0) => {}
            Some(_) => failed += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        (hung, failed),
        (0, 0),
        "of {FORKS} children, (hung, failed)"
    );
}
