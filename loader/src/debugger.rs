//! Tells debuggers about every module dynplug maps, through gdb's JIT interface (documented in
//! gdb's manual, "JIT Compilation Interface"; lldb's JITLoaderGDB reads the same): a list of
//! in-memory ELF files hung off `__jit_debug_descriptor`, and a call to
//! `__jit_debug_register_code` after each change, where the debugger has a breakpoint. Each
//! module gets a stub ELF (`debug_elf.rs`) placing its sections and symbols at their run-time
//! addresses and naming its file for DWARF; modules from files only once a debugger listens.
//! Why not the `r_debug` list: docs/architecture.md.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::null_mut;
use std::sync::{Arc, Mutex};

use crate::debug_elf::Source;
use crate::elf::layout::Load;
use crate::elf::view::View;

/// `JIT_REGISTER_FN`.
const REGISTER: u32 = 1;

/// `struct jit_code_entry` of gdb's interface.
#[repr(C)]
struct CodeEntry {
    next: *mut CodeEntry,
    prev: *mut CodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

/// `struct jit_descriptor` of gdb's interface.
#[repr(C)]
struct Descriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut CodeEntry,
    first_entry: *mut CodeEntry,
}

/// A module opened while no debugger listened, announced when one does.
struct Pending {
    /// The file's path (the module's name, shared with it).
    path: Arc<[u8]>,
    bias: u64,
    loads: &'static [Load],
}

/// Modules not announced yet; the lock also serialises dynplug's changes to the list.
static PENDING: Mutex<Vec<Pending>> = Mutex::new(Vec::new());

/// Takes the debugger list's lock for a fork (`fork::prepare`).
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(PENDING.lock().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_DEBUGGER: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::Debugger,
    take: lock_all,
    in_child: None,
};

/// True if a debugger listens: it has a breakpoint (`int3`) on `__jit_debug_register_code`,
/// as gdb and lldb place one while the process runs; or `DYNPLUG_DEBUGGER=1` asks for every
/// module to be announced as it opens (for core files, or a debugger attached later).
fn listening() -> bool {
    if let Some((_, register_code)) = crate::abi::jit_interface() {
        let f = register_code as *const u8;
        let breakpoint = crate::abi::BREAKPOINT;
        // SAFETY: reads the first bytes of a function of this process (readable code, longer
        // than a breakpoint instruction).
        let start = unsafe { std::slice::from_raw_parts(f, breakpoint.len()) };
        if start == breakpoint {
            return true;
        }
    }
    // Read once, as `DYNPLUG_DEBUG` is: asked at every open.
    static ASKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *crate::fork::once(&ASKED, || {
        std::env::var_os("DYNPLUG_DEBUGGER").is_some_and(|v| v == "1")
    })
}

/// Announces the module mapped at `bias` from the file at `path` (its segments `loads`): now
/// if a debugger listens, else when one does (at a later open). Building a module's stub costs
/// about the size of its symbol table, paid only under a debugger.
pub fn announce_file(path: &Arc<[u8]>, bias: u64, loads: &'static [Load]) {
    crate::fork::install();
    let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    pending.push(Pending {
        path: path.clone(),
        bias,
        loads,
    });
    if listening() {
        for m in pending.drain(..) {
            register_file(&m);
        }
    }
}

/// Announces a module opened from `bytes` (mapped at `bias`) now: the bytes are gone later.
pub fn announce_bytes(bytes: &[u8], bias: u64) {
    crate::fork::install();
    let _pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    register(&Source::Bytes(bytes), bias, None);
}

fn register_file(m: &Pending) {
    let m_path = Path::new(std::ffi::OsStr::from_bytes(&m.path));
    let Ok((file, len)) = crate::file::open_regular_with_len(m_path) else {
        return;
    };
    // SAFETY: the module's image stays mapped at `bias` for the rest of the process (it is
    // never unloaded), with the file-backed part of each of `loads` readable.
    let image = unsafe { View::mapped(m.bias, m.loads) };
    let src = Source::File {
        file: &file,
        len,
        image,
    };
    // gdb reads a `.gnu_debuglink` path relative to its own directory: make it absolute.
    let path = std::env::current_dir().map_or_else(|_| m_path.to_path_buf(), |d| d.join(m_path));
    register(&src, m.bias, Some(path.as_os_str().as_bytes()));
}

/// Hands the debugger the stub of a module (caller holds `PENDING`). Best effort: a file
/// without section headers is not announced.
fn register(src: &Source<'_>, bias: u64, path: Option<&[u8]>) {
    let Some(stub) = crate::debug_elf::stub(src, bias, path) else {
        return;
    };
    let stub: &'static [u8] = Box::leak(stub.into_boxed_slice());
    let entry = Box::leak(Box::new(CodeEntry {
        next: null_mut(),
        prev: null_mut(),
        symfile_addr: stub.as_ptr(),
        symfile_size: stub.len() as u64,
    }));
    link(entry);
}

/// Puts `entry` at the head of the debugger's list and tells the debugger (where the machine
/// defines the interface).
fn link(entry: &'static mut CodeEntry) {
    let Some((descriptor, register_code)) = crate::abi::jit_interface() else {
        return;
    };
    let d = descriptor.cast::<Descriptor>();
    // SAFETY: `d` is the interface's `struct jit_descriptor` static, written only under
    // `PENDING` by dynplug (a debugger reads it while the process is stopped); entries and stubs
    // are leaked, so every pointer in the list stays valid for the life of the process.
    unsafe {
        let first = (*d).first_entry;
        entry.next = first;
        if !first.is_null() {
            (*first).prev = entry;
        }
        (*d).first_entry = entry;
        (*d).relevant_entry = entry;
        (*d).action_flag = REGISTER;
        register_code();
        (*d).action_flag = 0;
    }
}
