//! Applying an image's fixups: a rebase is the machine's RELATIVE formula (B + A), a bind its
//! 64-bit absolute one (S + A), both through the generic relocation path (`relocate::formula`).
//! Where a bind's symbol comes from follows its library ordinal; the import policy applies as
//! to ELF imports. Later fixups of a word overwrite earlier ones (dyld's order: rebases, binds,
//! lazy binds, weak binds).

use std::collections::HashMap;
use std::sync::Arc;

use dynplug_arch::{RelocKind, Width};

use super::fixups::{Bind, BindStream, FixupKind, LibOrdinal};
use super::load::{c_name, host_export, Dep, Image};
use crate::error::LoadError;
use crate::link::Options;
use crate::relocate::{formula, Live, Rela};
use crate::resolve::Def;

/// Re-exports followed when a bind looks a symbol up in a library.
pub(super) const REEXPORT_DEPTH: u8 = 8;

/// The imports no image of a load could bind, gathered over all of them.
#[derive(Debug, Default)]
pub(super) struct Imports {
    missing: Vec<String>,
    forbidden: Vec<String>,
}

impl Imports {
    fn add(list: &mut Vec<String>, name: String) {
        if !list.contains(&name) {
            list.push(name);
        }
    }

    /// The load's error, if any import was refused or missing (every one named).
    pub(super) fn finish(self) -> Result<(), LoadError> {
        if !self.forbidden.is_empty() {
            return Err(LoadError::ImportsNotAllowed(self.forbidden));
        }
        if !self.missing.is_empty() {
            return Err(LoadError::UndefinedSymbols(self.missing));
        }
        Ok(())
    }
}

/// What a bind's symbol is.
enum Answer {
    /// An address (0 for a missing weak import).
    At(u64),
    /// Nothing defines it.
    Missing,
    /// The policy forbids it.
    Forbidden,
    /// A weak-definition bind found no other definition: the word keeps its rebased value.
    Keep,
}

/// Applies the fixups of `image` (mapped, its dependencies loaded); `others` are the images of
/// the process and the load (for weak definitions); `dependency`: named in import errors.
pub(super) fn apply(
    image: &Image,
    opts: &Options,
    others: &[Arc<Image>],
    dependency: bool,
    imports: &mut Imports,
) -> Result<(), LoadError> {
    let base = image.macho().base();
    let mut mem = Live { bias: image.bias };
    let mut binder = Binder {
        image,
        opts,
        others,
        dependency,
        imports,
        cache: HashMap::new(),
    };
    for f in image.macho().fixups() {
        let f = f?;
        let (kind, addr, addend) = match f.kind {
            FixupKind::Rebase { target } => (RelocKind::Relative, 0, base.wrapping_add(target)),
            FixupKind::Bind(b) => {
                let Some(addr) = binder.bound(&b)? else {
                    continue;
                };
                // A missing weak import is 0, without its addend.
                let addend = if addr == 0 { 0 } else { b.addend as u64 };
                (RelocKind::Absolute(Width::W64), addr, addend)
            }
        };
        let r = Rela {
            offset: base.wrapping_add(f.offset),
            r_type: 0,
            sym: 0,
            addend: addend as i64,
        };
        let def = Def {
            addr,
            ..Def::default()
        };
        if let Some(e) = formula(image.machine_of(), image.bias, r, kind, def, &mut mem) {
            return Err(e);
        }
    }
    Ok(())
}

