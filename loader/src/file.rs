//! A file's bytes for parsing: a private read-only mapping (nothing for an empty file).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::LoadError;

/// Opens `path` for reading if it is a regular file: a directory is `IsDirectory`, and a FIFO,
/// socket or device is an error without blocking (it is opened non-blocking and checked).
pub fn open_regular(path: &Path) -> Result<File, LoadError> {
    open_regular_with_len(path).map(|(f, _)| f)
}

/// [`open_regular`], with the file's length (from the same `fstat`).
pub fn open_regular_with_len(path: &Path) -> Result<(File, u64), LoadError> {
    open_regular_with_meta(path).map(|(f, m)| (f, m.len()))
}

/// [`open_regular`], with the file's metadata (from the same `fstat`).
pub(crate) fn open_regular_with_meta(path: &Path) -> Result<(File, std::fs::Metadata), LoadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    regular_with_meta(file)
}

/// `file` and its metadata if it is a regular file (see [`open_regular`]).
fn regular_with_meta(file: File) -> Result<(File, std::fs::Metadata), LoadError> {
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(LoadError::IsDirectory);
    }
    if !meta.is_file() {
        return Err(LoadError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    Ok((file, meta))
}

/// The length, device and inode of `file` if it is a regular file (see [`open_regular`]), from
/// one `fstat`, as glibc asks: std's `metadata` makes a `statx` of every field and converts
/// them all, on every open.
fn regular_len_and_id(file: &File) -> Result<(u64, (u64, u64)), LoadError> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat(2) on an open descriptor, writing one `struct stat` it is given room for.
    if unsafe { libc::fstat(file.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    // SAFETY: fstat returned 0: it filled the structure.
    let st = unsafe { st.assume_init() };
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => {}
        libc::S_IFDIR => return Err(LoadError::IsDirectory),
        _ => {
            return Err(LoadError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )))
        }
    }
    let len = u64::try_from(st.st_size).unwrap_or(0);
    // `dev_t` is i32 on macOS: widened as std's `MetadataExt::dev` widens it, so an id from
    // here equals one from `std::fs::metadata` (hard links are matched by both).
    #[allow(clippy::unnecessary_cast)]
    let dev = st.st_dev as u64;
    #[allow(clippy::unnecessary_cast)]
    let ino = st.st_ino as u64;
    Ok((len, (dev, ino)))
}

/// The device and inode of the file at `path` (symlinks followed), which name one file however
/// it is reached.
pub fn id(path: &Path) -> Option<(u64, u64)> {
    let (_, meta) = open_path(path)?;
    Some((meta.dev(), meta.ino()))
}

