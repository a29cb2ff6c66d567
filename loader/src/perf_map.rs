//! perf's map of code outside file mappings (`/tmp/perf-PID.map`, one `START SIZE name` line
//! per function, hex): perf names samples in a plugin from a file by reading that file, but a
//! plugin opened from memory lives in anonymous pages, which perf looks up in this map.

use std::io::Write;
use std::sync::Mutex;

use crate::debug_elf::Source;

/// Serialises appends from concurrent opens (each writes its lines in one `write`).
static MAP: Mutex<()> = Mutex::new(());

/// Takes the perf map's lock for a fork (`fork::prepare`).
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(MAP.lock().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_PERFMAP: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::PerfMap,
    take: lock_all,
    in_child: None,
};

/// True if the host asked for the map (`Options::perf_map`) or `DYNPLUG_PERFMAP=1` is set.
pub fn wanted(asked: bool) -> bool {
    asked || std::env::var_os("DYNPLUG_PERFMAP").is_some_and(|v| v == "1")
}

/// The map's path for this process.
pub fn path() -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

/// Appends the functions of the module from memory `bytes`, mapped at `bias`. Best effort: an
/// error leaves the map as it was or partly written, and never fails the open.
pub fn append(bytes: &[u8], bias: u64) {
    let mut text = Vec::new();
    for (start, size, name) in crate::debug_elf::functions(&Source::Bytes(bytes), bias) {
        // A name is one field to the line's end: no newline may cut it.
        if name.contains(&b'\n') {
            continue;
        }
        let _ = write!(text, "{start:x} {size:x} ");
        text.extend_from_slice(&name);
        text.push(b'\n');
    }
    if text.is_empty() {
        return;
    }
    crate::fork::install();
    let _guard = MAP.lock().unwrap_or_else(|p| p.into_inner());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path());
    if let Ok(mut f) = file {
        let _ = f.write_all(&text);
    }
}
