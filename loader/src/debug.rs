//! Debug logging, like glibc's `LD_DEBUG`: `DYNPLUG_DEBUG=files,bindings,relocs,init,scope,
//! statistics` (or `all`, or `help`), to stderr or to `DYNPLUG_DEBUG_OUTPUT=PATH` (as `PATH.PID`).
//!
//! Records go through the `log` facade, with targets `dynplug::files`, `dynplug::bindings`, ...:
//! a host with its own logger routes and filters them; with `DYNPLUG_DEBUG` set and no logger
//! installed, dynplug installs a minimal one writing glibc-style lines. Off, a category costs one
//! relaxed atomic load where a record would be made ([`on`]); nothing is formatted.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

/// Where each library is searched for and found.
pub const FILES: u32 = 1;
/// Each symbol binding.
pub const BINDINGS: u32 = 1 << 1;
/// Relocation counts and time per module.
pub const RELOCS: u32 = 1 << 2;
/// Each initialiser run.
pub const INIT: u32 = 1 << 3;
/// The scope each group is linked in.
pub const SCOPE: u32 = 1 << 4;
/// Open timings.
pub const STATISTICS: u32 = 1 << 5;

/// The categories, by name (as `DYNPLUG_DEBUG` spells them) and `log` target.
const CATEGORIES: [(&str, u32, &str, &str); 6] = [
    (
        "files",
        FILES,
        "dynplug::files",
        "where each library is searched for and found",
    ),
    (
        "bindings",
        BINDINGS,
        "dynplug::bindings",
        "each symbol binding",
    ),
    (
        "relocs",
        RELOCS,
        "dynplug::relocs",
        "relocation counts and time per module",
    ),
    ("init", INIT, "dynplug::init", "each initialiser run"),
    (
        "scope",
        SCOPE,
        "dynplug::scope",
        "the scope each group is linked in",
    ),
    (
        "statistics",
        STATISTICS,
        "dynplug::statistics",
        "open timings",
    ),
];

/// The categories on; read with one relaxed load on hot paths.
static ENABLED: AtomicU32 = AtomicU32::new(0);
/// What `DYNPLUG_DEBUG` asks for (read once).
static FROM_ENV: AtomicU32 = AtomicU32::new(0);
/// Set by the first thread to read `DYNPLUG_DEBUG` (not a `Once`: a child forked while another
/// thread runs one would wait for it for ever).
static READ_ENV: AtomicBool = AtomicBool::new(false);
/// dynplug's own logger, once installed (its sink's lock is taken for a fork).
static OWN: std::sync::atomic::AtomicPtr<Logger> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());
/// True once dynplug's own logger is installed: then only `DYNPLUG_DEBUG`'s categories are on.
static OWN_LOGGER: AtomicBool = AtomicBool::new(false);

/// True if category `cat` is on. One relaxed atomic load: call it before formatting anything.
#[inline(always)]
pub fn on(cat: u32) -> bool {
    ENABLED.load(Ordering::Relaxed) & cat != 0
}

/// Works out which categories are on: at the start of every open and dry run (cheap: the
/// environment is read once). `DYNPLUG_DEBUG`'s categories, plus, for a host that installed its
/// own `log` logger, every category its maximum level lets through (`bindings` at `Trace`,
/// the others at `Debug`).
pub fn refresh() {
    if !READ_ENV.swap(true, Ordering::AcqRel) {
        read_env();
    }
    let mut cats = FROM_ENV.load(Ordering::Relaxed);
    let level = log::max_level();
    if !OWN_LOGGER.load(Ordering::Relaxed) {
        if level >= log::LevelFilter::Debug {
            cats |= FILES | RELOCS | INIT | SCOPE | STATISTICS;
        }
        if level >= log::LevelFilter::Trace {
            cats |= BINDINGS;
        }
    }
    ENABLED.store(cats, Ordering::Relaxed);
}

/// The `log` target of a category.
pub fn target(cat: u32) -> &'static str {
    CATEGORIES
        .iter()
        .find(|c| c.1 == cat)
        .map_or("dynplug", |c| c.2)
}

/// The level a category's records have.
pub fn level(cat: u32) -> log::Level {
    if cat == BINDINGS {
        log::Level::Trace
    } else {
        log::Level::Debug
    }
}

/// Logs a record of category `cat`; the caller checked [`on`] first.
#[macro_export]
#[doc(hidden)]
macro_rules! debug_log {
    ($cat:expr, $($arg:tt)*) => {
        log::log!(target: $crate::debug::target($cat), $crate::debug::level($cat), $($arg)*)
    };
}

