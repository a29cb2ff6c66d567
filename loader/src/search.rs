//! Finding a DT_NEEDED library as the running system's loader does ([`Order`]): glibc's
//! DT_RPATH of the object and of the objects that loaded it, up the chain, and of the executable
//! (when the object has no DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, /etc/ld.so.cache, then the
//! default directories; FreeBSD rtld's the same without the loader chain, its hints file in
//! place of the cache. The `$` tokens each system knows are expanded ([`Tokens`]).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What the object asking for a library says about where to look.
#[derive(Clone, Debug, Default)]
pub struct Requester {
    /// The requesting object's path, if it came from a file (what FreeBSD's libmap.conf
    /// sections select).
    pub path: Option<PathBuf>,
    /// Directory of the requesting object (for `$ORIGIN`), if it came from a file.
    pub origin: Option<PathBuf>,
    /// Its DT_RPATH.
    pub rpath: Option<Vec<u8>>,
    /// Its DT_RUNPATH.
    pub runpath: Option<Vec<u8>>,
    /// The DT_RPATHs of the objects that loaded it, nearest first, each with the directory its
    /// `$ORIGIN` names (objects with a DT_RUNPATH have none: glibc drops DT_RPATH where
    /// DT_RUNPATH is present).
    pub inherited: Vec<(Vec<u8>, Option<PathBuf>)>,
    /// The executable's DT_RPATH (if it has no DT_RUNPATH), with its `$ORIGIN`.
    pub executable: Option<(Vec<u8>, Option<PathBuf>)>,
    /// The object is marked `DF_1_NODEFLIB` (`-z nodefaultlib`): the default directories are
    /// not searched for it, nor the cache's (or hints file's) answers that lie in them.
    pub nodeflib: bool,
}

/// Whose search order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// glibc's (`elf/dl-load.c`, `_dl_map_new_object`): RPATH of the object, of the loader chain
    /// and of the executable (none if the object has a RUNPATH), `LD_LIBRARY_PATH`, RUNPATH, the
    /// cache, the default directories.
    Glibc,
    /// FreeBSD rtld's (`rtld.c`, `find_library`): RPATH of the object and of the executable
    /// (none if the object has a RUNPATH; the loader chain's are not searched),
    /// `LD_LIBRARY_PATH`, RUNPATH, the hints file, the standard directories.
    FreeBsd,
}

/// The `$` tokens a system's loader expands in search paths, by name (without `$` or braces),
/// with their values; `None`: a path naming it is dropped (as glibc drops a `$PLATFORM` path
/// where the kernel gave no platform). A token not listed is left as written. `$ORIGIN` is the
/// requester's own and is not listed.
pub type Tokens = Vec<(&'static [u8], Option<Vec<u8>>)>;

/// The running system's search.
#[derive(Clone, Debug)]
pub struct System {
    /// Its order.
    pub order: Order,
    /// Its tokens besides `$ORIGIN`.
    pub tokens: Tokens,
    /// `LD_LIBRARY_PATH`.
    pub library_path: Option<Vec<u8>>,
    /// The cache's (or hints file's) candidates for a name.
    pub cached: fn(&[u8]) -> Vec<PathBuf>,
    /// The directories searched last.
    pub default_dirs: Vec<PathBuf>,
    /// The name the system's loader searches for in place of a name a requester (at a path)
    /// asks for, if another (FreeBSD's libmap.conf).
    pub renamed: fn(Option<&Path>, &[u8]) -> Option<Vec<u8>>,
}

impl System {
    /// The running system's: `os::SEARCH_ORDER`, `os::search_tokens()`, the environment.
    pub fn running() -> System {
        System {
            order: crate::os::SEARCH_ORDER,
            tokens: crate::os::search_tokens(),
            library_path: std::env::var_os("LD_LIBRARY_PATH").map(|l| l.as_bytes().to_vec()),
            cached: |name| crate::os::cached(name).into_iter().collect(),
            default_dirs: crate::os::DEFAULT_DIRS.iter().map(PathBuf::from).collect(),
            renamed: crate::os::renamed,
        }
    }
}

/// True for a byte that continues a token's name (`is_dst` in glibc's `dl-load.c`).
fn name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The token at the start of `s` (just after its `$`): its value, and how many bytes it spans.
/// `None`: no known token there; `Some((None, _))`: a known token without a value.
fn token_at<'v>(
    s: &[u8],
    origin: &'v Option<Vec<u8>>,
    tokens: &'v Tokens,
) -> Option<(&'v Option<Vec<u8>>, usize)> {
    let known =
        std::iter::once((&b"ORIGIN"[..], origin)).chain(tokens.iter().map(|(n, v)| (*n, v)));
    for (name, value) in known {
        if let Some(rest) = s.strip_prefix(b"{").and_then(|r| r.strip_prefix(name)) {
            if rest.first() == Some(&b'}') {
                return Some((value, name.len() + 2));
            }
        } else if let Some(rest) = s.strip_prefix(name) {
            if !rest.first().is_some_and(|&c| name_byte(c)) {
                return Some((value, name.len()));
            }
        }
    }
    None
}

