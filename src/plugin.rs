//! `Plugin`: an opened plugin (Go's `*plugin.Plugin`).

use std::path::Path;

use dynplug_loader::PluginImage;

use crate::error::Error;
use crate::loader::Loader;
use crate::symbol::Symbol;

/// An opened plugin. Plugins are never closed: a `&'static Plugin` is valid for the life of the
/// process, as are the [`Symbol`]s looked up in it.
#[derive(Debug)]
pub struct Plugin {
    path: std::sync::Arc<Path>,
    image: PluginImage,
}

impl Plugin {
    pub(crate) fn new(path: &Path, image: PluginImage) -> Plugin {
        Plugin {
            path: path.into(),
            image,
        }
    }

    /// Go's `plugin.Open`: opens the shared object at `path` with the default [`Loader`].
    ///
    /// The same file opened again, by any spelling of its path, gives the same plugin, and its
    /// initialisers run only the first time.
    ///
    /// # Safety
    /// Runs the plugin's initialisers: the plugin's code is trusted once opened.
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<&'static Plugin, Error> {
        // SAFETY: forwarded from the caller.
        unsafe { Loader::new().open(path) }
    }

    /// Go's `(*Plugin).Lookup`: the exported function or variable `name`.
    pub fn lookup(&self, name: &str) -> Result<Symbol, Error> {
        match self.image.lookup(name) {
            Some(addr) => Ok(Symbol::new(addr as usize)),
            None => Err(Error::SymbolNotFound {
                path: self.path.clone(),
                symbol: name.to_string(),
            }),
        }
    }

    /// The canonical path the plugin is registered under (for [`Loader::open_bytes`], its name).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the plugin join the global scope (see [`Loader::global`]).
    pub(crate) fn join_global_scope(&self) {
        self.image.join_global_scope();
    }

    /// Runs the initialisers.
    ///
    /// # Safety
    /// Exactly once per plugin (the registry sees to it).
    /// The imports `opts` forbids of this plugin and the libraries dynplug loaded for it.
    pub(crate) fn breaches(&self, opts: &dynplug_loader::Options) -> Vec<String> {
        self.image.breaches(opts)
    }

    pub(crate) unsafe fn initialise(&self) {
        // SAFETY: forwarded: called once.
        unsafe { self.image.run_initialisers() }
    }
}