/// The categories `value` names (`help` prints them to `out`).
fn parse(value: &str, out: &mut dyn Write) -> u32 {
    let mut cats = 0;
    for word in value.split([',', ' ', ':']).filter(|w| !w.is_empty()) {
        match word {
            "all" => cats |= CATEGORIES.iter().fold(0, |a, c| a | c.1),
            "help" => {
                let _ = writeln!(
                    out,
                    "Valid options for the DYNPLUG_DEBUG environment variable:\n"
                );
                for (name, _, target, what) in CATEGORIES {
                    let _ = writeln!(out, "  {name:<12} {what} (log target {target})");
                }
                let _ = writeln!(out, "  {:<12} all previous options combined\n", "all");
                let _ = writeln!(
                    out,
                    "To direct the output into a file instead of standard error, set\n\
                     DYNPLUG_DEBUG_OUTPUT to a path: the process ID is appended to it."
                );
            }
            other => {
                if let Some(c) = CATEGORIES.iter().find(|c| c.0 == other) {
                    cats |= c.1;
                } else {
                    let _ = writeln!(out, "warning: DYNPLUG_DEBUG: unknown option '{other}'");
                }
            }
        }
    }
    cats
}

fn read_env() {
    let Some(value) = std::env::var_os("DYNPLUG_DEBUG") else {
        return;
    };
    let value = value.to_string_lossy().into_owned();
    let sink = Sink::open();
    let cats = {
        let mut out = sink.lock();
        parse(&value, &mut *out)
    };
    FROM_ENV.store(cats, Ordering::Relaxed);
    if cats != 0 {
        // A host's logger, if it installed one first, gets the records instead.
        let logger: &'static Logger = Box::leak(Box::new(Logger { sink }));
        if log::set_logger(logger).is_ok() {
            OWN.store(logger as *const Logger as *mut Logger, Ordering::Release);
            OWN_LOGGER.store(true, Ordering::Relaxed);
            log::set_max_level(log::LevelFilter::Trace);
        }
    }
}

/// Takes the logger's lock for a fork (`fork::prepare`): the innermost, as a line is written
/// under any other lock.
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    // SAFETY: null or the leaked `&'static Logger` stored when it was installed.
    if let Some(logger) = unsafe { OWN.load(Ordering::Acquire).as_ref() } {
        held.push(Box::new(logger.sink.lock()));
    }
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_LOGGER: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::Logger,
    take: lock_all,
    in_child: None,
};

/// Where the minimal logger writes.
struct Sink(Mutex<Box<dyn Write + Send>>);

impl Sink {
    /// `DYNPLUG_DEBUG_OUTPUT.PID` if set and it can be created, else stderr.
    fn open() -> Sink {
        let file = std::env::var_os("DYNPLUG_DEBUG_OUTPUT").and_then(|p| {
            let mut path = p;
            path.push(format!(".{}", std::process::id()));
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        let w: Box<dyn Write + Send> = match file {
            Some(f) => Box::new(f),
            None => Box::new(std::io::stderr()),
        };
        Sink(Mutex::new(w))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Box<dyn Write + Send>> {
        crate::fork::install();
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The minimal logger: `PID: message` lines, as glibc's `LD_DEBUG` writes them.
struct Logger {
    sink: Sink,
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target().starts_with("dynplug")
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        // One write per line: lines of threads do not interleave.
        let line = format!("{:>10}:\t{}\n", std::process::id(), r.args());
        let _ = self.sink.lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = self.sink.lock().flush();
    }
}

/// Milliseconds since `t`, for timings.
pub fn ms_since(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_parsed_as_glibc_parses_ld_debug() {
        let mut out = Vec::new();
        assert_eq!(parse("files,bindings", &mut out), FILES | BINDINGS);
        assert_eq!(parse("all", &mut out), 63);
        assert!(out.is_empty());
        assert_eq!(parse("relocs bogus", &mut out), RELOCS);
        assert!(String::from_utf8_lossy(&out).contains("unknown option 'bogus'"));
        let mut help = Vec::new();
        assert_eq!(parse("help", &mut help), 0);
        let help = String::from_utf8_lossy(&help);
        for (name, _, target, _) in CATEGORIES {
            assert!(help.contains(name) && help.contains(target), "{help}");
        }
    }
}
