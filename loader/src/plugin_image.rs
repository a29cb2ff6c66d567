//! The format seam at the top: a plugin's image is an ELF shared object ([`Image`]) or a
//! Mach-O dylib or bundle ([`crate::macho::load::Loaded`]), chosen by the file's first bytes;
//! the plugin registry asks either the same questions (lookup, policy, initialisers).

use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::LoadError;
use crate::image::Image;
use crate::link::Options;
use crate::macho::load::Loaded;
use crate::map::Source;

/// A loaded plugin of either format.
#[derive(Debug)]
pub enum PluginImage {
    /// An ELF shared object (and the libraries loaded for it).
    Elf(Image),
    /// A Mach-O image (and the images it needs).
    MachO(Loaded),
}

impl PluginImage {
    /// Loads the file already open (`opened`: the file, its length, device and inode), named
    /// `path` (canonical), `$ORIGIN` (ELF) the directory `origin`; `extra`: directories an ELF
    /// plugin's libraries are also searched in.
    pub fn open_file(
        path: &Path,
        origin: &Path,
        opened: (std::fs::File, u64, (u64, u64)),
        opts: &Options,
        extra: &[PathBuf],
    ) -> Result<PluginImage, LoadError> {
        let mut magic = [0u8; 4];
        let is_macho =
            opened.0.read_exact_at(&mut magic, 0).is_ok() && crate::macho::is_macho(&magic);
        if !is_macho {
            return Image::open_file(path, origin, opened, opts, extra).map(PluginImage::Elf);
        }
        let (file, len) = (opened.0, opened.1);
        // Mach-O images are read whole: their load commands and __LINKEDIT tables are read
        // from the bytes, their segments mapped from the file.
        let too_large = || crate::error::Malformed::ImageTooLarge { size: len };
        let size = usize::try_from(len)
            .ok()
            .filter(|_| len <= crate::macho::MAX_SPAN)
            .ok_or_else(too_large)?;
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(size).map_err(|_| too_large())?;
        bytes.resize(size, 0);
        file.read_exact_at(&mut bytes, 0).map_err(LoadError::Io)?;
        crate::macho::load::load(&bytes, Source::File(file.as_fd()), Some(path), opts)
            .map(PluginImage::MachO)
    }

    /// Loads a plugin from `bytes` (segments copied into anonymous mappings).
    pub fn from_bytes(
        bytes: &[u8],
        opts: &Options,
        extra: &[PathBuf],
    ) -> Result<PluginImage, LoadError> {
        if crate::macho::is_macho(bytes) {
            return crate::macho::load::load(bytes, Source::Bytes(bytes), None, opts)
                .map(PluginImage::MachO);
        }
        Image::from_bytes(bytes, opts, extra).map(PluginImage::Elf)
    }

    /// The address of the exported function or variable `name` (its C name), or `None`.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        match self {
            PluginImage::Elf(i) => i.lookup(name),
            PluginImage::MachO(m) => m.lookup(name),
        }
    }

    /// The imports `opts` forbids of this image and of what was loaded for it.
    pub fn breaches(&self, opts: &Options) -> Vec<String> {
        match self {
            PluginImage::Elf(i) => i.breaches(opts),
            PluginImage::MachO(m) => m.breaches(opts),
        }
    }

    /// Joins the global scope (`Options::global`). A Mach-O image's exports are found by
    /// flat lookup from any later Mach-O image already: nothing to do.
    pub fn join_global_scope(&self) {
        if let PluginImage::Elf(i) = self {
            i.join_global_scope();
        }
    }

    /// Runs the initialisers, the dependencies' first.
    ///
    /// # Safety
    /// Runs the plugin's code; call it exactly once per image.
    pub unsafe fn run_initialisers(&self) {
        match self {
            // SAFETY: forwarded from the caller.
            PluginImage::Elf(i) => unsafe { i.run_initialisers() },
            // SAFETY: forwarded from the caller.
            PluginImage::MachO(m) => unsafe { m.run_initialisers() },
        }
    }
}
