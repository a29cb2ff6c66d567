//! The runtime ABI of the machine dynplug runs on, one file per architecture (as musl's
//! `arch/*/reloc.h` and `pthread_arch.h`): the thread pointer, TLS descriptor resolvers, how an
//! IFUNC resolver is called, the C library's directories and names. Each file defines only what
//! its machine has; the generic code names these operations and never asks which machine it is.
//! The relocation table, the formulas and the TLS layout (`TlsAbi`) are `dynplug-arch`'s, reached
//! through [`MACHINE`].
//!
//! Every file defines:
//! - `MACHINE`: the host [`dynplug_arch::Machine`];
//! - `thread_pointer()`;
//! - `tlsdesc_stubs()`: dynplug's TLS descriptor resolvers, `None` where there are none yet;
//! - `tlv_getter()`: dynplug's getter of Mach-O thread-local variables, `None` where there is
//!   none;
//! - `STATIC_TLS_RESERVE`: whether dynplug's static TLS reserve serves initial-exec TLS here;
//! - `INIT_FINI`: whether DT_INIT and DT_FINI run (glibc's `ELF_INITFINI`);
//! - `call_ifunc_resolver(addr, call)`: an IFUNC resolver called with the arguments the C
//!   library `call` names passes on this machine ([`IfuncCall`]);
//! - `LIB`, `DEFAULT_DIRS`, `CACHE_FLAGS`: `$LIB`, the directories searched after the cache, and
//!   the `/etc/ld.so.cache` flags of this machine's libraries;
//! - `GLIBC_LOADER`, `MUSL_LOADER`: the dynamic loaders' names, which stand for the process's C
//!   runtime;
//! - `prefetch(p)`: a cache hint for the symbol look-ups;
//! - `served_with_caller!`: stubs through which the served `dlopen`, `dlsym` and `dlvsym` learn
//!   their caller, where the machine has them;
//! - `jit_interface()`, `BREAKPOINT`: gdb's JIT interface symbols, where defined.
//!
//! `LIB`, `DEFAULT_DIRS`, `CACHE_FLAGS` and the loaders' names are the machine's facts for Linux's
//! C libraries, read by `os/linux.rs` (the OS layer, `os/`, answers for other systems). On a
//! system that runs no ELF in the process (macOS) the file is `no_elf.rs`: the machine only.

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
#[cfg_attr(
    all(target_arch = "x86_64", not(target_os = "macos")),
    path = "x86_64.rs"
)]
#[cfg_attr(
    all(target_arch = "aarch64", not(target_os = "macos")),
    path = "aarch64.rs"
)]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
#[cfg_attr(target_os = "macos", path = "no_elf.rs")]
mod host;

pub use host::*;

/// dynplug's TLS descriptor resolvers (descriptor words: resolver, argument).
#[derive(Clone, Copy, Debug)]
pub struct TlsDescStubs {
    /// For a module of dynplug's: the argument is a leaked `tls_index`, the block made on first
    /// use.
    pub dynamic: u64,
    /// For a block in static TLS: the argument is the variable's offset from the thread pointer.
    pub fixed: u64,
}

/// Whose convention an IFUNC resolver is called with: that of the system its object was built
/// for. The arguments differ (x86_64: none under glibc, four CPUID words under FreeBSD; aarch64:
/// the hwcaps under glibc, eight zeros under FreeBSD), and a resolver reads what its own system
/// passes, so the object decides ([`IfuncCall::of_os_abi`]), not the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfuncCall {
    /// glibc's (`sysdeps/<arch>/dl-irel.h`): Linux objects.
    Glibc,
    /// FreeBSD rtld's (`<arch>/rtld_machdep.h`, `call_ifunc_resolver`).
    FreeBsd,
}

impl IfuncCall {
    /// The convention of an object whose `EI_OSABI` is `os_abi`: FreeBSD's for a FreeBSD object,
    /// else the running system's (a System V object is built for whichever system runs it).
    pub fn of_os_abi(os_abi: u8) -> IfuncCall {
        if os_abi == goblin::elf::header::ELFOSABI_FREEBSD {
            IfuncCall::FreeBsd
        } else {
            crate::os::IFUNC_CALL
        }
    }
}

impl Default for IfuncCall {
    /// The running system's: the convention of the modules the system loaded.
    fn default() -> Self {
        crate::os::IFUNC_CALL
    }
}

/// `/etc/ld.so.cache`'s `FLAG_ELF_LIBC6` (glibc `sysdeps/generic/ldconfig.h`): the low byte.
pub const FLAG_ELF_LIBC6: u32 = 0x0003;
