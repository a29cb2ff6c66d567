//! Where a dependency's install name leads, as dyld searches on macOS: `@loader_path` (the
//! directory of the image that names it), `@rpath` (each `LC_RPATH` of the loading chain, the
//! image's own first), `@executable_path` (the program's directory), or an absolute path. On
//! Linux the system's libraries (`/usr/lib/...`, `/System/...`) do not exist: their symbols are
//! the host's exports.

use std::path::{Path, PathBuf};

/// What an install name is to dynplug.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// A system library of macOS: its imports are served by the host's exports.
    System,
    /// A file to look for, at each of these paths in order.
    Candidates(Vec<PathBuf>),
}

/// True for the install names of macOS's own libraries, which no Linux system has.
fn is_system(name: &str) -> bool {
    name.starts_with("/usr/lib/") || name.starts_with("/System/")
}

/// The directory of the running program (`@executable_path`).
fn executable_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

/// `path` with a leading `@loader_path` or `@executable_path` replaced (`loader`: the directory
/// of the image the path belongs to); `None` if it needs a directory that is not known.
fn expand(path: &str, loader: Option<&Path>) -> Option<PathBuf> {
    let join = |dir: &Path, rest: &str| dir.join(rest.trim_start_matches('/'));
    if let Some(rest) = path.strip_prefix("@loader_path") {
        return Some(join(loader?, rest));
    }
    if let Some(rest) = path.strip_prefix("@executable_path") {
        return Some(join(&executable_dir()?, rest));
    }
    Some(PathBuf::from(path))
}

/// The paths to try for the install name `name`, needed by the image in directory `loader`;
/// `rpaths` are the loading chain's `LC_RPATH` entries, already expanded, in search order.
pub(super) fn target(name: &str, loader: Option<&Path>, rpaths: &[PathBuf]) -> Target {
    if is_system(name) {
        return Target::System;
    }
    if let Some(rest) = name.strip_prefix("@rpath/") {
        return Target::Candidates(rpaths.iter().map(|r| r.join(rest)).collect());
    }
    Target::Candidates(expand(name, loader).into_iter().collect())
}

/// The image's `LC_RPATH` entries expanded (`loader`: its directory), for its dependencies'
/// searches; an entry that names an unknown directory is left out.
pub(super) fn expand_rpaths(rpaths: &[String], loader: Option<&Path>) -> Vec<PathBuf> {
    rpaths.iter().filter_map(|r| expand(r, loader)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_expanded_as_dyld_expands_them() {
        let dir = Path::new("/plugins");
        let rpaths = expand_rpaths(&["@loader_path/lib".into(), "/opt".into()], Some(dir));
        assert_eq!(
            rpaths,
            [PathBuf::from("/plugins/lib"), PathBuf::from("/opt")]
        );
        assert_eq!(
            target("@rpath/libx.dylib", Some(dir), &rpaths),
            Target::Candidates(vec![
                "/plugins/lib/libx.dylib".into(),
                "/opt/libx.dylib".into()
            ])
        );
        assert_eq!(
            target("@loader_path/../libx.dylib", Some(dir), &[]),
            Target::Candidates(vec!["/plugins/../libx.dylib".into()])
        );
        assert_eq!(
            target("@loader_path/libx.dylib", None, &[]),
            Target::Candidates(vec![])
        );
        assert_eq!(
            target("/usr/lib/libSystem.B.dylib", None, &[]),
            Target::System
        );
        assert_eq!(target("/System/Library/Foo", None, &[]), Target::System);
        assert_eq!(
            target("/opt/libx.dylib", None, &[]),
            Target::Candidates(vec!["/opt/libx.dylib".into()])
        );
    }
}
