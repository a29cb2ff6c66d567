//! Finding a DT_NEEDED library as glibc does: DT_RPATH of the object and of the objects that
//! loaded it, up the chain, and of the executable (when the object has no DT_RUNPATH),
//! LD_LIBRARY_PATH, DT_RUNPATH, the loader's own directories, /etc/ld.so.cache, then the default
//! directories; `$ORIGIN`, `$LIB` and `$PLATFORM` expanded.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What the object asking for a library says about where to look.
#[derive(Clone, Debug, Default)]
pub struct Requester {
    /// Directory of the requesting object (for `$ORIGIN`), if it came from a file.
    pub origin: Option<PathBuf>,
    /// Its DT_RPATH.
    pub rpath: Option<Vec<u8>>,
    /// Its DT_RUNPATH.
    pub runpath: Option<Vec<u8>>,
    /// The DT_RPATHs of the objects that loaded it, nearest first, then the executable's, each
    /// with the directory its `$ORIGIN` names (objects with a DT_RUNPATH have none: glibc drops
    /// DT_RPATH where DT_RUNPATH is present).
    pub inherited: Vec<(Vec<u8>, Option<PathBuf>)>,
}

fn expand(dir: &[u8], origin: Option<&Path>) -> Option<PathBuf> {
    let mut s = dir.to_vec();
    for (token, value) in [
        ("$ORIGIN", origin.map(|o| o.as_os_str().as_bytes().to_vec())),
        (
            "${ORIGIN}",
            origin.map(|o| o.as_os_str().as_bytes().to_vec()),
        ),
        ("$LIB", Some(crate::os::LIB.to_vec())),
        ("${LIB}", Some(crate::os::LIB.to_vec())),
        (
            "$PLATFORM",
            Some(std::env::consts::ARCH.as_bytes().to_vec()),
        ),
        (
            "${PLATFORM}",
            Some(std::env::consts::ARCH.as_bytes().to_vec()),
        ),
    ] {
        let t = token.as_bytes();
        while let Some(at) = s.windows(t.len()).position(|w| w == t) {
            // A path naming $ORIGIN of an object without a file is skipped, as glibc does.
            let v = value.clone()?;
            s.splice(at..at + t.len(), v);
        }
    }
    if s.is_empty() {
        return None;
    }
    Some(PathBuf::from(OsStr::from_bytes(&s)))
}

fn split(list: &[u8], origin: Option<&Path>) -> Vec<PathBuf> {
    list.split(|&c| c == b':' || c == b';')
        .filter_map(|d| expand(d, origin))
        .collect()
}

/// Every candidate path for `name`, in glibc's order.
pub fn candidates(name: &[u8], req: &Requester, extra: &[PathBuf]) -> Vec<PathBuf> {
    let origin = req.origin.as_deref();
    if name.contains(&b'/') {
        return expand(name, origin).into_iter().collect();
    }
    let mut dirs = Vec::new();
    // glibc's order: the RPATH of the object, then of each object up the loader chain, then of
    // the executable; all of them only if the object has no RUNPATH.
    if req.runpath.is_none() {
        if let Some(r) = &req.rpath {
            dirs.extend(split(r, origin));
        }
        for (r, o) in &req.inherited {
            dirs.extend(split(r, o.as_deref()));
        }
    }
    if let Some(l) = std::env::var_os("LD_LIBRARY_PATH") {
        dirs.extend(split(l.as_bytes(), None));
    }
    if let Some(r) = &req.runpath {
        dirs.extend(split(r, origin));
    }
    dirs.extend(extra.iter().cloned());
    let mut out: Vec<PathBuf> = dirs
        .into_iter()
        .map(|d| d.join(OsStr::from_bytes(name)))
        .collect();
    out.extend(crate::os::cached(name));
    out.extend(
        crate::os::DEFAULT_DIRS
            .iter()
            .map(|d| Path::new(d).join(OsStr::from_bytes(name))),
    );
    out
}

/// The file a bare library `name` (no `/`) names for an object with no DT_RPATH or DT_RUNPATH:
/// the first regular file among `LD_LIBRARY_PATH`, `/etc/ld.so.cache` and the default
/// directories (what `dlopen` of a bare name searches; the command line uses it).
pub fn find_library(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return None;
    }
    candidates(name.as_bytes(), &Requester::default(), &[])
        .into_iter()
        .find(|p| crate::file::regular_canonical(p).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_chain_rpaths_follow_the_object_s_own_and_its_runpath_drops_them_all() {
        let req = Requester {
            origin: Some(PathBuf::from("/o")),
            rpath: Some(b"/own".to_vec()),
            runpath: None,
            inherited: vec![(b"$ORIGIN/up".to_vec(), Some(PathBuf::from("/p")))],
        };
        let found = candidates(b"libq.so", &req, &[]);
        assert_eq!(
            found[..2],
            [PathBuf::from("/own/libq.so"), "/p/up/libq.so".into()]
        );
        let req = Requester {
            runpath: Some(b"/run".to_vec()),
            ..req
        };
        let found = candidates(b"libq.so", &req, &[]);
        assert!(!found.contains(&"/own/libq.so".into()), "{found:?}");
        assert!(!found.contains(&"/p/up/libq.so".into()), "{found:?}");
        assert!(found.contains(&"/run/libq.so".into()), "{found:?}");
    }
}
