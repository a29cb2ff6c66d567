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

/// Defines the global function `$name` (hidden), which calls `$slow` with x0 (after `$before`)
/// and returns its x0 with every other register preserved: x1-x18, x29 and x30 (the ones a call
/// may clobber; x19-x28 the Rust callee keeps), and q0-q31 whole (a callee keeps only the low
/// halves of v8-v15). The contract of TLS descriptors and of dyld's `tlv_get_addr`.
macro_rules! preserving_stub {
    ($name:literal, $before:literal, $slow:path) => {
        std::arch::global_asm!(
            concat!(".globl ", $name),
            concat!(".hidden ", $name),
            concat!(".type ", $name, ",%function"),
            concat!($name, ":"),
            "stp x29, x30, [sp, #-16]!",
            "mov x29, sp",
            "stp x1, x2, [sp, #-16]!",
            "stp x3, x4, [sp, #-16]!",
            "stp x5, x6, [sp, #-16]!",
            "stp x7, x8, [sp, #-16]!",
            "stp x9, x10, [sp, #-16]!",
            "stp x11, x12, [sp, #-16]!",
            "stp x13, x14, [sp, #-16]!",
            "stp x15, x16, [sp, #-16]!",
            "stp x17, x18, [sp, #-16]!",
            "sub sp, sp, #512",
            "stp q0, q1, [sp, #0]",
            "stp q2, q3, [sp, #32]",
            "stp q4, q5, [sp, #64]",
            "stp q6, q7, [sp, #96]",
            "stp q8, q9, [sp, #128]",
            "stp q10, q11, [sp, #160]",
            "stp q12, q13, [sp, #192]",
            "stp q14, q15, [sp, #224]",
            "stp q16, q17, [sp, #256]",
            "stp q18, q19, [sp, #288]",
            "stp q20, q21, [sp, #320]",
            "stp q22, q23, [sp, #352]",
            "stp q24, q25, [sp, #384]",
            "stp q26, q27, [sp, #416]",
            "stp q28, q29, [sp, #448]",
            "stp q30, q31, [sp, #480]",
            $before,
            "bl {slow}",
            "ldp q0, q1, [sp, #0]",
            "ldp q2, q3, [sp, #32]",
            "ldp q4, q5, [sp, #64]",
            "ldp q6, q7, [sp, #96]",
            "ldp q8, q9, [sp, #128]",
            "ldp q10, q11, [sp, #160]",
            "ldp q12, q13, [sp, #192]",
            "ldp q14, q15, [sp, #224]",
            "ldp q16, q17, [sp, #256]",
            "ldp q18, q19, [sp, #288]",
            "ldp q20, q21, [sp, #320]",
            "ldp q22, q23, [sp, #352]",
            "ldp q24, q25, [sp, #384]",
            "ldp q26, q27, [sp, #416]",
            "ldp q28, q29, [sp, #448]",
            "ldp q30, q31, [sp, #480]",
            "add sp, sp, #512",
            "ldp x17, x18, [sp], #16",
            "ldp x15, x16, [sp], #16",
            "ldp x13, x14, [sp], #16",
            "ldp x11, x12, [sp], #16",
            "ldp x9, x10, [sp], #16",
            "ldp x7, x8, [sp], #16",
            "ldp x5, x6, [sp], #16",
            "ldp x3, x4, [sp], #16",
            "ldp x1, x2, [sp], #16",
            "ldp x29, x30, [sp], #16",
            "ret",
            concat!(".size ", $name, ", .-", $name),
            slow = sym $slow,
        );
    };
}

// TLS descriptor resolver for dynplug's modules (AAPCS64 TLSDESC): x0 points at the descriptor
// (resolver, arg); return in x0 the variable's offset from tpidr_el0.
preserving_stub!(
    "dynplug_tlsdesc_dynamic",
    "ldr x0, [x0, #8]",
    crate::tls::tlsdesc_slow
);

