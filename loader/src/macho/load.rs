//! Loading a Mach-O image on this system: its segments mapped with the generic mapping, its
//! dependencies loaded the same way (once per process), its fixups applied through the
//! architecture's formulas, its `SG_READ_ONLY` segments then made read-only. Initialisers run
//! when the caller asks ([`Loaded::run_initialisers`]), dependencies' first.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use dynplug_arch::Machine;

use super::deps::{self, Target};
use super::{Arch, DylibKind, ExportKind, MachO, MachOError, MalformedMachO, UnsupportedMachO};
use crate::error::LoadError;
use crate::link::Options;
use crate::map::Mapping;
/// Where the segments' bytes come from (the loader's mapping's source, named here for callers).
pub use crate::map::Source;
use crate::segments::{self, Segment, Segments};

/// What one dependency (an `LC_LOAD_DYLIB` and its kin) is to a loaded image.
#[derive(Debug)]
pub(super) enum Dep {
    /// A Mach-O image dynplug loaded.
    Image(Arc<Image>),
    /// A macOS system library: its symbols are the host's exports.
    System,
    /// A weak dependency that was not found: its symbols are missing.
    Missing,
}

/// One loaded image (shared by every plugin that needs it).
#[derive(Debug)]
pub(crate) struct Image {
    /// The parsed file, borrowing `bytes` (declared first: dropped before them).
    macho: MachO<'static>,
    /// The path it was loaded from, as found (its directory is `@loader_path`).
    pub(super) path: Option<PathBuf>,
    /// Its canonical path: the key that makes a library loaded once.
    key: Option<PathBuf>,
    /// Run-time address minus link-time address.
    pub(super) bias: u64,
    /// Run-time `[start, end)` of the mapping.
    span: (u64, u64),
    /// The machine.
    machine: Machine,
    /// The expanded `LC_RPATH`s of its loading chain, its own first (for its dependencies).
    rpaths: Vec<PathBuf>,
    /// Its dependencies, in ordinal order (set once every one is loaded: cycles end).
    pub(super) deps: OnceLock<Vec<Dep>>,
    /// Its fixups are applied (a resolver it exports may be called).
    pub(super) fixed: AtomicBool,
    /// Its initialisers, run-time addresses in calling order (set after its fixups).
    inits: OnceLock<Vec<u64>>,
    /// Its initialisers (and its dependencies') were started.
    started: AtomicBool,
    /// The file's bytes, which `macho` borrows: a mapping or a heap copy, whose address stays
    /// when the `Image` moves.
    _bytes: Kept,
}

/// The file's bytes an image keeps.
#[derive(Debug)]
enum Kept {
    /// The file, mapped read-only.
    File(crate::file::FileBytes),
    /// A copy of bytes from memory.
    Copy(Box<[u8]>),
}

impl Kept {
    fn bytes(&self) -> &[u8] {
        match self {
            Kept::File(f) => f.as_ref(),
            Kept::Copy(b) => b,
        }
    }
}

