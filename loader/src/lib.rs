//! dynplug's loader: it reads ELF shared objects, maps them, resolves their imports, applies their
//! relocations with one generic loop (formulas from `dynplug-arch`) and runs their initialisers.
//! It never calls the system's dynamic loader.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod abi;
mod backtrace;
mod binding;
mod check;
pub mod debug;
mod debug_elf;
mod debugger;
mod diag;
pub mod elf;
mod error;
mod exports;
pub mod file;
pub mod fork;
mod group;
mod image;
mod init;
mod initialised;
pub mod inspect;
mod interpose;
// glibc's cache format: consulted on Linux only (`os/linux.rs`), parsed and tested everywhere.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod ldcache;
mod link;
pub mod macho;
// The Mach-O reader's errors: a leaf, so that `error.rs` names them without depending on the
// Mach-O loader (which uses the generic loader).
mod macho_error;
mod map;
pub mod object;
pub mod offline;
pub mod os;
mod perf_map;
mod plugin_image;
pub mod process;
mod read;
mod relocate;
mod resolve;
mod search;
pub mod segments;
mod static_exe;
mod static_tls;
pub mod symbols;
mod tls;
mod tlv_block;
mod unique;
mod unwind;

pub use backtrace::{symbolize, Symbolized};
pub use check::check;
pub use error::{LoadError, Malformed, StaticTlsRefusal, Unsupported};
pub use exports::FastMap;
pub use file::{open_regular, FileBytes};
pub use image::{page_size, Image};
pub use initialised::{blocked_on, unblocked};
pub use inspect::{inspect, Inspection};
pub use link::Options;
pub use plugin_image::PluginImage;
pub use resolve::Policy;
pub use search::find_library;