/// Binds one image's symbols, each (ordinal, stream, name) resolved once.
struct Binder<'i, 'a> {
    image: &'i Image,
    opts: &'i Options,
    others: &'i [Arc<Image>],
    dependency: bool,
    imports: &'i mut Imports,
    cache: HashMap<(LibOrdinal, BindStream, &'a str), Option<u64>>,
}

impl<'a> Binder<'_, 'a> {
    /// The address `b` binds to; `None`: nothing to write (missing, forbidden: recorded; a weak
    /// definition kept).
    fn bound(&mut self, b: &Bind<'a>) -> Result<Option<u64>, LoadError> {
        let key = (b.ordinal, b.stream, b.name);
        if let Some(&a) = self.cache.get(&key) {
            return Ok(a);
        }
        let a = match answer(self.image, self.opts, self.others, b)? {
            Answer::At(a) => Some(a),
            Answer::Keep => None,
            Answer::Missing => {
                let name = named(self.image, b, self.dependency);
                Imports::add(&mut self.imports.missing, name);
                None
            }
            Answer::Forbidden => {
                let name = named(self.image, b, self.dependency);
                Imports::add(&mut self.imports.forbidden, name);
                None
            }
        };
        self.cache.insert(key, a);
        Ok(a)
    }
}

/// The import's name in errors: its C name, and the library's path for a dependency.
fn named(image: &Image, b: &Bind<'_>, dependency: bool) -> String {
    let name = c_name(b.name);
    match (&image.path, dependency) {
        (Some(p), true) => format!("{name} (in {})", p.display()),
        (None, true) => format!("{name} (in <bytes>)"),
        (_, false) => name.to_string(),
    }
}

/// Where the bind `b` of `image` points.
fn answer(
    image: &Image,
    opts: &Options,
    others: &[Arc<Image>],
    b: &Bind<'_>,
) -> Result<Answer, LoadError> {
    let name = c_name(b.name).as_bytes();
    if let Some(a) = served(b.name).filter(|_| !opts.exports.contains_key(name)) {
        return Ok(Answer::At(a));
    }
    if b.stream == BindStream::Weak {
        // A weak definition: another image's strong one (or the host's) overrides it.
        if !opts.exports.contains_key(name) && !opts.policy.allows(name) {
            return Ok(Answer::Keep);
        }
        return Ok(elsewhere(image, opts, others, b.name)?.map_or(Answer::Keep, Answer::At));
    }
    let allowed = opts.exports.contains_key(name) || opts.policy.allows(name);
    if b.ordinal != LibOrdinal::Self_ && !allowed {
        // A definition of the image's own (a weak one, coalesced) is no import: it binds there.
        if b.ordinal == LibOrdinal::WeakLookup {
            if let Some(a) = image.export_addr(b.name, Some(opts), false, REEXPORT_DEPTH)? {
                return Ok(Answer::At(a));
            }
        }
        return Ok(if b.weak_import {
            Answer::At(0)
        } else {
            Answer::Forbidden
        });
    }
    let found = match b.ordinal {
        LibOrdinal::Self_ => image.export_addr(b.name, Some(opts), false, REEXPORT_DEPTH)?,
        LibOrdinal::MainExecutable => host_export(opts, b.name),
        LibOrdinal::FlatLookup => flat(image, opts, others, b.name)?,
        LibOrdinal::WeakLookup => match elsewhere(image, opts, others, b.name)? {
            Some(a) => Some(a),
            None => image.export_addr(b.name, Some(opts), false, REEXPORT_DEPTH)?,
        },
        LibOrdinal::Dylib(i) => match image.deps.get().and_then(|d| d.get(i)) {
            Some(Dep::Image(d)) => d.export_addr(b.name, Some(opts), false, REEXPORT_DEPTH)?,
            Some(Dep::System) => host_export(opts, b.name),
            Some(Dep::Missing) | None => None,
        },
    };
    Ok(match found {
        Some(a) => Answer::At(a),
        None if b.weak_import => Answer::At(0),
        None => Answer::Missing,
    })
}

