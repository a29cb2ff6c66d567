//! The runtime ABI on a system that runs no ELF in the process (macOS, whose dyld loads Mach-O):
//! the machine only. Every open is refused before anything here would be used
//! (`os::elf_host`), so there are no assembly stubs (their ELF directives, `.hidden`, `.type`,
//! `.pushsection`, do not assemble for Mach-O) and no thread pointer of ELF TLS.

use super::TlsDescStubs;
use dynplug_arch::Machine;

/// The machine.
pub const MACHINE: Machine = match Machine::host() {
    Some(m) => m,
    None => panic!("dynplug-arch knows no such machine"),
};

/// No ELF thread pointer (never asked: nothing is loaded).
pub fn thread_pointer() -> u64 {
    0
}

/// No TLS descriptor resolvers.
pub fn tlsdesc_stubs() -> Option<TlsDescStubs> {
    None
}

/// No getter of Mach-O thread-local variables.
pub fn tlv_getter() -> Option<u64> {
    None
}

/// No static TLS reserve.
pub const STATIC_TLS_RESERVE: bool = false;

/// DT_INIT and DT_FINI: never run (nothing is loaded).
pub const INIT_FINI: bool = false;

/// Calls the IFUNC resolver at `addr` with no argument (never asked: nothing is loaded).
///
/// # Safety
/// `addr` is an IFUNC resolver of relocated, initialised code.
pub unsafe fn call_ifunc_resolver(addr: u64, _call: super::IfuncCall) -> u64 {
    // SAFETY: the caller promises `addr` is a resolver function returning an address.
    let f: extern "C" fn() -> u64 =
        unsafe { std::mem::transmute::<usize, extern "C" fn() -> u64>(addr as usize) };
    f()
}

/// glibc's cache flags for a libc6 library of no particular machine (the cache is never
/// consulted here: `os/macos.rs` has none).
pub const CACHE_FLAGS: u32 = super::FLAG_ELF_LIBC6;

/// No prefetch hint.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    let _ = p;
}

/// Defines `entries_with_caller()`: no stubs (the served functions cannot know their caller).
macro_rules! served_with_caller {
    ($open:path, $symbol:path, $versioned:path) => {
        fn entries_with_caller() -> Option<(*const (), *const (), *const ())> {
            None
        }
    };
}
pub(crate) use served_with_caller;

/// gdb's JIT interface: not defined.
pub fn jit_interface() -> Option<(*mut u8, unsafe extern "C" fn())> {
    None
}

/// The bytes a debugger's breakpoint writes (unused: no interface).
pub const BREAKPOINT: &[u8] = &[];
