//! A file's bytes for parsing: a private read-only mapping (nothing for an empty file).

use std::fs::File;

use crate::error::LoadError;

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