/// `dir` with its tokens expanded; `None` if it names a token without a value (an `$ORIGIN` of an
/// object without a file is skipped, as glibc does) or is empty.
fn expand(dir: &[u8], origin: Option<&Path>, tokens: &Tokens) -> Option<PathBuf> {
    let origin = origin.map(|o| o.as_os_str().as_bytes().to_vec());
    let mut out = Vec::with_capacity(dir.len());
    let mut i = 0;
    while let Some(&c) = dir.get(i) {
        i += 1;
        let Some((value, len)) = (c == b'$')
            .then(|| token_at(&dir[i..], &origin, tokens))
            .flatten()
        else {
            out.push(c);
            continue;
        };
        out.extend_from_slice(value.as_deref()?);
        i += len;
    }
    (!out.is_empty()).then(|| PathBuf::from(OsStr::from_bytes(&out)))
}

fn split(list: &[u8], origin: Option<&Path>, tokens: &Tokens) -> Vec<PathBuf> {
    list.split(|&c| c == b':' || c == b';')
        .filter_map(|d| expand(d, origin, tokens))
        .collect()
}

/// Every candidate path for `name`, in the running system's order.
pub fn candidates(name: &[u8], req: &Requester, extra: &[PathBuf]) -> Vec<PathBuf> {
    candidates_in(&System::running(), name, req, extra)
}