std::arch::global_asm!(
    // For variables of static TLS: the descriptor's argument is the offset.
    ".globl dynplug_tlsdesc_static",
    ".hidden dynplug_tlsdesc_static",
    ".type dynplug_tlsdesc_static,%function",
    "dynplug_tlsdesc_static:",
    "ldr x0, [x0, #8]",
    "ret",
    ".size dynplug_tlsdesc_static, .-dynplug_tlsdesc_static",
);

// Getter of Mach-O thread-local variables (dyld's `tlv_get_addr` contract): x0 points at the
// variable's descriptor (thunk, key, offset); return in x0 the calling thread's address of the
// variable.
preserving_stub!("dynplug_tlv_get", "", crate::tlv_block::slow);

extern "C" {
    fn dynplug_tlv_get();
}

/// dynplug's getter of Mach-O thread-local variables (`None` where there is none).
pub fn tlv_getter() -> Option<u64> {
    Some(dynplug_tlv_get as *const () as usize as u64)
}

extern "C" {
    fn dynplug_tlsdesc_dynamic();
    fn dynplug_tlsdesc_static();
}

/// dynplug's TLS descriptor resolvers.
pub fn tlsdesc_stubs() -> Option<TlsDescStubs> {
    Some(TlsDescStubs {
        dynamic: dynplug_tlsdesc_dynamic as *const () as usize as u64,
        fixed: dynplug_tlsdesc_static as *const () as usize as u64,
    })
}

/// dynplug's static TLS reserve serves initial-exec TLS of the modules it loads (variant I: the
/// reserve lies above the thread pointer, in the executable's block).
pub const STATIC_TLS_RESERVE: bool = true;

/// glibc's `ELF_INITFINI`: DT_INIT and DT_FINI are run (the generic `elf-initfini.h`).
pub const INIT_FINI: bool = true;

/// glibc's `_IFUNC_ARG_HWCAP`: set in the first argument when the second is passed.
const IFUNC_ARG_HWCAP: u64 = 1 << 62;

/// glibc 2.36's `__ifunc_arg_t` (`sysdeps/unix/sysv/linux/aarch64/sys/ifunc.h`).
#[repr(C)]
struct IfuncArg {
    size: u64,
    hwcap: u64,
    hwcap2: u64,
}

/// Calls the IFUNC resolver at `addr` as `call`'s C library does on aarch64: glibc with
/// `resolver(AT_HWCAP | _IFUNC_ARG_HWCAP, &__ifunc_arg_t)`, FreeBSD's rtld with eight zeros
/// (`aarch64/rtld_machdep.h`: "known values", so that arguments can be added later).
///
/// # Safety
/// `addr` is an IFUNC resolver of relocated, initialised code.
pub unsafe fn call_ifunc_resolver(addr: u64, call: super::IfuncCall) -> u64 {
    if call == super::IfuncCall::FreeBsd {
        type Resolver = extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64) -> u64;
        // SAFETY: the caller promises `addr` is a resolver function; all eight arguments sit in
        // registers, so one declaring fewer ignores the rest.
        let f: Resolver = unsafe { std::mem::transmute::<usize, Resolver>(addr as usize) };
        return f(0, 0, 0, 0, 0, 0, 0, 0);
    }
    let (hwcap, hwcap2) = crate::os::hwcaps();
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

/// Defines `entries_with_caller()`: the served `dlopen`, `dlsym` and `dlvsym` as stubs that
/// pass their caller's return address (`x30` on entry, in the module that called) as one more
/// argument, after the function's own, to `$open`, `$symbol` and `$versioned`.
macro_rules! served_with_caller {
    ($open:path, $symbol:path, $versioned:path) => {
        std::arch::global_asm!(
            ".globl dynplug_dlopen",
            ".hidden dynplug_dlopen",
            "dynplug_dlopen:",
            "mov x2, x30",
            "b {open}",
            ".globl dynplug_dlsym",
            ".hidden dynplug_dlsym",
            "dynplug_dlsym:",
            "mov x2, x30",
            "b {symbol}",
            ".globl dynplug_dlvsym",
            ".hidden dynplug_dlvsym",
            "dynplug_dlvsym:",
            "mov x3, x30",
            "b {versioned}",
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
