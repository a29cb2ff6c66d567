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
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
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
    match std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
        Ok(p) if p.is_absolute() && !p.as_os_str().as_bytes().ends_with(b" (deleted)") => Some(p),
        _ => std::fs::canonicalize(path).ok(),
    }
}

/// Opens `path` as [`open_regular_with_len`] does, and names it canonically: the kernel's name
/// for the open file (one `readlink` of `/proc/self/fd/N`, where `realpath` makes one per path
/// component), or `realpath`'s answer where `/proc` is not mounted.
pub fn open_canonical(path: &Path) -> Result<Opened, LoadError> {
    let (file, meta) = open_regular_with_meta(path)?;
    let by_fd = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .ok()
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
