//! riscv64's runtime ABI (LP64D, glibc's ld.so as the reference).

use super::TlsDescStubs;
use dynplug_arch::Machine;

/// The machine.
pub const MACHINE: Machine = Machine::Riscv64;

/// The thread pointer (register `tp`).
pub fn thread_pointer() -> u64 {
    let tp: u64;
    // SAFETY: copying the tp register has no side effects.
    unsafe { std::arch::asm!("mv {}, tp", out(reg) tp, options(nostack, nomem, preserves_flags)) };
    tp
}

/// No TLS descriptor resolvers (glibc 2.36 has no riscv TLSDESC): TLSDESC relocations are
/// refused.
pub fn tlsdesc_stubs() -> Option<TlsDescStubs> {
    None
}

/// No getter of Mach-O thread-local variables.
pub fn tlv_getter() -> Option<u64> {
    None
}

/// dynplug's static TLS reserve serves initial-exec TLS of the modules it loads (variant I: the
/// reserve lies above the thread pointer, in the executable's block).
pub const STATIC_TLS_RESERVE: bool = true;

/// glibc's `ELF_INITFINI`: 0 here (`sysdeps/riscv/elf-initfini.h`): DT_INIT and DT_FINI are
/// never run, only the arrays.
pub const INIT_FINI: bool = false;

/// Calls the IFUNC resolver at `addr` as `call`'s C library does on riscv64: Debian 12's glibc
/// (2.36, `sysdeps/riscv/dl-irel.h`) with `resolver(AT_HWCAP)` (glibc 2.40 added two arguments,
/// `__riscv_hwprobe` and NULL); FreeBSD's rtld with none (`riscv/rtld_machdep.h`).
///
/// # Safety
/// `addr` is an IFUNC resolver of relocated, initialised code.
pub unsafe fn call_ifunc_resolver(addr: u64, call: super::IfuncCall) -> u64 {
    let hwcap = match call {
        super::IfuncCall::Glibc => crate::os::hwcaps().0,
        // No argument: the register holds a known 0 rather than whatever it held.
        super::IfuncCall::FreeBsd => 0,
    };
    type Resolver = extern "C" fn(u64) -> u64;
    // SAFETY: the caller promises `addr` is a resolver function taking (at most) this argument.
    let f: Resolver = unsafe { std::mem::transmute::<usize, Resolver>(addr as usize) };
    f(hwcap)
}

/// What `$LIB` expands to (Debian's multiarch `slibdir`).
pub const LIB: &[u8] = b"lib/riscv64-linux-gnu";

/// The directories searched after the cache (multiarch, then glibc's LP64D `slibdir`).
pub const DEFAULT_DIRS: &[&str] = &[
    "/lib/riscv64-linux-gnu",
    "/usr/lib/riscv64-linux-gnu",
    "/lib64/lp64d",
    "/usr/lib64/lp64d",
    "/lib",
    "/usr/lib",
];

/// The cache flags of this machine's libraries: `FLAG_ELF_LIBC6 | FLAG_RISCV_FLOAT_ABI_DOUBLE`
/// (glibc's `_DL_CACHE_DEFAULT_ID` for LP64D in `sysdeps/unix/sysv/linux/riscv/dl-cache.h`).
pub const CACHE_FLAGS: u32 = super::FLAG_ELF_LIBC6 | 0x1000;

/// glibc's dynamic loader, part of the process's C runtime.
pub const GLIBC_LOADER: &[u8] = b"ld-linux-riscv64-lp64d.so.1";

/// musl's dynamic loader, which is its C library too.
pub const MUSL_LOADER: &[u8] = b"ld-musl-riscv64.so.1";

/// A prefetch hint: none issued here yet.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    let _ = p;
}

/// Defines `entries_with_caller()`: the served `dlopen`, `dlsym` and `dlvsym` as stubs that
/// pass their caller's return address (`ra` on entry, in the module that called) as one more
/// argument, after the function's own, to `$open`, `$symbol` and `$versioned`.
macro_rules! served_with_caller {
    ($open:path, $symbol:path, $versioned:path) => {
        std::arch::global_asm!(
            ".globl dynplug_dlopen",
            ".hidden dynplug_dlopen",
            "dynplug_dlopen:",
            "mv a2, ra",
            "tail {open}",
            ".globl dynplug_dlsym",
            ".hidden dynplug_dlsym",
            "dynplug_dlsym:",
            "mv a2, ra",
            "tail {symbol}",
            ".globl dynplug_dlvsym",
            ".hidden dynplug_dlvsym",
            "dynplug_dlvsym:",
            "mv a3, ra",
            "tail {versioned}",
            open = sym $open,
            symbol = sym $symbol,
            versioned = sym $versioned,
        );

        extern "C" {
            fn dynplug_dlopen();
            fn dynplug_dlsym();
            fn dynplug_dlvsym();
        }

        /// The stubs `dlopen`, `dlsym` and `dlvsym` of modules dynplug loads bind to.
        fn entries_with_caller() -> Option<(*const (), *const (), *const ())> {
            Some((
                dynplug_dlopen as *const (),
                dynplug_dlsym as *const (),
                dynplug_dlvsym as *const (),
            ))
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
