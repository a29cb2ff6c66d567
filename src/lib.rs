//! dynplug: Go's `plugin` package for Rust, without the system's dynamic loader.
//!
//! ```no_run
//! let p = unsafe { dynplug::Plugin::open("plugin.so") }?;
//! let v = p.lookup("V")?;
//! let f = p.lookup("F")?;
//! unsafe {
//!     *v.cast::<*mut i32>() = 7;
//!     v.cast::<*mut i32>();
//!     f.cast::<extern "C" fn()>()(); // prints "Hello, number 7"
//! }
//! # Ok::<(), dynplug::Error>(())
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod error;
mod exports;
mod loader;
mod plugin;
mod registry;
mod symbol;
mod symbolize;

/// The facts [`Loader::inspect`] reports (header, segments, dependencies, symbols, ...).
pub use dynplug_loader::inspect;
/// Offline relocation: an image of any supported machine relocated into buffers at a base and
/// with imports, TLS placement and IFUNC results the caller chooses; nothing is mapped
/// executable and nothing runs.
pub use dynplug_loader::offline;
pub use error::{Error, Malformed, StaticTlsRefusal, Unsupported};
pub use loader::{Inspection, Loader, Report};
pub use plugin::Plugin;
pub use symbol::Symbol;
pub use symbolize::{symbolize, Symbolized};
