//! x86_64's runtime ABI (System V AMD64, glibc's ld.so as the reference).

use super::TlsDescStubs;
use dynplug_arch::Machine;

/// The machine.
pub const MACHINE: Machine = Machine::X86_64;

/// The thread pointer (`%fs:0`).
pub fn thread_pointer() -> u64 {
    let tp: u64;
    // SAFETY: on x86_64 Linux, %fs:0 holds the thread pointer itself (TLS variant II).
    unsafe {
        std::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags))
    };
    tp
}

/// Defines the global function `$name` (hidden), which runs `$before` and calls `$slow`, and
/// returns its %rax with every other register preserved: the general-purpose ones the C ABI
/// lets a call clobber, and the x87/SSE state. The contract of TLS descriptors and of dyld's
/// `tlv_get_addr`.
macro_rules! preserving_stub {
    ($name:literal, $before:literal, $slow:path) => {
        std::arch::global_asm!(
            concat!(".globl ", $name),
            concat!(".hidden ", $name),
            concat!($name, ":"),
            "push rbp",
            "mov rbp, rsp",
            "push rcx",
            "push rdx",
            "push rsi",
            "push rdi",
            "push r8",
            "push r9",
            "push r10",
            "push r11",
            "sub rsp, 512",
            "and rsp, -64",
            "fxsave64 [rsp]",
            $before,
            "call {slow}",
            "fxrstor64 [rsp]",
            "lea rsp, [rbp - 64]",
            "pop r11",
            "pop r10",
            "pop r9",
            "pop r8",
            "pop rdi",
            "pop rsi",
            "pop rdx",
            "pop rcx",
            "pop rbp",
            "ret",
            slow = sym $slow,
        );
    };
}

// TLS descriptor resolver for dynplug's modules: %rax points at the descriptor (resolver,
// arg); return in %rax the variable's offset from %fs:0.
preserving_stub!(
    "dynplug_tlsdesc_dynamic",
    "mov rdi, [rax + 8]",
    crate::tls::tlsdesc_slow
);

std::arch::global_asm!(
    // For variables of static TLS: the descriptor's argument is the offset.
    ".globl dynplug_tlsdesc_static",
    ".hidden dynplug_tlsdesc_static",
    "dynplug_tlsdesc_static:",
    "mov rax, [rax + 8]",
    "ret",
);

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

// Getter of Mach-O thread-local variables (dyld's `tlv_get_addr` contract): %rdi points at
// the variable's descriptor (thunk, key, offset); return in %rax the calling thread's address of
// the variable.
preserving_stub!("dynplug_tlv_get", "", crate::tlv_block::slow);

extern "C" {
    fn dynplug_tlv_get();
}

/// dynplug's getter of Mach-O thread-local variables (`None` where there is none).
pub fn tlv_getter() -> Option<u64> {
    Some(dynplug_tlv_get as *const () as usize as u64)
}

/// dynplug's static TLS reserve serves initial-exec TLS of the modules it loads.
pub const STATIC_TLS_RESERVE: bool = true;

/// glibc's `ELF_INITFINI`: DT_INIT and DT_FINI are run (the generic `elf-initfini.h`).
pub const INIT_FINI: bool = true;

/// Calls the IFUNC resolver at `addr` as `call`'s C library does on x86_64: glibc with no
/// argument (`dl-irel.h`; resolvers ask `__get_cpu_features`), FreeBSD's rtld with four CPUID
/// words ([`freebsd_cpu_features`]).
///
/// # Safety
/// `addr` is an IFUNC resolver of relocated, initialised code.
pub unsafe fn call_ifunc_resolver(addr: u64, call: super::IfuncCall) -> u64 {
    match call {
        super::IfuncCall::Glibc => {
            type Resolver = extern "C" fn() -> u64;
            // SAFETY: the caller promises `addr` is a resolver function returning an address.
            let f: Resolver = unsafe { std::mem::transmute::<usize, Resolver>(addr as usize) };
            f()
        }
        super::IfuncCall::FreeBsd => {
            let [a, b, c, d] = freebsd_cpu_features();
            type Resolver = extern "C" fn(u32, u32, u32, u32) -> u64;
            // SAFETY: as above; FreeBSD's resolvers take these four words (one declaring fewer
            // ignores the rest, as the calling convention allows).
            let f: Resolver = unsafe { std::mem::transmute::<usize, Resolver>(addr as usize) };
            f(a, b, c, d)
        }
    }
}