/// The imports `policy` forbids of `root` and the images it needs, directly or not, but those
/// in `checked` (whose binds were just checked): an image loaded earlier under a more
/// permissive policy is held to a later one, as ELF modules are (`resolve::breaches`).
pub(super) fn breaches(root: &Arc<Image>, opts: &Options, checked: &[Arc<Image>]) -> Vec<String> {
    let mut out = Vec::new();
    if matches!(opts.policy, crate::resolve::Policy::Any) {
        return out;
    }
    let mut seen: Vec<*const Image> = checked.iter().map(Arc::as_ptr).collect();
    let mut todo = vec![root.clone()];
    while let Some(image) = todo.pop() {
        if seen.contains(&Arc::as_ptr(&image)) {
            continue;
        }
        seen.push(Arc::as_ptr(&image));
        let dependency = !Arc::ptr_eq(&image, root);
        for f in image.macho().fixups().map_while(Result::ok) {
            let FixupKind::Bind(b) = f.kind else { continue };
            let name = c_name(b.name).as_bytes();
            let own = || matches!(image.macho().export(b.name), Ok(Some(_)));
            let refused = b.ordinal != LibOrdinal::Self_
                && b.stream != BindStream::Weak
                && !b.weak_import
                && served(b.name).is_none()
                && !opts.exports.contains_key(name)
                && !opts.policy.allows(name)
                && !(b.ordinal == LibOrdinal::WeakLookup && own());
            if refused {
                Imports::add(&mut out, named(&image, &b, dependency));
            }
        }
        for d in image.deps.get().into_iter().flatten() {
            if let Dep::Image(i) = d {
                todo.push(i.clone());
            }
        }
    }
    out
}

/// dyld's own functions an image binds to, which dynplug serves (unless the host exports the
/// name): `dyld_stub_binder`, the lazy binder, is never called (every lazy pointer is bound at
/// load); `__tlv_bootstrap`, the thread-local variables' first getter, is replaced by dynplug's
/// in every descriptor once the fixups are applied (`tlv::setup`). They are the image's link to its loader, not imports the policy governs.
fn served(name: &str) -> Option<u64> {
    match name {
        "dyld_stub_binder" => Some(lazy_binder as *const () as usize as u64),
        "__tlv_bootstrap" => Some(tlv_getter as *const () as usize as u64),
        _ => None,
    }
}

/// `dyld_stub_binder`: unreachable, every lazy pointer points at its symbol already.
extern "C" fn lazy_binder() {
    unsupported("a lazy binding was left unbound (dyld_stub_binder)")
}

/// `__tlv_bootstrap`: unreachable, every descriptor's thunk is dynplug's getter.
extern "C" fn tlv_getter() {
    unsupported("a thread-local descriptor was left unset (__tlv_bootstrap)")
}

/// Ends the process: Mach-O code reached a part of dyld dynplug does not provide.
fn unsupported(what: &str) -> ! {
    eprintln!("dynplug: {what}");
    std::process::abort()
}

/// dyld's flat lookup of `name` for `image`: the host's export (the main executable's), else
/// the first image loaded (this one included) that exports it, in load order.
fn flat(
    image: &Image,
    opts: &Options,
    others: &[Arc<Image>],
    name: &str,
) -> Result<Option<u64>, LoadError> {
    if let Some(a) = first_definition(opts, others.iter(), name, false)? {
        return Ok(Some(a));
    }
    // `others` holds the images of the process and of this load; `image` is one of them, but
    // a lookup made before it is listed still finds its own definition.
    image.export_addr(name, Some(opts), false, REEXPORT_DEPTH)
}

/// A definition of `name` outside `image`: the host's export, else another image's strong one.
fn elsewhere(
    image: &Image,
    opts: &Options,
    others: &[Arc<Image>],
    name: &str,
) -> Result<Option<u64>, LoadError> {
    let outside = others.iter().filter(|o| !std::ptr::eq(&***o, image));
    first_definition(opts, outside, name, true)
}

/// The host's export of `name`, else the first of `images` that exports it (`strong`: weak
/// definitions do not count).
fn first_definition<'i>(
    opts: &Options,
    images: impl Iterator<Item = &'i Arc<Image>>,
    name: &str,
    strong: bool,
) -> Result<Option<u64>, LoadError> {
    if let Some(a) = host_export(opts, name) {
        return Ok(Some(a));
    }
    for o in images {
        if let Some(a) = o.export_addr(name, Some(opts), strong, REEXPORT_DEPTH)? {
            return Ok(Some(a));
        }
    }
    Ok(None)
}
