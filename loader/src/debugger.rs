//! Tells debuggers about every module dynplug maps, through gdb's JIT interface (documented in
//! gdb's manual, "JIT Compilation Interface"; lldb's JITLoaderGDB reads the same): a list of
//! in-memory ELF files hung off `__jit_debug_descriptor`, and a call to
//! `__jit_debug_register_code` after each change, where the debugger has a breakpoint. Each
//! module gets a stub ELF (`debug_elf.rs`) placing its sections and symbols at their run-time
//! addresses and naming its file for DWARF. Why not the `r_debug` list: docs/architecture.md.

use std::ptr::{addr_of_mut, null_mut};
use std::sync::Mutex;

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

// The interface's two symbols, defined weak: a process that has them already (another JIT in the
// host, e.g. wasmtime's) links to that one definition and the debugger sees one list.
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".pushsection .data.__jit_debug_descriptor,\"aw\",@progbits",
    ".weak __jit_debug_descriptor",
    ".type __jit_debug_descriptor,@object",
    ".size __jit_debug_descriptor,24",
    ".p2align 3",
    "__jit_debug_descriptor:",
    ".long 1",
    ".long 0",
    ".quad 0",
    ".quad 0",
    ".popsection",
    ".pushsection .text.__jit_debug_register_code,\"ax\",@progbits",
    ".weak __jit_debug_register_code",
    ".type __jit_debug_register_code,@function",
    "__jit_debug_register_code:",
    "ret",
    ".size __jit_debug_register_code,.-__jit_debug_register_code",
    ".popsection",
);

#[cfg(target_arch = "x86_64")]
extern "C" {
    static mut __jit_debug_descriptor: Descriptor;
    fn __jit_debug_register_code();
}

/// Serialises dynplug's changes to the list.
static LIST: Mutex<()> = Mutex::new(());

/// Announces a module to debuggers: `file` is its ELF file's bytes (or the bytes it was opened
/// from), `bias` its load bias, `path` its file on disk, if any. Best effort: a file without
/// section headers is not announced.
pub fn register(file: &[u8], bias: u64, path: Option<&[u8]>) {
    let Some(stub) = crate::debug_elf::stub(file, bias, path) else {
        return;
    };
    let stub: &'static [u8] = Box::leak(stub.into_boxed_slice());
    let entry = Box::leak(Box::new(CodeEntry {
        next: null_mut(),
        prev: null_mut(),
        symfile_addr: stub.as_ptr(),
        symfile_size: stub.len() as u64,
    }));
    let _guard = LIST.lock().unwrap_or_else(|p| p.into_inner());
    link(entry);
}

#[cfg(target_arch = "x86_64")]
fn link(entry: &'static mut CodeEntry) {
    // SAFETY: the descriptor is the interface's static, written only under `LIST` by dynplug
    // (a debugger reads it while the process is stopped); entries and stubs are leaked, so
    // every pointer in the list stays valid for the life of the process.
    unsafe {
        let d = addr_of_mut!(__jit_debug_descriptor);
        let first = (*d).first_entry;
        entry.next = first;
        if !first.is_null() {
            (*first).prev = entry;
        }
        (*d).first_entry = entry;
        (*d).relevant_entry = entry;
        (*d).action_flag = REGISTER;
        __jit_debug_register_code();
        (*d).action_flag = 0;
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn link(_entry: &'static mut CodeEntry) {}