impl Image {
    /// The parsed file.
    pub(super) fn macho(&self) -> &MachO<'_> {
        &self.macho
    }

    /// The run-time address of the image's base (its first segment).
    pub(super) fn load_addr(&self) -> u64 {
        self.bias.wrapping_add(self.macho.base())
    }

    /// `name` in the libraries this image re-exports (`LC_REEXPORT_DYLIB`), in order, as dyld
    /// searches them when the image's own trie lacks it (a re-exporting library's trie lists
    /// only its own symbols).
    fn reexported(
        &self,
        name: &str,
        host: Option<&Options>,
        strong: bool,
        depth: u8,
    ) -> Result<Option<u64>, LoadError> {
        let Some(depth) = depth.checked_sub(1) else {
            return Ok(None);
        };
        let deps = self.deps.get();
        for (i, d) in self.macho.dylibs.iter().enumerate() {
            if d.kind != DylibKind::Reexport {
                continue;
            }
            let found = match deps.and_then(|x| x.get(i)) {
                Some(Dep::Image(img)) => img.export_addr(name, host, strong, depth)?,
                Some(Dep::System) => host.and_then(|o| host_export(o, name)),
                Some(Dep::Missing) | None => None,
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The run-time address of the export `name` (`_F`): `Ok(None)` if the image has none
    /// that can be called or read here. `host` serves re-exports of system libraries;
    /// `strong`: weak definitions do not count.
    pub(super) fn export_addr(
        &self,
        name: &str,
        host: Option<&Options>,
        strong: bool,
        depth: u8,
    ) -> Result<Option<u64>, LoadError> {
        let Some(e) = self.macho.export(name)? else {
            return self.reexported(name, host, strong, depth);
        };
        if strong && e.weak {
            return Ok(None);
        }
        let at = |off: u64| self.load_addr().wrapping_add(off);
        Ok(match e.kind {
            ExportKind::Regular { offset } => Some(at(offset)),
            ExportKind::Absolute { value } => Some(value),
            ExportKind::StubAndResolver { stub, resolver } => {
                if self.fixed.load(Ordering::Acquire) {
                    // SAFETY: the resolver lies inside the image's span (checked by the trie's
                    // reader) and the image is fixed up; dyld calls it with no argument and
                    // takes the address it returns.
                    let f: extern "C" fn() -> usize =
                        unsafe { std::mem::transmute::<usize, _>(at(resolver) as usize) };
                    Some(f() as u64)
                } else {
                    // Bound while the image is not yet fixed up (a cycle): its own stub.
                    Some(at(stub))
                }
            }
            ExportKind::ThreadLocal { offset } => {
                let in_vars = self.macho.sections.iter().any(|s| {
                    s.kind == super::SectionKind::ThreadVars
                        && offset >= s.vmoffset
                        && (offset - s.vmoffset) % 24 == 0
                        && offset
                            .checked_add(24)
                            .is_some_and(|e| e <= s.vmoffset + s.size)
                });
                if in_vars && self.fixed.load(Ordering::Acquire) {
                    super::tlv::address(at(offset))
                } else {
                    None
                }
            }
            ExportKind::Reexport {
                library,
                name: other,
            } => {
                let Some(depth) = depth.checked_sub(1) else {
                    return Ok(None);
                };
                let name = other.unwrap_or(name);
                match self.deps.get().and_then(|d| d.get(library)) {
                    Some(Dep::Image(i)) => i.export_addr(name, host, strong, depth)?,
                    Some(Dep::System) => host.and_then(|o| host_export(o, name)),
                    Some(Dep::Missing) | None => None,
                }
            }
        })
    }

    /// The machine.
    pub(super) fn machine_of(&self) -> Machine {
        self.machine
    }

    /// True if the run-time address `addr` lies in one of the image's executable segments.
    fn in_code(&self, addr: u64) -> bool {
        let off = addr.wrapping_sub(self.load_addr());
        self.macho
            .segments
            .iter()
            .any(|s| s.initprot.exec && s.contains(off, 1))
    }
}

/// The host's export for the Mach-O symbol `name` (`_host_add` is `host_add`), else the
/// process's own definition where the system loads Mach-O (macOS: the first of dyld's images
/// that defines it, `os::macho_images`; Linux and FreeBSD have none).
pub(super) fn host_export(opts: &Options, name: &str) -> Option<u64> {
    (opts.exports.get(c_name(name).as_bytes()).copied()).or_else(|| {
        crate::os::macho_images()
            .into_iter()
            // SAFETY: the headers of images the system mapped, whose code may run.
            .find_map(|h| unsafe { super::in_memory::lookup(h, name) })
    })
}

/// The C name of a Mach-O symbol: one leading `_` removed.
pub(super) fn c_name(name: &str) -> &str {
    name.strip_prefix('_').unwrap_or(name)
}

/// A Mach-O image dynplug loaded: mapped, fixed up, protected; initialisers not yet run.
/// It stays loaded for the process's life; a clone is another handle to the same image.
#[derive(Clone, Debug)]
pub struct Loaded {
    image: Arc<Image>,
}

impl Loaded {
    /// Run-time address minus link-time `vmaddr`.
    pub fn bias(&self) -> u64 {
        self.image.bias
    }

    /// The machine.
    pub fn machine(&self) -> Machine {
        self.image.machine
    }

    /// Run-time `[start, end)` of the mapping.
    pub fn span(&self) -> (u64, u64) {
        self.image.span
    }

    /// `LC_ID_DYLIB`'s install name (dylibs only).
    pub fn install_name(&self) -> Option<&[u8]> {
        self.image.macho().id.as_deref().map(str::as_bytes)
    }

    /// The canonical path it was loaded from (`None`: from bytes).
    pub fn path(&self) -> Option<&Path> {
        self.image.key.as_deref()
    }

    /// `lookup("F")` finds the C symbol `_F` through the export trie: a regular or weak
    /// definition (its run-time address), an absolute one (its value, not slid), a stub with a
    /// resolver (the resolver's answer, called on each lookup), a thread-local variable (the
    /// calling thread's copy, as `dlsym` answers on macOS). A symbol of a library the image
    /// re-exports (`LC_REEXPORT_DYLIB`) is found there, as dyld's `dlsym` on the image's handle
    /// finds it; `None` when that library is a system one (`/usr/lib`: the host's, not the
    /// plugin's), and for a thread-local variable where dynplug has no getter (riscv64).
    pub fn lookup(&self, name: &str) -> Option<u64> {
        let mangled = format!("_{name}");
        (self.image)
            .export_addr(&mangled, None, false, super::bind::REEXPORT_DEPTH)
            .ok()?
    }

    /// Runs the initialisers once, in order: `LC_ROUTINES_64`'s, then the entries of
    /// `__mod_init_func` / `__init_offsets` sections in load-command order, each called as dyld
    /// calls them, `(argc, argv, envp, apple)` (`apple` empty). The dependencies' run first,
    /// each image's once in the process (a cycle runs the image reached first last).
    ///
    /// Only the first call of the process runs them: another returns once they have run (at
    /// once on the thread running them, or where waiting would close a cycle of waiting
    /// threads), as for ELF libraries (`initialised.rs`).
    ///
    /// # Safety
    /// Runs the image's code: the image must be one the process trusts.
    pub unsafe fn run_initialisers(&self) {
        // SAFETY: forwarded from the caller.
        unsafe { run(&self.image) };
    }

    /// The imports `opts`' policy forbids of this image and of the images it needs: an image
    /// loaded earlier under more permissive options is held to the policy of a later open.
    pub fn breaches(&self, opts: &Options) -> Vec<String> {
        super::bind::breaches(&self.image, opts, &[])
    }
}

/// The empty `apple` vector dyld passes (its strings describe the executable on macOS).
struct Apple([*const std::ffi::c_char; 1]);
// SAFETY: one null pointer, never written.
unsafe impl Sync for Apple {}
static APPLE: Apple = Apple([std::ptr::null()]);

/// Runs the initialisers of `image`'s dependencies, then its own, once.
///
/// # Safety
/// As [`Loaded::run_initialisers`].
unsafe fn run(image: &Arc<Image>) {
    if image.started.swap(true, Ordering::AcqRel) {
        // Another thread may still be running them: wait, as for an ELF library (not for
        // this thread's own, nor around a cycle of waiting threads).
        crate::initialised::wait(image.bias);
        return;
    }
    for d in image.deps.get().into_iter().flatten() {
        if let Dep::Image(i) = d {
            // SAFETY: forwarded.
            unsafe { run(i) };
        }
    }
    let (argc, argv, envp) = crate::init::args();
    type Init = extern "C" fn(
        libc::c_int,
        *mut *const std::ffi::c_char,
        *mut *const std::ffi::c_char,
        *const *const std::ffi::c_char,
    );
    for &f in image.inits.get().into_iter().flatten() {
        // SAFETY: checked at load to lie in the image's executable code, which is mapped and
        // fixed up; dyld's initialisers take these four arguments.
        let f: Init = unsafe { std::mem::transmute::<usize, Init>(f as usize) };
        f(argc, argv, envp, APPLE.0.as_ptr());
    }
    crate::initialised::finished(image.bias);
}

/// Loads the image whose whole file is `bytes`, mapping its segments from `source` (the same
/// file's descriptor, or `Source::Bytes(bytes)`), `path` its path if from a file (for
/// `@loader_path`, and the key that makes it loaded once), with the host's exports and policy
/// from `opts`. Dependencies are loaded from their files the same way; an image the process
/// has from an earlier load is that one.
pub fn load(
    bytes: &[u8],
    source: Source<'_>,
    path: Option<&Path>,
    opts: &Options,
) -> Result<Loaded, LoadError> {
    let mut registry = super::registry::lock();
    let key = path.and_then(crate::file::regular_canonical);
    if let Some(image) = find(&registry, &[], key.as_deref()) {
        return held_to(image, opts, &[]);
    }
    let mut load = Load {
        opts,
        loaded: &registry,
        new: Vec::new(),
        order: Vec::new(),
        mappings: Vec::new(),
    };
    // Refused before its bytes are kept (mapped again or copied).
    MachO::parse(bytes)?;
    let image = load.open(
        keep(bytes, source),
        source,
        path.map(Path::to_path_buf),
        key,
        &[],
    )?;
    load.link()?;
    let Load { new, mappings, .. } = load;
    for m in mappings {
        m.leak();
    }
    // Their initialisers are this thread's to run: another thread needing one waits for them.
    for i in &new {
        crate::initialised::starting(i.bias);
    }
    registry.extend(new.iter().cloned());
    held_to(image, opts, &new)
}

/// `image`, if neither it nor an image it needs imports what `opts`' policy forbids (those in
/// `checked` were bound under it already).
fn held_to(image: Arc<Image>, opts: &Options, checked: &[Arc<Image>]) -> Result<Loaded, LoadError> {
    let refused = super::bind::breaches(&image, opts, checked);
    if refused.is_empty() {
        Ok(Loaded { image })
    } else {
        Err(LoadError::ImportsNotAllowed(refused))
    }
}

/// The image with canonical path `key`, among those loaded and those of this load.
fn find(loaded: &[Arc<Image>], new: &[Arc<Image>], key: Option<&Path>) -> Option<Arc<Image>> {
    let key = key?;
    loaded
        .iter()
        .chain(new)
        .find(|i| i.key.as_deref() == Some(key))
        .cloned()
}

/// The file's bytes for the image to keep: a new read-only mapping of the file (the page
/// cache's pages, no copy), or a copy of bytes from memory.
fn keep(bytes: &[u8], source: Source<'_>) -> Kept {
    if let Source::File(fd) = source {
        // SAFETY: a private read-only mapping of the file the caller read `bytes` from; a file
        // truncated meanwhile faults, as every loader that maps files.
        if let Ok(m) = unsafe { memmap2::Mmap::map(&fd) } {
            if m.len() == bytes.len() {
                return Kept::File(crate::file::FileBytes::Mapped(m));
            }
        }
    }
    Kept::Copy(bytes.into())
}

/// One load: the images it maps, in the order found and in fixup order (dependencies first).
struct Load<'o, 'r> {
    opts: &'o Options,
    loaded: &'r [Arc<Image>],
    new: Vec<Arc<Image>>,
    order: Vec<Arc<Image>>,
    mappings: Vec<Mapping>,
}

impl Load<'_, '_> {
    /// Parses and maps one image and loads its dependencies (not yet fixed up).
    fn open(
        &mut self,
        kept: Kept,
        source: Source<'_>,
        path: Option<PathBuf>,
        key: Option<PathBuf>,
        chain: &[PathBuf],
    ) -> Result<Arc<Image>, LoadError> {
        // SAFETY: the bytes live in `kept`'s mapping or heap block, which the image owns and
        // which does not move with it; `macho` is dropped first (declared first) and lent out
        // only for borrows of the image (`Image::macho`).
        let bytes: &'static [u8] = unsafe { std::mem::transmute::<&[u8], _>(kept.bytes()) };
        let macho = MachO::parse(bytes)?;
        let machine = machine(&macho)?;
        let page = crate::os::page_size();
        let list = segment_list(&macho, page)?;
        let layout = layout(&list, page)?;
        if let (Source::File(fd), Some(sig)) = (source, macho.code_signature) {
            // Where the system checks code pages against their signature (macOS), it must
            // know the signature before they are mapped executable, as dyld registers it.
            crate::os::register_code_signature(fd, sig.offset, sig.size).map_err(LoadError::Map)?;
        }
        let mapping = Mapping::new(&layout, source).map_err(LoadError::Map)?;
        let bias = mapping.bias;
        let span = (mapping.addr(layout.span_lo), mapping.addr(layout.span_hi));
        self.mappings.push(mapping);
        let dir = path.as_deref().and_then(Path::parent);
        let mut rpaths = deps::expand_rpaths(&macho.rpaths, dir);
        rpaths.extend_from_slice(chain);
        let image = Arc::new(Image {
            macho,
            path,
            key,
            bias,
            span,
            machine,
            rpaths,
            deps: OnceLock::new(),
            fixed: AtomicBool::new(false),
            inits: OnceLock::new(),
            started: AtomicBool::new(false),
            _bytes: kept,
        });
        self.new.push(image.clone());
        let deps = self.dependencies(&image)?;
        // Set once, here: nothing else sets it.
        let _ = image.deps.set(deps);
        self.order.push(image.clone());
        Ok(image)
    }

    /// Loads `image`'s dependencies, in ordinal order.
    fn dependencies(&mut self, image: &Image) -> Result<Vec<Dep>, LoadError> {
        let dir = image.path.as_deref().and_then(Path::parent);
        let mut out = Vec::with_capacity(image.macho().dylibs.len());
        for d in &image.macho().dylibs {
            let candidates = match deps::target(&d.name, dir, &image.rpaths) {
                Target::System => {
                    out.push(Dep::System);
                    continue;
                }
                Target::Candidates(c) => c,
            };
            let found = candidates.iter().find_map(|c| {
                let key = crate::file::regular_canonical(c)?;
                Some((c.clone(), key))
            });
            match found {
                Some((p, key)) => out.push(Dep::Image(self.open_file(p, key, &image.rpaths)?)),
                None if d.kind == DylibKind::Weak => out.push(Dep::Missing),
                None => {
                    return Err(LoadError::MissingDependency {
                        library: d.name.clone(),
                        needed_by: image.path.clone().unwrap_or_else(|| "<bytes>".into()),
                        searched: candidates,
                    })
                }
            }
        }
        Ok(out)
    }

    /// The dependency at `path` (canonically `key`): the copy the process or this load has,
    /// or the file loaded.
    fn open_file(
        &mut self,
        path: PathBuf,
        key: PathBuf,
        chain: &[PathBuf],
    ) -> Result<Arc<Image>, LoadError> {
        if let Some(i) = find(self.loaded, &self.new, Some(&key)) {
            return Ok(i);
        }
        let file = crate::file::open_regular(&key)?;
        let bytes = crate::file::FileBytes::new(&file)?;
        use std::os::fd::AsFd;
        let source = Source::File(file.as_fd());
        self.open(Kept::File(bytes), source, Some(path), Some(key), chain)
    }

    /// Fixes up every image of the load, dependencies first, then protects them; every
    /// missing import of every image in one error.
    fn link(&mut self) -> Result<(), LoadError> {
        let mut imports = super::bind::Imports::default();
        let others: Vec<Arc<Image>> = self.loaded.iter().chain(&self.new).cloned().collect();
        for image in &self.order {
            let dependency = !Arc::ptr_eq(image, self.order.last().unwrap_or(image));
            super::bind::apply(image, self.opts, &others, dependency, &mut imports)?;
            super::tlv::setup(image, &mut crate::relocate::Live { bias: image.bias })?;
            image.fixed.store(true, Ordering::Release);
        }
        imports.finish()?;
        // `mappings` and `new` are in step: each image's mapping was pushed just before it.
        for (image, mapping) in self.new.iter().zip(&self.mappings) {
            let inits = initialisers(image)?;
            let _ = image.inits.set(inits);
            protect(image, mapping)?;
        }
        Ok(())
    }
}

/// The machine of `macho`, which must be this process's.
fn machine(macho: &MachO<'_>) -> Result<Machine, LoadError> {
    let (m, name) = match macho.header.arch {
        Arch::X86_64 => (Machine::X86_64, "x86_64"),
        Arch::Arm64 => (Machine::Aarch64, "arm64"),
    };
    match Machine::host() {
        Some(h) if h == m => Ok(m),
        h => Err(LoadError::WrongArchitecture {
            found: format!("Mach-O {name}"),
            expected: h.map_or("an unknown machine", Machine::name).to_string(),
        }),
    }
}

/// The image's segments as the mapping takes them (empty ones left out), checked to be
/// mappable with pages of `page` bytes: offsets congruent, no page shared by two segments.
fn segment_list(macho: &MachO<'_>, page: u64) -> Result<Vec<Segment>, LoadError> {
    let mut out: Vec<Segment> = Vec::new();
    let mut page_end = 0;
    for s in macho.segments.iter().filter(|s| s.vmsize > 0) {
        let shares = !out.is_empty() && s.vmaddr & !(page - 1) < page_end;
        if shares || (s.filesize > 0 && s.fileoff % page != s.vmaddr % page) {
            let e = UnsupportedMachO::PageSize {
                name: s.name.clone(),
                page,
            };
            return Err(MachOError::from(e).into());
        }
        let prot = [
            (s.initprot.read, segments::READ),
            (s.initprot.write, segments::WRITE),
            (s.initprot.exec, segments::EXEC),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |p, (_, bit)| p | bit);
        out.push(Segment {
            vaddr: s.vmaddr,
            memsz: s.vmsize,
            offset: s.fileoff,
            filesz: s.filesize,
            prot,
        });
        page_end = s.vmaddr.saturating_add(s.vmsize).saturating_add(page - 1) & !(page - 1);
    }
    Ok(out)
}

/// The span of `list` (checked by the reader to be within `MAX_SPAN`).
fn layout(list: &[Segment], page: u64) -> Result<Segments<'_>, LoadError> {
    let (Some(first), Some(last)) = (list.first(), list.last()) else {
        let e = MalformedMachO::Missing { what: "segments" };
        return Err(MachOError::from(e).into());
    };
    Ok(Segments {
        list,
        span_lo: first.vaddr & !(page - 1),
        span_hi: last.end().saturating_add(page - 1) & !(page - 1),
        align: page,
        page,
    })
}

/// Makes the `SG_READ_ONLY` segments read-only now their fixups are applied.
fn protect(image: &Image, m: &Mapping) -> Result<(), LoadError> {
    let page = crate::os::page_size();
    for s in image
        .macho
        .segments
        .iter()
        .filter(|s| s.read_only_after_fixups)
    {
        let lo = s.vmaddr & !(page - 1);
        let hi = s.vmaddr.saturating_add(s.vmsize).saturating_add(page - 1) & !(page - 1);
        m.protect_relro((lo, hi)).map_err(LoadError::Map)?;
    }
    Ok(())
}

/// The run-time addresses of the image's initialisers in calling order, each checked to lie in
/// its executable code (read after the fixups).
fn initialisers(image: &Image) -> Result<Vec<u64>, LoadError> {
    use super::SectionKind;
    let m = &image.macho();
    let base = image.load_addr();
    let mut out: Vec<u64> = m.routines.iter().map(|&o| base.wrapping_add(o)).collect();
    for s in &m.sections {
        let entries: Vec<u64> = match s.kind {
            SectionKind::InitPointers => (0..s.size / 8)
                .map(|i| {
                    let at = base.wrapping_add(s.vmoffset + i * 8) as *const u64;
                    // SAFETY: the section lies inside its segment (checked by the reader), which
                    // is mapped readable: the word is the fixed-up pointer.
                    unsafe { at.read_unaligned() }
                })
                .collect(),
            SectionKind::InitOffsets => (0..s.size / 4)
                .map(|i| {
                    let at = u64::from(s.fileoff) + i * 4;
                    let off = crate::read::u32_at(m.bytes, at).unwrap_or(u32::MAX);
                    base.wrapping_add(u64::from(off))
                })
                .collect(),
            _ => continue,
        };
        for f in entries {
            if !image.in_code(f) {
                let e = MalformedMachO::NotInCode {
                    what: "initialiser",
                    offset: f.wrapping_sub(base),
                };
                return Err(MachOError::from(e).into());
            }
            out.push(f);
        }
    }
    Ok(out)
}