/// Every candidate path for `name` in `sys`, in its order; `extra`: directories searched after
/// RUNPATH (the loader's own).
pub fn candidates_in(
    sys: &System,
    name: &[u8],
    req: &Requester,
    extra: &[PathBuf],
) -> Vec<PathBuf> {
    let origin = req.origin.as_deref();
    let tokens = &sys.tokens;
    // Renamed first: the new name may be a path.
    let renamed = (sys.renamed)(req.path.as_deref(), name);
    let name = renamed.as_deref().unwrap_or(name);
    if name.contains(&b'/') {
        return expand(name, origin, tokens).into_iter().collect();
    }
    let mut dirs = Vec::new();
    // Both orders drop every RPATH when the object has a RUNPATH.
    if req.runpath.is_none() {
        if let Some(r) = &req.rpath {
            dirs.extend(split(r, origin, tokens));
        }
        if sys.order == Order::Glibc {
            for (r, o) in &req.inherited {
                dirs.extend(split(r, o.as_deref(), tokens));
            }
        }
        if let Some((r, o)) = &req.executable {
            dirs.extend(split(r, o.as_deref(), tokens));
        }
    }
    if let Some(l) = &sys.library_path {
        dirs.extend(split(l, None, tokens));
    }
    if let Some(r) = &req.runpath {
        dirs.extend(split(r, origin, tokens));
    }
    dirs.extend(extra.iter().cloned());
    let file = OsStr::from_bytes(name);
    let mut out: Vec<PathBuf> = dirs.into_iter().map(|d| d.join(file)).collect();
    let cached = (sys.cached)(name).into_iter();
    if req.nodeflib {
        let in_default = |p: &PathBuf| sys.default_dirs.iter().any(|d| p.parent() == Some(d));
        out.extend(cached.filter(|p| !in_default(p)));
        return out;
    }
    out.extend(cached);
    out.extend(sys.default_dirs.iter().map(|d| d.join(file)));
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

    fn hints(name: &[u8]) -> Vec<PathBuf> {
        vec![Path::new("/hints").join(OsStr::from_bytes(name))]
    }

    fn system(order: Order, tokens: Tokens) -> System {
        System {
            order,
            tokens,
            library_path: Some(b"/env".to_vec()),
            cached: hints,
            default_dirs: vec!["/usr/lib".into()],
            renamed: |_, _| None,
        }
    }

    fn glibc() -> System {
        system(Order::Glibc, vec![(b"LIB", Some(b"lib64".to_vec()))])
    }

    fn freebsd() -> System {
        let tokens: Tokens = vec![
            (b"LIB", Some(b"lib".to_vec())),
            (b"OSNAME", Some(b"FreeBSD".to_vec())),
            (b"OSREL", Some(b"14.1-RELEASE".to_vec())),
            (b"PLATFORM", Some(b"amd64".to_vec())),
        ];
        system(Order::FreeBsd, tokens)
    }

    fn requester(runpath: Option<&[u8]>) -> Requester {
        Requester {
            path: Some(PathBuf::from("/o/libr.so")),
            origin: Some(PathBuf::from("/o")),
            rpath: Some(b"/own".to_vec()),
            runpath: runpath.map(<[u8]>::to_vec),
            inherited: vec![(b"$ORIGIN/up".to_vec(), Some(PathBuf::from("/p")))],
            executable: Some((b"$ORIGIN/exe".to_vec(), Some(PathBuf::from("/bin")))),
            nodeflib: false,
        }
    }

    fn dirs(found: Vec<PathBuf>) -> Vec<String> {
        found
            .iter()
            .map(|p| p.parent().unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn glibc_searches_the_loader_chain_s_rpaths_and_a_runpath_drops_them_all() {
        let found = candidates_in(&glibc(), b"libq.so", &requester(None), &[]);
        assert_eq!(
            dirs(found),
            ["/own", "/p/up", "/bin/exe", "/env", "/hints", "/usr/lib"]
        );
        let found = candidates_in(&glibc(), b"libq.so", &requester(Some(b"/run")), &[]);
        assert_eq!(dirs(found), ["/env", "/run", "/hints", "/usr/lib"]);
    }

    #[test]
    fn freebsd_searches_the_object_s_and_the_executable_s_rpath_but_not_the_chain_s() {
        let found = candidates_in(&freebsd(), b"libq.so", &requester(None), &[]);
        assert_eq!(
            dirs(found),
            ["/own", "/bin/exe", "/env", "/hints", "/usr/lib"]
        );
        let found = candidates_in(&freebsd(), b"libq.so", &requester(Some(b"/run")), &[]);
        assert_eq!(dirs(found), ["/env", "/run", "/hints", "/usr/lib"]);
    }

    #[test]
    fn each_system_expands_the_tokens_its_loader_knows() {
        let path = b"/x/$OSNAME/${OSREL}/$PLATFORM/$LIB:$ORIGIN/a";
        let req = Requester {
            origin: Some(PathBuf::from("/o")),
            rpath: Some(path.to_vec()),
            ..Requester::default()
        };
        let found = candidates_in(&freebsd(), b"l.so", &req, &[]);
        assert_eq!(
            dirs(found)[..2],
            ["/x/FreeBSD/14.1-RELEASE/amd64/lib", "/o/a"]
        );
        // glibc knows no $OSNAME or $OSREL: they stay as written (and its $PLATFORM here has no
        // value, so a path naming it is dropped).
        let mut sys = glibc();
        sys.tokens.push((b"PLATFORM", None));
        let found = candidates_in(&sys, b"l.so", &req, &[]);
        assert_eq!(dirs(found)[0], "/o/a");
        let req = Requester {
            rpath: Some(b"/x/$OSNAME/${OSREL}/$LIB".to_vec()),
            ..req
        };
        let found = candidates_in(&sys, b"l.so", &req, &[]);
        assert_eq!(dirs(found)[0], "/x/$OSNAME/${OSREL}/lib64");
    }

    #[test]
    fn a_token_is_a_whole_name_and_an_origin_without_a_file_drops_its_path() {
        let t: Tokens = vec![(b"LIB", Some(b"L".to_vec()))];
        let o = Some(Path::new("/o"));
        assert_eq!(
            expand(b"$LIBRARY/$LIB/${LIB}x", o, &t),
            Some("$LIBRARY/L/Lx".into())
        );
        assert_eq!(
            expand(b"$ORIGIN_X:$ORIGIN", o, &t),
            Some("$ORIGIN_X:/o".into())
        );
        assert_eq!(expand(b"${ORIGIN/a", o, &t), Some("${ORIGIN/a".into()));
        assert_eq!(expand(b"$ORIGIN/a", None, &t), None);
        assert_eq!(expand(b"a$", o, &t), Some("a$".into()));
        assert_eq!(expand(b"", o, &t), None);
    }

    #[test]
    fn a_renamed_library_is_searched_by_its_new_name_or_opened_at_its_new_path() {
        let mut sys = freebsd();
        sys.renamed = |who, name| match (who.and_then(Path::to_str), name) {
            (Some("/o/libr.so"), b"libfoo.so.1") => Some(b"libbar.so.2".to_vec()),
            (_, b"libz.so.6") => Some(b"$ORIGIN/../z/libz.so".to_vec()),
            _ => None,
        };
        let req = requester(None);
        let found = candidates_in(&sys, b"libfoo.so.1", &req, &[]);
        assert_eq!(found[0], PathBuf::from("/own/libbar.so.2"));
        assert!(
            found.iter().all(|p| p.ends_with("libbar.so.2")),
            "{found:?}"
        );
        let other = Requester {
            path: Some("/elsewhere/lib.so".into()),
            ..req.clone()
        };
        let found = candidates_in(&sys, b"libfoo.so.1", &other, &[]);
        assert!(
            found.iter().all(|p| p.ends_with("libfoo.so.1")),
            "{found:?}"
        );
        let found = candidates_in(&sys, b"libz.so.6", &req, &[]);
        assert_eq!(found, [PathBuf::from("/o/../z/libz.so")]);
    }

    #[test]
    fn an_object_marked_nodeflib_skips_the_default_directories_and_the_cache_s_answers_in_them() {
        let mut sys = glibc();
        sys.cached = |name| {
            let name = OsStr::from_bytes(name);
            vec![
                Path::new("/usr/lib").join(name),
                Path::new("/opt/l").join(name),
            ]
        };
        let req = Requester {
            nodeflib: true,
            ..requester(Some(b"/run"))
        };
        assert_eq!(
            dirs(candidates_in(&sys, b"libq.so", &req, &[])),
            ["/env", "/run", "/opt/l"]
        );
        let req = Requester {
            nodeflib: false,
            ..req
        };
        assert_eq!(
            dirs(candidates_in(&sys, b"libq.so", &req, &[])),
            ["/env", "/run", "/usr/lib", "/opt/l", "/usr/lib"]
        );
    }
}
