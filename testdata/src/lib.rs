//! Fixtures for dynplug's tests and example: shared objects compiled by `build.rs` from the
//! sources in `testdata/c`, and crafted ELF files built in memory by [`craft`].
#![warn(missing_docs)]

pub mod craft;

use std::path::PathBuf;

/// Directory holding the compiled fixtures (`<name>.so`).
pub fn dir() -> PathBuf {
    PathBuf::from(env!("DYNPLUG_FIXTURES_DIR"))
}

/// Path of the compiled fixture `name` (`testdata/c/<name>.c` → `<name>.so`).
pub fn path(name: &str) -> PathBuf {
    dir().join(format!("{name}.so"))
}
