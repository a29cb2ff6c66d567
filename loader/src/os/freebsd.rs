//! FreeBSD: `elf_aux_info` for the auxiliary vector, the executable from `dl_iterate_phdr`, and
//! the library search of its rtld (`libexec/rtld-elf`): the hints file, then
//! `/lib/casper:/lib:/usr/lib` (`STANDARD_LIBRARY_PATH` of `rtld_paths.h`).
//!
//! Not checked on a FreeBSD host (none runs here): this file is compiled (`cargo check`/`clippy`
//! for `x86_64-unknown-freebsd`); the hints parser it uses is tested on every host.

use std::ffi::{c_int, c_void, CStr};
use std::fs::File;
use std::path::PathBuf;

use super::DlPhdrInfo;

/// The system's name.
pub const NAME: &str = "FreeBSD";

/// ELF objects run here.
pub fn elf_host() -> Result<(), &'static str> {
    Ok(())
}

unsafe extern "C" fn first_module(info: *mut DlPhdrInfo, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid info for the duration of the call; `data` is the
    // `Option<(u64, u64)>` of `executable_phdrs`.
    let (info, out) = unsafe { (&*info, &mut *(data as *mut Option<(u64, u64)>)) };
    if !info.dlpi_phdr.is_null() {
        *out = Some((info.dlpi_phdr as u64, u64::from(info.dlpi_phnum)));
    }
    1
}

/// The executable's program headers in memory (address, count): FreeBSD's `elf_aux_info` does
/// not give `AT_PHDR`, but `dl_iterate_phdr` reports the executable first (a static one too).
pub fn executable_phdrs() -> Option<(u64, u64)> {
    let mut found: Option<(u64, u64)> = None;
    // SAFETY: the callback matches, stops at the first module and writes only `found`.
    unsafe {
        iterate_phdr(
            Some(first_module),
            &mut found as *mut Option<(u64, u64)> as *mut c_void,
        )
    };
    found
}

/// How IFUNC resolvers of this system's objects are called: its rtld's.
pub const IFUNC_CALL: crate::abi::IfuncCall = crate::abi::IfuncCall::FreeBsd;

/// `AT_HWCAP` and `AT_HWCAP2` (0 where the kernel passes none).
pub fn hwcaps() -> (u64, u64) {
    let word = |aux: c_int| {
        let mut v: libc::c_ulong = 0;
        // SAFETY: elf_aux_info writes at most `buflen` bytes into the buffer given, here a
        // `u_long` as it requires for these two.
        let r = unsafe {
            libc::elf_aux_info(
                aux,
                (&mut v as *mut libc::c_ulong).cast(),
                std::mem::size_of::<libc::c_ulong>() as c_int,
            )
        };
        if r == 0 {
            v
        } else {
            0
        }
    };
    (word(libc::AT_HWCAP), word(libc::AT_HWCAP2))
}

pub use super::elf_phdr::iterate_phdr;

/// The executable's path (`sysctl` `KERN_PROC_PATHNAME`, through the standard library).
pub fn executable_path() -> Option<PathBuf> {
    std::env::current_exe().ok()
}

/// A path that opens the running executable's file.
pub fn executable_file() -> Option<PathBuf> {
    executable_path()
}

/// The open flags for a descriptor that is only `fstat`ed (`O_PATH`, FreeBSD 14).
pub const PATH_ONLY: c_int = libc::O_PATH;

/// FreeBSD has no such flag: it does not charge an inaccessible reservation.
pub const MAP_NORESERVE: c_int = 0;

/// FreeBSD has no `openat2`: the caller names the file by `realpath`.
pub fn open_no_symlinks(_path: &CStr) -> Option<File> {
    None
}

/// No `/proc/self/fd` to ask: the caller names the file by `realpath`.
pub fn fd_path(_fd: std::os::unix::io::RawFd) -> Option<PathBuf> {
    None
}

/// The name rtld searches for in place of `name` asked for by the object at `requester`:
/// `/etc/libmap.conf` (and what it includes), then `LD_LIBMAP`; neither with
/// `LD_LIBMAP_DISABLE`. Read once.
pub fn renamed(requester: Option<&std::path::Path>, name: &[u8]) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    static MAP: std::sync::OnceLock<Option<super::libmap::LibMap>> = std::sync::OnceLock::new();
    let map = crate::fork::once(&MAP, || {
        if std::env::var_os("LD_LIBMAP_DISABLE").is_some() {
            return None;
        }
        let mut map = super::libmap::LibMap::read(std::path::Path::new(super::libmap::PATH));
        if let Some(extra) = std::env::var_os("LD_LIBMAP") {
            map.parse_override(extra.as_bytes());
        }
        Some(map)
    });
    let who = requester.map(|p| p.as_os_str().as_bytes());
    map.as_ref()?.find(who, name).map(<[u8]>::to_vec)
}

pub use super::no_macho::{macho_images, register_code_signature};

/// What `$LIB` expands to (`TOKEN_LIB`).
pub const LIB: &[u8] = b"lib";

/// rtld's search order.
pub const SEARCH_ORDER: crate::search::Order = crate::search::Order::FreeBsd;

/// rtld's tokens (`rtld.c`, `origin_subst`): `$LIB`, and from `uname`: `$OSNAME` (the system's
/// name), `$OSREL` (its release), `$PLATFORM` (the machine, `amd64` or `arm64`).
pub fn search_tokens() -> crate::search::Tokens {
    // SAFETY: utsname is plain data; uname fills it with NUL-terminated strings or fails.
    let uts = unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        (libc::uname(&mut u) == 0).then_some(u)
    };
    let field = |f: fn(&libc::utsname) -> &[libc::c_char]| {
        let f = f(uts.as_ref()?);
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| u8::from_ne_bytes(c.to_ne_bytes()))
            .collect();
        Some(bytes)
    };
    vec![
        (b"LIB", Some(LIB.to_vec())),
        (b"OSNAME", field(|u| &u.sysname)),
        (b"OSREL", field(|u| &u.release)),
        (b"PLATFORM", field(|u| &u.machine)),
    ]
}

/// The directories searched last (`STANDARD_LIBRARY_PATH`).
pub const DEFAULT_DIRS: &[&str] = &["/lib/casper", "/lib", "/usr/lib"];

/// `name` in each directory the hints file lists (read once), in its order.
pub fn cached(name: &[u8]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    static DIRS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    let dirs = crate::fork::once(&DIRS, || {
        super::hints::read_file(std::path::Path::new(super::hints::PATH)).unwrap_or_default()
    });
    dirs.iter()
        .map(|d| d.join(std::ffi::OsStr::from_bytes(name)))
        .collect()
}

/// The C library's soname.
pub const C_LIBRARY: &[u8] = b"libc.so.7";

/// Names of the C runtime: always the process's own copy (FreeBSD 15 moved the system calls
/// into `libsys.so.7`).
pub const C_RUNTIME: &[&[u8]] = &[b"libc.so.7", b"ld-elf.so.1", b"libsys.so.7"];

/// The names (soname or file name) a module of the process has when it is the C library.
pub const C_LIBRARY_NAMES: &[&[u8]] = &[C_LIBRARY];

/// No C library is the loader.
pub const C_LIBRARY_LOADER: Option<&[u8]> = None;

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
