//! The public error type: one variant per cause, each with the path of the plugin concerned.

use std::io;
use std::path::PathBuf;

use dynplug_loader::LoadError;
pub use dynplug_loader::{Malformed, StaticTlsRefusal, Unsupported};

/// Why a plugin could not be opened, or a symbol not found.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read (missing, unreadable, ...).
    #[error("plugin.Open(\"{path}\"): {source}")]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The path names a directory.
    #[error("plugin.Open(\"{path}\"): is a directory, not a shared object")]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The file is not an ELF shared object.
    #[error("plugin.Open(\"{path}\"): not an ELF shared object")]
    NotElf {
        /// The path.
        path: PathBuf,
    },
    /// The file is for another architecture or ELF class.
    #[error("plugin.Open(\"{path}\"): built for {found}, this process runs {expected}")]
    WrongArchitecture {
        /// The path.
        path: PathBuf,
        /// What the file is built for.
        found: String,
        /// What this process runs.
        expected: String,
    },
    /// The file is structurally invalid.
    #[error("plugin.Open(\"{path}\"): malformed: {reason}")]
    Malformed {
        /// The path.
        path: PathBuf,
        /// Which check failed.
        reason: Malformed,
    },
    /// The file uses something dynplug does not support.
    #[error("plugin.Open(\"{path}\"): unsupported: {feature}")]
    Unsupported {
        /// The path.
        path: PathBuf,
        /// What is unsupported.
        feature: Unsupported,
    },
    /// Imports that nothing in scope defines: every one of them is listed.
    #[error("plugin.Open(\"{path}\"): undefined symbols: {}", symbols.join(", "))]
    UndefinedSymbols {
        /// The path.
        path: PathBuf,
        /// Every missing symbol (with `@VERSION` where the import asked for one).
        symbols: Vec<String>,
    },
    /// A DT_NEEDED library is not available.
    #[error(
        "plugin.Open(\"{path}\"): missing library {library} (needed by {}; looked in: {})",
        needed_by.display(),
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    MissingDependency {
        /// The path.
        path: PathBuf,
        /// The DT_NEEDED name.
        library: String,
        /// The object that needs it (the plugin, or a library loaded for it).
        needed_by: PathBuf,
        /// Every path dynplug tried, in order.
        searched: Vec<PathBuf>,
    },
    /// Reserving or mapping memory failed.
    #[error("plugin.Open(\"{path}\"): mapping failed: {source}")]
    Map {
        /// The path.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// `lookup` found no exported symbol of that name.
    #[error("plugin: symbol {symbol} not found in plugin {}", path.display())]
    SymbolNotFound {
        /// The plugin's path (shared with the plugin: a failed lookup does not copy it).
        path: std::sync::Arc<std::path::Path>,
        /// The name looked up.
        symbol: String,
    },
    /// The plugin imports names the loader's import policy forbids: every one is listed.
    #[error("plugin.Open(\"{path}\"): imports not allowed by the policy: {}", imports.join(", "))]
    ImportsNotAllowed {
        /// The path of the module that wants them.
        path: PathBuf,
        /// Every forbidden import.
        imports: Vec<String>,
    },
    /// A plugin's initialiser (directly or through the host) opened the same plugin again.
    #[error("plugin.Open(\"{path}\"): opened again by its own initialiser")]
    RecursiveOpen {
        /// The path.
        path: PathBuf,
    },
}

impl Error {
    /// Attaches `path` to a loader error.
    pub(crate) fn from_load(path: PathBuf, e: LoadError) -> Error {
        match e {
            LoadError::Io(source) => Error::Io { path, source },
            LoadError::IsDirectory => Error::IsDirectory { path },
            LoadError::NotElf => Error::NotElf { path },
            LoadError::WrongArchitecture { found, expected } => Error::WrongArchitecture {
                path,
                found,
                expected,
            },
            LoadError::Malformed(reason) => Error::Malformed { path, reason },
            LoadError::Unsupported(feature) => Error::Unsupported { path, feature },
            LoadError::UndefinedSymbols(symbols) => Error::UndefinedSymbols { path, symbols },
            LoadError::MissingDependency {
                library,
                needed_by,
                searched,
            } => Error::MissingDependency {
                path,
                library,
                needed_by,
                searched,
            },
            LoadError::Map(source) => Error::Map { path, source },
            LoadError::ImportsNotAllowed(imports) => Error::ImportsNotAllowed { path, imports },
            // LoadError is non-exhaustive; a new cause is reported as an I/O-style error rather
            // than lost.
            other => Error::Io {
                path,
                source: io::Error::other(other.to_string()),
            },
        }
    }

    /// The path of the plugin this error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::Io { path, .. }
            | Error::IsDirectory { path }
            | Error::NotElf { path }
            | Error::WrongArchitecture { path, .. }
            | Error::Malformed { path, .. }
            | Error::Unsupported { path, .. }
            | Error::UndefinedSymbols { path, .. }
            | Error::MissingDependency { path, .. }
            | Error::Map { path, .. }
            | Error::ImportsNotAllowed { path, .. }
            | Error::RecursiveOpen { path } => path,
            Error::SymbolNotFound { path, .. } => path,
        }
    }
}