/// FreeBSD rtld's IFUNC arguments on amd64 (`amd64/reloc.c`, `ifunc_init`): `cpu_feature`
/// (CPUID leaf 1, EDX), `cpu_feature2` (leaf 1, ECX), `cpu_stdext_feature` and
/// `cpu_stdext_feature2` (leaf 7 subleaf 0, EBX and ECX; 0 where the highest leaf is below 7).
pub fn freebsd_cpu_features() -> [u32; 4] {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    let basic = __cpuid(1);
    // Leaf 7 is asked only where leaf 0 says it exists.
    let (ebx7, ecx7) = if __cpuid(0).eax >= 7 {
        let ext = __cpuid_count(7, 0);
        (ext.ebx, ext.ecx)
    } else {
        (0, 0)
    };
    [basic.edx, basic.ecx, ebx7, ecx7]
}

/// What `$LIB` expands to (Debian's multiarch `slibdir`).
pub const LIB: &[u8] = b"lib/x86_64-linux-gnu";

/// The directories searched after the cache.
pub const DEFAULT_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// The cache flags of this machine's libraries: `FLAG_ELF_LIBC6 | FLAG_X8664_LIB64` (glibc's
/// `_DL_CACHE_DEFAULT_ID` in `sysdeps/x86_64/dl-cache.h`).
pub const CACHE_FLAGS: u32 = super::FLAG_ELF_LIBC6 | 0x0300;

/// glibc's dynamic loader, part of the process's C runtime.
pub const GLIBC_LOADER: &[u8] = b"ld-linux-x86-64.so.2";

/// musl's dynamic loader, which is its C library too.
pub const MUSL_LOADER: &[u8] = b"ld-musl-x86_64.so.1";

/// Asks the CPU to start loading the cache line at `p` (a hint: nothing is read, and no
/// address, valid or not, can fault).
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: PREFETCHT0 (SSE, part of x86_64) only hints the cache: it reads no memory the
    // program sees and never faults, whatever the address.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
}

/// Defines `entries_with_caller()`: the served `dlopen`, `dlsym` and `dlvsym` as stubs that
/// pass their caller's return address (in the module that called) as one more argument, after
/// the function's own, to `$open`, `$symbol` and `$versioned`.
macro_rules! served_with_caller {
    ($open:path, $symbol:path, $versioned:path) => {
        std::arch::global_asm!(
            ".globl dynplug_dlopen",
            ".hidden dynplug_dlopen",
            "dynplug_dlopen:",
            "mov rdx, [rsp]",
            "jmp {open}",
            ".globl dynplug_dlsym",
            ".hidden dynplug_dlsym",
            "dynplug_dlsym:",
            "mov rdx, [rsp]",
            "jmp {symbol}",
            ".globl dynplug_dlvsym",
            ".hidden dynplug_dlvsym",
            "dynplug_dlvsym:",
            "mov rcx, [rsp]",
            "jmp {versioned}",
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

// gdb's JIT interface's two symbols, defined weak: a process that has them already (another JIT
// in the host, e.g. wasmtime's) links to that one definition and the debugger sees one list.
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

extern "C" {
    static mut __jit_debug_descriptor: u8;
    fn __jit_debug_register_code();
}

/// gdb's JIT interface: `__jit_debug_descriptor` (a `struct jit_descriptor`, version 1) and
/// `__jit_debug_register_code`.
pub fn jit_interface() -> Option<(*mut u8, unsafe extern "C" fn())> {
    Some((
        std::ptr::addr_of_mut!(__jit_debug_descriptor),
        __jit_debug_register_code,
    ))
}

/// The bytes a debugger's breakpoint writes at the start of a function (`int3`).
pub const BREAKPOINT: &[u8] = &[0xcc];