/// `path` opened with `O_PATH` (symlinks followed; nothing read), and its metadata from `fstat`.
/// Opening and `fstat` rather than `stat`: under qemu-user's `-L` prefix only path-taking calls
/// other than `statx` are redirected, and `std::fs::metadata` asks `statx` first.
fn open_path(path: &Path) -> Option<(File, std::fs::Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(crate::os::PATH_ONLY | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    Some((file, meta))
}

/// The canonical path of `path` if it names a regular file (symlinks followed), as glibc's
/// search takes a candidate: the kernel's name for the open file, or `realpath`'s where
/// `/proc` is not mounted.
pub fn regular_canonical(path: &Path) -> Option<PathBuf> {
    let (file, meta) = open_path(path)?;
    if !meta.is_file() {
        return None;
    }
    match crate::os::fd_path(file.as_raw_fd()) {
        Some(p) if p.is_absolute() && !p.as_os_str().as_bytes().ends_with(b" (deleted)") => Some(p),
        _ => std::fs::canonicalize(path).ok(),
    }
}

/// Opens `path` as [`open_regular_with_len`] does, and names it canonically: the kernel's name
/// for the open file (one `readlink` of `/proc/self/fd/N`, where `realpath` makes one per path
/// component), or `realpath`'s answer where `/proc` is not mounted.
pub fn open_canonical(path: &Path) -> Result<Opened, LoadError> {
    if let Some(file) = open_as_canonical(path) {
        let (len, id) = regular_len_and_id(&file)?;
        return Ok(Opened {
            file,
            len,
            canonical: path.to_path_buf(),
            id,
        });
    }
    let (file, meta) = open_regular_with_meta(path)?;
    let by_fd = crate::os::fd_path(file.as_raw_fd())
        .filter(|p| p.is_absolute() && !p.as_os_str().as_bytes().ends_with(b" (deleted)"));
    let canonical = match by_fd {
        Some(p) => p,
        None => std::fs::canonicalize(path)?,
    };
    Ok(Opened {
        file,
        len: meta.len(),
        canonical,
        id: (meta.dev(), meta.ino()),
    })
}

/// `path` opened as [`open_regular`] opens it, if `path` is already the kernel's name for the
/// file: absolute, in normal form (no `.` or `..` component, no repeated or trailing `/`) and
/// reached through no symbolic link (`openat2` with `RESOLVE_NO_SYMLINKS` refuses one), the
/// usual case. Then the `readlink` of `/proc/self/fd/N` (2.5 µs, a tenth of an open of a small
/// plugin) would answer `path` itself. `None` otherwise, or where `openat2` is missing or
/// refused: the caller opens and asks.
fn open_as_canonical(path: &Path) -> Option<File> {
    let bytes = path.as_os_str().as_bytes();
    let mut components = bytes.strip_prefix(b"/")?.split(|&c| c == b'/');
    if !components.all(|c| !c.is_empty() && c != b"." && c != b"..") {
        return None;
    }
    // NUL-terminated on the stack (the usual path is short): no allocation.
    let mut buf = [0u8; 512];
    let c_path = match buf.get_mut(..bytes.len()) {
        Some(head) if bytes.len() < 512 => {
            head.copy_from_slice(bytes);
            std::ffi::CStr::from_bytes_with_nul(buf.get(..=bytes.len())?).ok()?
        }
        _ => return None,
    };
    crate::os::open_no_symlinks(c_path)
}

/// A file opened by [`open_canonical`].
#[derive(Debug)]
pub struct Opened {
    /// The open file.
    pub file: File,
    /// Its length.
    pub len: u64,
    /// Its canonical path.
    pub canonical: PathBuf,
    /// Its device and inode.
    pub id: (u64, u64),
}

/// The whole file, mapped read-only for parsing (segments are mapped separately).
#[derive(Debug)]
pub enum FileBytes {
    /// A read-only mapping of the file.
    Mapped(memmap2::Mmap),
    /// An empty file.
    Empty,
}

impl FileBytes {
    /// Maps `file`.
    pub fn new(file: &File) -> Result<FileBytes, LoadError> {
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(LoadError::IsDirectory);
        }
        if meta.len() == 0 {
            return Ok(FileBytes::Empty);
        }
        // SAFETY: the mapping is private and read-only; a file truncated by another process while
        // we parse it faults, as with every loader that maps files.
        let m = unsafe { memmap2::Mmap::map(file) }?;
        Ok(FileBytes::Mapped(m))
    }
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Empty => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's name of an open file, short and longer than the first buffer (256 bytes).
    #[test]
    #[cfg_attr(
        not(target_os = "linux"),
        ignore = "only Linux names an open file here (/proc/self/fd)"
    )]
    fn fd_name_reads_short_and_long_names() {
        let tmp = std::fs::canonicalize(std::env::temp_dir()).unwrap();
        let base = tmp.join(format!("dynplug-fd-name-{}", std::process::id()));
        let long = base.join("d".repeat(200)).join("e".repeat(200));
        std::fs::create_dir_all(&long).unwrap();
        for dir in [&base, &long] {
            let path = dir.join("f");
            std::fs::write(&path, b"x").unwrap();
            let file = File::open(&path).unwrap();
            assert_eq!(crate::os::fd_path(file.as_raw_fd()), Some(path.clone()));
            assert_eq!(open_canonical(&path).unwrap().canonical, path);
        }
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// Every spelling names the file as `realpath` does: the path itself when it is already
    /// canonical (opened without asking the kernel), the target through symbolic links, `.`,
    /// `..`, repeated `/` and relative paths.
    #[test]
    fn open_canonical_names_every_spelling_as_realpath() {
        let tmp = std::fs::canonicalize(std::env::temp_dir()).unwrap();
        let base = tmp.join(format!("dynplug-spelling-{}", std::process::id()));
        std::fs::create_dir_all(base.join("real/sub")).unwrap();
        let file = base.join("real/sub/lib.so");
        std::fs::write(&file, b"x").unwrap();
        std::os::unix::fs::symlink(base.join("real"), base.join("link")).unwrap();
        std::os::unix::fs::symlink(&file, base.join("real/file-link")).unwrap();
        let b = base.display();
        let cwd = std::env::current_dir().unwrap();
        let relative = pathdiff(&file, &cwd);
        for spelling in [
            file.display().to_string(),
            format!("{b}/link/sub/lib.so"),
            format!("{b}/real/file-link"),
            format!("{b}/real/./sub/lib.so"),
            format!("{b}/real/sub/../sub/lib.so"),
            format!("{b}//real/sub/lib.so"),
            relative,
        ] {
            let opened = open_canonical(Path::new(&spelling)).unwrap();
            assert_eq!(opened.canonical, file, "{spelling}");
            assert_eq!(opened.len, 1, "{spelling}");
        }
        assert!(matches!(
            open_canonical(&base.join("real")),
            Err(LoadError::IsDirectory)
        ));
        assert!(open_canonical(&base.join("real/missing.so")).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// `file` relative to `dir` (both absolute): as many `..` as `dir` has components.
    fn pathdiff(file: &Path, dir: &Path) -> String {
        let up = dir.components().count().saturating_sub(1);
        let mut s = "../".repeat(up);
        s.push_str(file.to_str().unwrap().trim_start_matches('/'));
        s
    }
}
