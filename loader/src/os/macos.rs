//! macOS: no ELF C runtime is in the process, so an ELF open is refused (`elf_host`); Mach-O
//! plugins go through dynplug's Mach-O loader, their imports of the process's libraries looked
//! up in dyld's images (`macho_images`). The rest answers what macOS has, so that the generic
//! loader compiles (`cargo check --target aarch64-apple-darwin`) and its parsing, inspection and
//! offline relocation work. Compiled and checked, never run here.

use std::ffi::{c_int, c_void, CStr};
use std::fs::File;
use std::path::PathBuf;

use super::IterateCallback;

/// The system's name.
pub const NAME: &str = "macOS";

/// Why ELF objects cannot run here.
pub fn elf_host() -> Result<(), &'static str> {
    Err(
        "macOS runs Mach-O objects through dyld: there is no ELF C library in the process \
         for an ELF object to bind to (dynplug loads Mach-O plugins here)",
    )
}

/// No ELF program headers: the executable is Mach-O.
pub fn executable_phdrs() -> Option<(u64, u64)> {
    None
}

/// How IFUNC resolvers of this system's objects are called: none is called (nothing is loaded); glibc's, as the simplest.
pub const IFUNC_CALL: crate::abi::IfuncCall = crate::abi::IfuncCall::Glibc;

/// No auxiliary vector for IFUNC resolvers (none runs: nothing is loaded).
pub fn hwcaps() -> (u64, u64) {
    (0, 0)
}

/// The system loads no ELF module: nothing to report.
///
/// # Safety
/// None: neither argument is used.
pub unsafe fn iterate_phdr(_cb: Option<IterateCallback>, _data: *mut c_void) -> c_int {
    0
}

/// The executable's path (`_NSGetExecutablePath`, through the standard library).
pub fn executable_path() -> Option<PathBuf> {
    std::env::current_exe().ok()
}

/// A path that opens the running executable's file.
pub fn executable_file() -> Option<PathBuf> {
    executable_path()
}

/// macOS has no `O_PATH`: a descriptor only `fstat`ed is opened for reading, without blocking
/// on a FIFO.
pub const PATH_ONLY: c_int = libc::O_NONBLOCK;

/// See [`super`].
pub const MAP_NORESERVE: c_int = libc::MAP_NORESERVE;

/// Not asked (`O_NOFOLLOW_ANY` would do): the caller names the file by `realpath`.
pub fn open_no_symlinks(_path: &CStr) -> Option<File> {
    None
}

/// Not asked (`F_GETPATH` would do): the caller names the file by `realpath`.
pub fn fd_path(_fd: std::os::unix::io::RawFd) -> Option<PathBuf> {
    None
}

/// No loader of this system renames libraries.
pub fn renamed(_requester: Option<&std::path::Path>, _name: &[u8]) -> Option<Vec<u8>> {
    None
}

/// `F_ADDFILESIGS_RETURN` (xnu `bsd/sys/fcntl.h`).
const F_ADDFILESIGS_RETURN: c_int = 97;

/// xnu's `fsignatures_t`: where in the file the code signature lies.
#[repr(C)]
struct FileSignatures {
    fs_file_start: libc::off_t,
    fs_blob_start: *mut c_void,
    fs_blob_size: libc::size_t,
    fs_fsignatures_size: libc::size_t,
    fs_cdhash: [u8; 20],
    fs_hash_type: c_int,
}

/// Registers the code signature `size` bytes at `offset` in the file `fd` with the kernel, as
/// dyld does before it maps an image's code: arm64 macOS runs code pages of a file mapping only
/// once their signature is known. Compiled and checked here, not run (no macOS).
pub fn register_code_signature(
    fd: std::os::fd::BorrowedFd<'_>,
    offset: u64,
    size: u64,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let invalid = || std::io::Error::from(std::io::ErrorKind::InvalidInput);
    let mut sig = FileSignatures {
        fs_file_start: 0,
        // The kernel reads it as an offset in the file (dyld passes the same).
        fs_blob_start: usize::try_from(offset).map_err(|_| invalid())? as *mut c_void,
        fs_blob_size: usize::try_from(size).map_err(|_| invalid())?,
        fs_fsignatures_size: 0,
        fs_cdhash: [0; 20],
        fs_hash_type: 0,
    };
    // SAFETY: F_ADDFILESIGS_RETURN reads and writes the `fsignatures_t` it is given.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), F_ADDFILESIGS_RETURN, &mut sig) };
    if r == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

extern "C" {
    fn _dyld_image_count() -> u32;
    fn _dyld_get_image_header(index: u32) -> *const c_void;
}

/// The run-time addresses of the headers of the Mach-O images the system loaded, in dyld's
/// order (its public `_dyld_image_count`/`_dyld_get_image_header`): where a Mach-O plugin's
/// imports of the process's libraries are looked up (`macho::in_memory`). Compiled and
/// checked here, not run (no macOS).
pub fn macho_images() -> Vec<u64> {
    // SAFETY: dyld's image-list functions take an index below the count and return the header
    // of an image it mapped (or null, for one being unloaded).
    let count = unsafe { _dyld_image_count() };
    (0..count)
        // SAFETY: as above.
        .map(|i| unsafe { _dyld_get_image_header(i) } as usize as u64)
        .filter(|&h| h != 0)
        .collect()
}

/// What `$LIB` expands to.
pub const LIB: &[u8] = b"lib";

/// No ELF is loaded: glibc's order, as the simplest.
pub const SEARCH_ORDER: crate::search::Order = crate::search::Order::Glibc;

/// `$LIB` only.
pub fn search_tokens() -> crate::search::Tokens {
    vec![(b"LIB", Some(LIB.to_vec()))]
}

/// dyld's fallback directories (`DYLD_FALLBACK_LIBRARY_PATH`'s default, less `$HOME/lib`).
pub const DEFAULT_DIRS: &[&str] = &["/usr/local/lib", "/usr/lib"];

/// No library cache of files (dyld's shared cache holds Mach-O images only).
pub fn cached(_name: &[u8]) -> Option<PathBuf> {
    None
}

/// The C library's install name.
pub const C_LIBRARY: &[u8] = b"libSystem.B.dylib";

/// Names of the C runtime.
pub const C_RUNTIME: &[&[u8]] = &[C_LIBRARY];

/// No module of the process is an ELF C library.
pub const C_LIBRARY_NAMES: &[&[u8]] = &[];

/// No C library is the loader.
pub const C_LIBRARY_LOADER: Option<&[u8]> = None;

/// Defines static `$name`, through which dyld calls `$f(argc, argv, envp, ...)` before `main`, as
/// it calls the executable's initialisers (a `__mod_init_func` entry).
macro_rules! call_at_startup {
    ($name:ident = $f:path) => {
        #[used]
        #[link_section = "__DATA,__mod_init_func"]
        static $name: extern "C" fn(
            std::ffi::c_int,
            *mut *const std::ffi::c_char,
            *mut *const std::ffi::c_char,
        ) = $f;
    };
}
pub(crate) use call_at_startup;
