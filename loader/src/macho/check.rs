//! The dry run of a Mach-O image (`Loader::check`, `dynplug check`): what a load would refuse,
//! with nothing mapped or run. The image and its direct dependencies are parsed from their
//! files; every fixup is walked; each bind is looked up where a load would look (the host's
//! exports, the image's own trie, the dependency its ordinal names, for flat lookup the images
//! dynplug loaded) under the import policy.
//! A dependency's own imports are checked when it is checked itself.

use std::path::{Path, PathBuf};

use super::deps::{expand_rpaths, target, Target};
use super::fixups::{Bind, BindStream, FixupKind, LibOrdinal};
use super::load::c_name;
use super::MachO;
use crate::error::LoadError;
use crate::link::Options;

/// A dependency as the dry run finds it.
enum Found {
    /// A macOS system library: the host's exports stand for it.
    System,
    /// Its file's bytes, mapped (parsed when a bind asks), and its path.
    File(crate::file::FileBytes, PathBuf),
    /// Not found (a weak dependency's symbols are then 0).
    Missing,
}

/// Every problem a load of the image `bytes` (from the file at `path`, if any) under `opts`
/// would meet; `Err` if the image is refused outright (not one dynplug loads, malformed).
pub fn check(
    bytes: &[u8],
    path: Option<&Path>,
    opts: &Options,
) -> Result<Vec<LoadError>, LoadError> {
    let image = MachO::parse(bytes)?;
    let dir = path.and_then(Path::parent);
    let rpaths = expand_rpaths(&image.rpaths, dir);
    let mut problems = Vec::new();
    let deps: Vec<Found> = (image.dylibs.iter())
        .map(|d| match target(&d.name, dir, &rpaths) {
            Target::System => Found::System,
            Target::Candidates(paths) => find(&paths).unwrap_or_else(|| {
                if d.kind != super::DylibKind::Weak {
                    problems.push(LoadError::MissingDependency {
                        library: d.name.clone(),
                        needed_by: path.map_or_else(|| PathBuf::from("<bytes>"), Path::to_path_buf),
                        searched: paths,
                    });
                }
                Found::Missing
            }),
        })
        .collect();
    let (mut missing, mut forbidden) = (Vec::new(), Vec::new());
    for f in image.fixups() {
        let b = match f {
            Ok(f) => match f.kind {
                FixupKind::Bind(b) => b,
                FixupKind::Rebase { .. } => continue,
            },
            Err(e) => {
                problems.push(e.into());
                break;
            }
        };
        let list = match verdict(&image, &deps, opts, &b) {
            Verdict::Bound => continue,
            Verdict::Missing => &mut missing,
            Verdict::Forbidden => &mut forbidden,
        };
        let name = c_name(b.name).to_string();
        if !list.contains(&name) {
            list.push(name);
        }
    }
    if !forbidden.is_empty() {
        problems.push(LoadError::ImportsNotAllowed(forbidden));
    }
    if !missing.is_empty() {
        problems.push(LoadError::UndefinedSymbols(missing));
    }
    Ok(problems)
}

/// The first of `paths` that is a regular file, mapped (read as a load reads it).
fn find(paths: &[PathBuf]) -> Option<Found> {
    let p = paths
        .iter()
        .find_map(|p| crate::file::regular_canonical(p))?;
    let file = crate::file::open_regular(&p).ok()?;
    let bytes = crate::file::FileBytes::new(&file).ok()?;
    Some(Found::File(bytes, p))
}

/// True if the library `bytes` (at `path`) exports `name`, itself or through the libraries it
/// re-exports (`depth` levels), as a load's lookup finds it.
fn defines(bytes: &[u8], path: &Path, name: &str, opts: &Options, depth: u8) -> bool {
    let Ok(lib) = MachO::parse(bytes) else {
        return false;
    };
    if lib.export(name).ok().flatten().is_some() {
        return true;
    }
    let Some(depth) = depth.checked_sub(1) else {
        return false;
    };
    let dir = path.parent();
    let rpaths = expand_rpaths(&lib.rpaths, dir);
    let reexports = lib
        .dylibs
        .iter()
        .filter(|d| d.kind == super::DylibKind::Reexport);
    reexports
        .into_iter()
        .any(|d| match target(&d.name, dir, &rpaths) {
            Target::System => opts.exports.contains_key(c_name(name).as_bytes()),
            Target::Candidates(paths) => match find(&paths) {
                Some(Found::File(b, p)) => defines(b.as_ref(), &p, name, opts, depth),
                _ => false,
            },
        })
}

/// What a load would make of one bind.
enum Verdict {
    Bound,
    Missing,
    Forbidden,
}

/// The load's rules (`bind.rs`, `answer`) without an image in memory: whether `b` finds a
/// definition, is missing, or is forbidden.
fn verdict(image: &MachO<'_>, deps: &[Found], opts: &Options, b: &Bind<'_>) -> Verdict {
    let name = c_name(b.name).as_bytes();
    let exported = opts.exports.contains_key(name);
    // dyld's own functions (served by dynplug) and weak-definition binds always bind.
    if matches!(b.name, "dyld_stub_binder" | "__tlv_bootstrap") || b.stream == BindStream::Weak {
        return Verdict::Bound;
    }
    let own = || image.export(b.name).ok().flatten().is_some();
    if b.ordinal != LibOrdinal::Self_ && !exported && !opts.policy.allows(name) {
        let coalesced = b.ordinal == LibOrdinal::WeakLookup && own();
        return if coalesced || b.weak_import {
            Verdict::Bound
        } else {
            Verdict::Forbidden
        };
    }
    let found = match b.ordinal {
        LibOrdinal::Self_ => own(),
        LibOrdinal::MainExecutable => exported,
        LibOrdinal::FlatLookup => exported || own() || loaded_export(b.name, opts),
        LibOrdinal::WeakLookup => exported || own(),
        LibOrdinal::Dylib(i) => match deps.get(i) {
            Some(Found::System) => exported,
            Some(Found::File(bytes, path)) => defines(
                bytes.as_ref(),
                path,
                b.name,
                opts,
                super::bind::REEXPORT_DEPTH,
            ),
            Some(Found::Missing) | None => false,
        },
    };
    if found || b.weak_import {
        Verdict::Bound
    } else {
        Verdict::Missing
    }
}

/// True if a Mach-O image dynplug loaded exports `name` (flat lookup finds it there).
fn loaded_export(name: &str, opts: &Options) -> bool {
    let images = super::registry::lock();
    images.iter().any(|i| {
        i.export_addr(name, Some(opts), false, super::bind::REEXPORT_DEPTH)
            .ok()
            .flatten()
            .is_some()
    })
}
