//! aarch64's runtime ABI (AAPCS64, glibc's ld.so as the reference).

use super::TlsDescStubs;
use dynplug_arch::Machine;

/// The machine.
pub const MACHINE: Machine = Machine::Aarch64;

/// The thread pointer (`tpidr_el0`).
pub fn thread_pointer() -> u64 {
    let tp: u64;
    // SAFETY: reading tpidr_el0 has no side effects.
    unsafe {
        std::arch::asm!("mrs {}, tpidr_el0", out(reg) tp, options(nostack, nomem, preserves_flags))
    };
    tp
}

/// No TLS descriptor resolvers yet: TLSDESC relocations are refused.
pub fn tlsdesc_stubs() -> Option<TlsDescStubs> {
    None
}

/// The static TLS reserve is not used here yet: initial-exec TLS of loaded modules is refused.
pub const STATIC_TLS_RESERVE: bool = false;

/// glibc's `_IFUNC_ARG_HWCAP`: set in the first argument when the second is passed.
const IFUNC_ARG_HWCAP: u64 = 1 << 62;

/// glibc 2.36's `__ifunc_arg_t` (`sysdeps/unix/sysv/linux/aarch64/sys/ifunc.h`).
#[repr(C)]
struct IfuncArg {
    size: u64,
    hwcap: u64,
    hwcap2: u64,
}

/// Calls the IFUNC resolver at `addr` as glibc does on aarch64:
/// `resolver(AT_HWCAP | _IFUNC_ARG_HWCAP, &__ifunc_arg_t)`.
///
/// # Safety
/// `addr` is an IFUNC resolver of relocated, initialised code.
pub unsafe fn call_ifunc_resolver(addr: u64) -> u64 {
    // SAFETY: getauxval has no preconditions.
    let (hwcap, hwcap2) = unsafe {
        (
            libc::getauxval(libc::AT_HWCAP),
            libc::getauxval(libc::AT_HWCAP2),
        )
    };
    let arg = IfuncArg {
        size: std::mem::size_of::<IfuncArg>() as u64,
        hwcap,
        hwcap2,
    };
    type Resolver = extern "C" fn(u64, *const IfuncArg) -> u64;
    // SAFETY: the caller promises `addr` is a resolver function; it takes these two arguments
    // (a resolver declaring fewer ignores the rest, as the calling convention allows).
    let f: Resolver = unsafe { std::mem::transmute::<usize, Resolver>(addr as usize) };
    f(hwcap | IFUNC_ARG_HWCAP, &arg)
}

/// What `$LIB` expands to (Debian's multiarch `slibdir`).
pub const LIB: &[u8] = b"lib/aarch64-linux-gnu";

/// The directories searched after the cache (multiarch, then glibc's `slibdir` `/lib64`).
pub const DEFAULT_DIRS: &[&str] = &[
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// The cache flags of this machine's libraries: `FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64` (glibc's
/// `_DL_CACHE_DEFAULT_ID` in `sysdeps/aarch64/dl-cache.h`).
pub const CACHE_FLAGS: u32 = super::FLAG_ELF_LIBC6 | 0x0a00;

/// glibc's dynamic loader, part of the process's C runtime.
pub const GLIBC_LOADER: &[u8] = b"ld-linux-aarch64.so.1";

/// musl's dynamic loader, which is its C library too.
pub const MUSL_LOADER: &[u8] = b"ld-musl-aarch64.so.1";

/// A prefetch hint: none issued here yet.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    let _ = p;
}

/// Defines `entries_with_caller()`: no stubs here yet, the served `dlopen`, `dlsym` and `dlvsym`
/// do not know their caller (no module's options, no caller's name).
macro_rules! served_with_caller {
    ($open:path, $symbol:path, $versioned:path) => {
        fn entries_with_caller() -> Option<(*const (), *const (), *const ())> {
            None
        }
    };
}
pub(crate) use served_with_caller;

/// gdb's JIT interface: not defined here yet (no module is announced to a debugger).
pub fn jit_interface() -> Option<(*mut u8, unsafe extern "C" fn())> {
    None
}

/// The bytes a debugger's breakpoint writes at the start of a function (unused: no interface).
pub const BREAKPOINT: &[u8] = &[];
