//! What dynplug asks of the running system, one file per operating system (as `abi/` is one file
//! per architecture): the auxiliary vector, the modules the system loader has, the executable's
//! path, how a file is named and opened, mapping flags, and where libraries are searched. Each
//! file defines only its system's answers; the generic loader names these operations and never
//! asks which system it runs on.
//!
//! Every file defines:
//! - `NAME`: the system's name, for messages;
//! - `elf_host()`: `Ok` where ELF objects can run in this process, else why not (the system's
//!   own loader loads another format: every open is refused with that reason);
//! - `executable_phdrs()`: the executable's program headers in memory (`AT_PHDR`, `AT_PHNUM`);
//! - `hwcaps()`: `AT_HWCAP` and `AT_HWCAP2` (0 where the system has none), which IFUNC resolvers
//!   are given; `IFUNC_CALL`: whose convention calls the resolvers of this system's objects;
//! - `iterate_phdr(cb, data)`: the system loader's `dl_iterate_phdr` (reports nothing where the
//!   system loads no ELF);
//! - `executable_path()`, `executable_file()`: the executable's name, and a path that opens the
//!   running executable's file;
//! - `fd_path(fd)`: the kernel's name for an open file, where it keeps one;
//! - `open_no_symlinks(path)`: an absolute path opened read-only, non-blocking, close-on-exec, only
//!   if no component is a symbolic link (`None` where the system cannot say);
//! - `PATH_ONLY`: the open flags for a descriptor that is only `fstat`ed;
//! - `MAP_NORESERVE`: the flag that keeps an inaccessible reservation from counting against the
//!   memory limit (0 where the system has none);
//! - `macho_images()`: the headers of the Mach-O images the system loaded (dyld's, on macOS);
//!   `register_code_signature(fd, offset, size)`: a Mach-O image's signature made known to the
//!   kernel before its code is mapped (macOS; nothing elsewhere);
//! - `SEARCH_ORDER`, `search_tokens()`, `renamed(requester, name)`: whose library search order,
//!   the `$` tokens its loader expands, and the name it searches for in place of another
//!   (FreeBSD's `libmap.conf`) (`search.rs`);
//! - `LIB`, `DEFAULT_DIRS`, `cached(name)`: what `$LIB` expands to, the directories searched last,
//!   and the system's library cache's candidates for a name (glibc's `/etc/ld.so.cache`,
//!   FreeBSD's hints file);
//! - `C_LIBRARY`, `C_RUNTIME`, `C_LIBRARY_NAMES`, `C_LIBRARY_LOADER`: the C library's soname,
//!   every name of the C runtime (always the process's own copy), and how a module of the
//!   process is known to be the C library (by name, or as the loader that is also the C library);
//! - `call_at_startup!`: a function the C runtime calls with (argc, argv, envp) before `main`.
//!
//! The thread pointer is the architecture's (`abi::thread_pointer`): the same register and the
//! same TLS variant on Linux and FreeBSD for x86_64 and aarch64 (`%fs:0` holds the TCB's own
//! address; `tpidr_el0` points at a 16-byte TCB). On macOS the ABI is `abi/no_elf.rs`, the
//! machine only: every open is refused first.

#[cfg_attr(target_os = "linux", path = "linux.rs")]
#[cfg_attr(target_os = "freebsd", path = "freebsd.rs")]
#[cfg_attr(target_os = "macos", path = "macos.rs")]
mod host;

/// `dl_iterate_phdr`, shared by the ELF systems' files.
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod elf_phdr;
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod no_macho;

// The parsers of each system's files compile and are tested on every system; only the running
// system's is consulted.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) mod hints;
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) mod libmap;

pub use host::*;

use crate::elf::records::Phdr;

/// `struct dl_phdr_info` as `dl_iterate_phdr` gives it, the same on glibc, musl and FreeBSD: what
/// the system reports of its modules and what dynplug serves its own modules.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DlPhdrInfo {
    /// Load bias.
    pub dlpi_addr: u64,
    /// The module's name (empty for the executable).
    pub dlpi_name: *const std::ffi::c_char,
    /// Its program headers in memory.
    pub dlpi_phdr: *const Phdr,
    /// How many.
    pub dlpi_phnum: u16,
    /// The loader's count of modules loaded so far.
    pub dlpi_adds: u64,
    /// The loader's count of modules unloaded so far.
    pub dlpi_subs: u64,
    /// TLS module id (0: none).
    pub dlpi_tls_modid: usize,
    /// This thread's TLS block of the module (null: none, or not made yet).
    pub dlpi_tls_data: *mut std::ffi::c_void,
}

/// A `dl_iterate_phdr` callback.
pub type IterateCallback =
    unsafe extern "C" fn(*mut DlPhdrInfo, usize, *mut std::ffi::c_void) -> std::ffi::c_int;

/// The system's page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}
