//! Linux (glibc or musl): the auxiliary vector through `getauxval`, `/proc/self`, `openat2`, and
//! glibc's library search (multiarch directories and `/etc/ld.so.cache`).

use std::ffi::{c_int, CStr};
use std::fs::File;
use std::path::PathBuf;

/// The system's name.
pub const NAME: &str = "Linux";

/// ELF objects run here.
pub fn elf_host() -> Result<(), &'static str> {
    Ok(())
}

/// The executable's program headers in memory (address, count), from the auxiliary vector.
pub fn executable_phdrs() -> Option<(u64, u64)> {
    // SAFETY: getauxval has no preconditions.
    let (phdr, phnum) = unsafe {
        (
            libc::getauxval(libc::AT_PHDR),
            libc::getauxval(libc::AT_PHNUM),
        )
    };
    (phdr != 0).then_some((phdr, phnum))
}

/// How IFUNC resolvers of this system's objects are called: glibc's (musl calls no IFUNC resolver).
pub const IFUNC_CALL: crate::abi::IfuncCall = crate::abi::IfuncCall::Glibc;

/// `AT_HWCAP` and `AT_HWCAP2`.
pub fn hwcaps() -> (u64, u64) {
    // SAFETY: getauxval has no preconditions.
    unsafe {
        (
            libc::getauxval(libc::AT_HWCAP),
            libc::getauxval(libc::AT_HWCAP2),
        )
    }
}

pub use super::elf_phdr::iterate_phdr;

/// The executable's path, as the kernel names it.
pub fn executable_path() -> Option<PathBuf> {
    std::fs::read_link("/proc/self/exe").ok()
}

/// A path that opens the running executable's file (even renamed or deleted).
pub fn executable_file() -> Option<PathBuf> {
    Some(PathBuf::from("/proc/self/exe"))
}

/// The open flags for a descriptor that is only `fstat`ed.
pub const PATH_ONLY: c_int = libc::O_PATH;

/// See [`super`].
pub const MAP_NORESERVE: c_int = libc::MAP_NORESERVE;

/// `path` (absolute) opened read-only, non-blocking and close-on-exec if no component of it is a
/// symbolic link (`openat2` with `RESOLVE_NO_SYMLINKS`); `None` if one is, or where `openat2` is
/// missing or refused.
pub fn open_no_symlinks(path: &CStr) -> Option<File> {
    use std::os::unix::io::FromRawFd;
    /// `struct open_how` of linux/openat2.h (the libc crate's cannot be built outside it).
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow {
        flags: (libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_NO_SYMLINKS,
    };
    // SAFETY: openat2(2) with a NUL-terminated path, an `open_how` of the size passed, and no
    // directory descriptor (the path is absolute). It returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: `fd` is a descriptor openat2 just opened, owned by nothing else.
    Some(unsafe { File::from_raw_fd(fd) })
}

/// The kernel's name for open file descriptor `fd` (`readlink` of `/proc/self/fd/FD`), the
/// link's path built on the stack and the name read straight into the buffer it is returned
/// in: one allocation (an open of a small plugin is mostly such fixed costs). `None` if it
/// cannot be read or is longer than `PATH_MAX`.
pub fn fd_path(fd: std::os::unix::io::RawFd) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    const DIR: &[u8] = b"/proc/self/fd/";
    let mut link = [0u8; 32];
    link.get_mut(..DIR.len())?.copy_from_slice(DIR);
    // The decimal digits of `fd`, then the NUL already there.
    let fd = u32::try_from(fd).ok()?;
    let digits = fd.checked_ilog10().unwrap_or(0) as usize + 1;
    let mut rest = fd;
    for at in (DIR.len()..DIR.len() + digits).rev() {
        *link.get_mut(at)? = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let mut cap = 256;
    loop {
        let mut buf: Vec<u8> = Vec::with_capacity(cap);
        // SAFETY: `link` holds a NUL-terminated path (an fd has at most 10 digits: they and the
        // NUL fit after the 14 bytes of the directory); `buf` has `cap` bytes of spare capacity,
        // and readlink writes at most that many.
        let n = unsafe { libc::readlink(link.as_ptr().cast(), buf.as_mut_ptr().cast(), cap) };
        let n = usize::try_from(n).ok()?;
        if n < cap {
            // SAFETY: readlink initialised the first `n` bytes, `n` < the capacity.
            unsafe { buf.set_len(n) };
            return Some(PathBuf::from(std::ffi::OsString::from_vec(buf)));
        }
        // Possibly cut short: again with more room, up to PATH_MAX.
        if cap >= libc::PATH_MAX as usize {
            return None;
        }
        cap *= 4;
    }
}

/// No loader of this system renames libraries.
pub fn renamed(_requester: Option<&std::path::Path>, _name: &[u8]) -> Option<Vec<u8>> {
    None
}

pub use super::no_macho::{macho_images, register_code_signature};

/// What `$LIB` expands to (the machine's multiarch `slibdir`).
pub const LIB: &[u8] = crate::abi::LIB;

/// glibc's search order.
pub const SEARCH_ORDER: crate::search::Order = crate::search::Order::Glibc;

/// glibc's tokens (`elf/dl-load.c`, `_dl_dst_substitute`): `$LIB`, and `$PLATFORM`, the
/// kernel's `AT_PLATFORM` (a path naming it is dropped where there is none).
pub fn search_tokens() -> crate::search::Tokens {
    // SAFETY: getauxval has no preconditions; a non-zero AT_PLATFORM is the address of a
    // NUL-terminated string the kernel put on the initial stack, kept for the process's life.
    let platform = unsafe {
        let p = libc::getauxval(libc::AT_PLATFORM) as *const libc::c_char;
        (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_bytes().to_vec())
    };
    vec![(b"LIB", Some(LIB.to_vec())), (b"PLATFORM", platform)]
}

/// The directories searched after the cache (the machine's multiarch ones first).
pub const DEFAULT_DIRS: &[&str] = crate::abi::DEFAULT_DIRS;

/// What `/etc/ld.so.cache` gives for `name`, if anything (the candidates after `DT_RUNPATH`).
pub fn cached(name: &[u8]) -> Option<PathBuf> {
    crate::ldcache::lookup(name)
}

/// The C library's soname.
pub const C_LIBRARY: &[u8] = b"libc.so.6";

/// Names of the C runtime: always the process's own copy (glibc folded these into libc.so.6).
pub const C_RUNTIME: &[&[u8]] = &[
    b"libc.so.6",
    crate::abi::GLIBC_LOADER,
    b"libpthread.so.0",
    b"libdl.so.2",
    b"librt.so.1",
    b"libutil.so.1",
    b"libanl.so.1",
];

/// The names (soname or file name) a module of the process has when it is the C library.
pub const C_LIBRARY_NAMES: &[&[u8]] = &[b"libc.so.6", b"libc.so"];

/// The end of the path of a module that is the C library by being the loader (musl's).
pub const C_LIBRARY_LOADER: Option<&[u8]> = Some(crate::abi::MUSL_LOADER);

/// Defines static `$name`, through which the C runtime calls `$f(argc, argv, envp)` before
/// `main`, as it calls the executable's initialisers (an `.init_array` entry, sorted before those
/// of the default priority).
macro_rules! call_at_startup {
    ($name:ident = $f:path) => {
        #[used]
        #[link_section = ".init_array.00098"]
        static $name: extern "C" fn(
            std::ffi::c_int,
            *mut *const std::ffi::c_char,
            *mut *const std::ffi::c_char,
        ) = $f;
    };
}
pub(crate) use call_at_startup;
