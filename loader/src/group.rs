//! Loading a plugin together with the libraries it needs that the process does not have yet.
//!
//! Libraries the system already loaded satisfy their DT_NEEDED entries; the C runtime is never
//! mapped twice. Others are found as glibc finds them, loaded once per process and shared by
//! every plugin that needs them.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use dynplug_arch::Machine;

use crate::diag::{Diag, Subject};
use crate::elf::records;
use crate::elf::view::View;
use crate::error::{LoadError, Unsupported};
use crate::file::FileBytes;
use crate::image::page_size;
use crate::link::{finalisers, initialisers, link, Mode, Options};
use crate::map::{Mapping, Source};
use crate::object::{symtab_in, Object};
use crate::process::{self, Module};
use crate::relocate::{apply_deferred, DryRun, Live};
use crate::search::{candidates, Requester};

use crate::os::{C_LIBRARY, C_RUNTIME};

/// A dependency dynplug loaded, for the rest of the process.
pub(crate) struct Shared {
    /// Device and inode of its file.
    id: Option<(u64, u64)>,
    /// Its record for the rest of the process (its module is not copied again here).
    entry: &'static crate::interpose::Entry,
}

impl Shared {
    /// Its module, named by its canonical path (empty for bytes in memory).
    pub(crate) fn module(&self) -> &Module<'static> {
        &self.entry.module
    }

    /// The canonical path it was loaded from (its module's name).
    pub(crate) fn path(&self) -> &Path {
        Path::new(std::ffi::OsStr::from_bytes(&self.module().name))
    }
}

/// Every library dynplug loaded (plugins from files too), with an index by path (checked at
/// every open: a list scan would grow with the number of plugins).
pub(crate) struct SharedList {
    list: Vec<Shared>,
    /// Keyed by the module's name (its path), shared with the module.
    by_path: Option<crate::FastMap<Arc<[u8]>, usize>>,
    by_id: Option<crate::FastMap<(u64, u64), usize>>,
}

/// Modules of plugins opened with `Options::global` (and their libraries), in the order they
/// joined the global scope. Its own lock: the `dlsym` served to plugins reads it, and may be
/// called while a load holds the list of shared libraries.
static JOINED: std::sync::RwLock<Vec<Module<'static>>> = std::sync::RwLock::new(Vec::new());

/// Takes the lock of the modules that joined the global scope, for a fork (taken under the
/// shared list's, and around no other).
fn lock_joined(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(JOINED.write().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_JOINED: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::Joined,
    take: lock_joined,
    in_child: None,
};

/// Makes `scope` (a plugin's local scope) join the global scope, after what joined before.
fn join(scope: &[Module<'static>]) {
    let mut joined = JOINED.write().unwrap_or_else(|p| p.into_inner());
    for m in scope {
        if !joined.iter().any(|g| g.base == m.base) {
            joined.push(m.clone());
        }
    }
}

/// Makes the module dynplug loaded at `base`, with its local scope, join the global scope (an
/// open with RTLD_GLOBAL of one open already local, as glibc promotes it). A module the system
/// loaded is left alone: it is the system's.
pub(crate) fn join_loaded(base: u64) {
    if let Some(local) = crate::interpose::local_scope_of(base) {
        join(&local[..]);
    }
}

/// The modules that joined the global scope (`Options::global`), in order.
pub(crate) fn joined() -> Vec<Module<'static>> {
    crate::fork::install();
    JOINED.read().unwrap_or_else(|p| p.into_inner()).clone()
}

impl SharedList {
    fn push(&mut self, s: Shared) {
        let i = self.list.len();
        self.by_path
            .get_or_insert_with(Default::default)
            .insert(s.module().name.clone(), i);
        if let Some(id) = s.id {
            self.by_id
                .get_or_insert_with(Default::default)
                .insert(id, i);
        }
        self.list.push(s);
    }

    /// The library loaded from the file with device and inode `id` (a hard link to it too).
    fn with_id(&self, id: (u64, u64)) -> Option<usize> {
        self.by_id.as_ref()?.get(&id).copied()
    }

    /// The library loaded from `path` (canonical).
    fn at_path(&self, path: &Path) -> Option<usize> {
        self.by_path
            .as_ref()?
            .get(path.as_os_str().as_bytes())
            .copied()
    }
}

impl std::ops::Deref for SharedList {
    type Target = [Shared];
    fn deref(&self) -> &[Shared] {
        &self.list
    }
}

static SHARED: Mutex<SharedList> = Mutex::new(SharedList {
    list: Vec::new(),
    by_path: None,
    by_id: None,
});

pub(crate) fn shared() -> MutexGuard<'static, SharedList> {
    crate::fork::install();
    SHARED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the list of shared libraries for a fork.
fn lock_shared(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(shared()));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_SHAREDLIST: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::SharedList,
    take: lock_shared,
    in_child: None,
};

/// The module of the file at `canonical` (device and inode `id`) if the process has it already:
/// a library dynplug loaded (for a plugin, or as one), once its initialisers have run if another
/// thread is running them, or one the system loaded. `system` is true for the latter.
pub(crate) fn existing(canonical: &Path, id: (u64, u64)) -> Option<(Module<'static>, bool)> {
    let (m, system) = loaded(canonical, id)?;
    if !system {
        // Outside the lock: the initialisers waited for may load libraries themselves.
        crate::initialised::wait(m.base);
    }
    Some((m, system))
}

/// The module dynplug loaded at load bias `base`.
pub(crate) fn module_at(base: u64) -> Option<Module<'static>> {
    shared()
        .iter()
        .find(|s| s.module().base == base)
        .map(|s| s.module().clone())
}

/// What [`existing`] finds, without waiting for initialisers.
pub(crate) fn loaded(canonical: &Path, id: (u64, u64)) -> Option<(Module<'static>, bool)> {
    let own = {
        let shared = shared();
        shared
            .at_path(canonical)
            .or_else(|| shared.with_id(id))
            .and_then(|k| shared.get(k))
            .map(|s| s.module().clone())
    };
    if let Some(m) = own {
        return Some((m, false));
    }
    let (list, ids) = process::file_ids();
    let i = ids.iter().position(|&f| f == Some(id))?;
    list.get(i).map(|m| (m.clone(), true))
}

/// Where the bytes of an object come from.
pub enum Input<'a> {
    /// A file, by canonical path.
    File(&'a Path),
    /// A file already open (see `file::open_canonical`), by canonical path, with the directory
    /// `$ORIGIN` names (that of the path as given), its length, and its device and inode.
    Opened(&'a Path, &'a Path, File, u64, (u64, u64)),
    /// Bytes in memory.
    Bytes(&'a [u8]),
}

pub(crate) enum Bytes<'a> {
    /// A whole file, mapped for parsing (dry runs of libraries).
    File(FileBytes),
    /// The first bytes of a file, through its program headers (loads).
    Head(Vec<u8>),
    /// Bytes in memory.
    Borrowed(&'a [u8]),
}

impl AsRef<[u8]> for Bytes<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Bytes::File(f) => f.as_ref(),
            Bytes::Head(h) => h,
            Bytes::Borrowed(b) => b,
        }
    }
}

/// One object of the group being loaded.
pub(crate) struct New<'a> {
    pub(crate) path: Option<PathBuf>,
    /// The directory `$ORIGIN` names: that of the path the object was opened by (glibc's rule:
    /// symlinks are not resolved), else of its canonical path.
    pub(crate) origin: Option<PathBuf>,
    /// Device and inode of its file: a hard link is the same file (glibc matches them so).
    pub(crate) id: Option<(u64, u64)>,
    /// The DT_RPATHs of the objects that loaded it (see `search::Requester::inherited`).
    pub(crate) loaders: Vec<(Vec<u8>, Option<PathBuf>)>,
    /// Boxed: an object is large, and moving it through the open path's frames made each
    /// hold a copy (the stack pages a first open touches count as memory it added).
    pub(crate) obj: Box<Object<Bytes<'a>>>,
    /// The link-time address of `.eh_frame`, read from the file (`None`: read it through the
    /// image, or there is none).
    pub(crate) eh_frame: Option<u64>,
}

impl New<'_> {
    fn requester(&self) -> Requester {
        Requester {
            path: self.path.clone(),
            origin: self.origin.clone(),
            rpath: self.string(self.obj.dynamic.rpath),
            runpath: self.string(self.obj.dynamic.runpath),
            inherited: self.loaders.clone(),
            executable: process::executable_rpath(),
            nodeflib: self.obj.dynamic.flags_1 & goblin::elf::dynamic::DF_1_NODEFLIB != 0,
        }
    }

    fn string(&self, at: Option<u64>) -> Option<Vec<u8>> {
        at.and_then(|o| self.obj.string(o).ok()).map(<[u8]>::to_vec)
    }

    /// The DT_RPATHs a library this object loads inherits: its own (unless it has a DT_RUNPATH,
    /// which makes glibc drop it), then those it inherited.
    fn rpaths_for_dependencies(&self) -> Vec<(Vec<u8>, Option<PathBuf>)> {
        let own = self.string(self.obj.dynamic.rpath);
        let own = own.filter(|_| self.obj.dynamic.runpath.is_none());
        let mut chain = Vec::with_capacity(1 + self.loaders.len());
        chain.extend(own.map(|r| (r, self.origin.clone())));
        chain.extend(self.loaders.iter().cloned());
        chain
    }

    pub(crate) fn answers_to(&self, needed: &[u8]) -> bool {
        let soname = self
            .obj
            .dynamic
            .soname
            .and_then(|s| self.obj.string(s).ok());
        let file = self
            .path
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|f| f.as_bytes());
        soname == Some(needed) || file == Some(needed)
    }

    /// The object as a module of a scope, its tables read through `view`.
    pub(crate) fn module<'v>(
        &self,
        view: View<'v>,
        base: u64,
        tls_modid: u64,
    ) -> Result<Module<'v>, LoadError> {
        let tab = symtab_in(
            view,
            &self.obj.dynamic,
            self.obj.nsyms,
            self.obj.def_names(),
        )?;
        let name = self
            .path
            .as_ref()
            .map_or_else(|| Arc::from([]), |p| Arc::from(p.as_os_str().as_bytes()));
        let soname = self
            .obj
            .dynamic
            .soname
            .and_then(|s| self.obj.string(s).ok())
            .map(Arc::from);
        let code = code_ranges(&self.obj.layout, base);
        let layout = &self.obj.layout;
        let span = (
            base.wrapping_add(layout.span_lo),
            base.wrapping_add(layout.span_hi),
        );
        Ok(Module {
            name,
            soname,
            base,
            tab,
            tls_modid,
            tls_tpoff: 0,
            code,
            ifunc_call: self.obj.ifunc_call,
            span,
            c_name: 0,
            // One allocation for the list (an iterator of known length): every name was
            // checked to lie in the string table when the object was parsed.
            needed: (self.obj.dynamic.needed.iter())
                .map(|&n| Arc::from(self.obj.string(n).unwrap_or_default()))
                .collect(),
        })
    }

    /// Wraps an object parsed from bytes in memory.
    pub(crate) fn from_bytes<'b>(obj: Box<Object<Bytes<'b>>>) -> New<'b> {
        New {
            path: None,
            origin: None,
            id: None,
            loaders: Vec::new(),
            obj,
            eh_frame: None,
        }
    }

    /// Wraps an object read from the file at `path` (its `$ORIGIN`: the file's directory).
    /// `origin`: the directory `$ORIGIN` names, if not the path's own.
    fn from_file<'b>(path: &Path, origin: Option<&Path>, obj: Box<Object<Bytes<'b>>>) -> New<'b> {
        New {
            path: Some(path.to_path_buf()),
            origin: origin.or_else(|| path.parent()).map(Path::to_path_buf),
            id: None,
            loaders: Vec::new(),
            obj,
            eh_frame: None,
        }
    }

    /// The name `dl_iterate_phdr` and `dladdr` give: the path's bytes as they are (a path holds
    /// no NUL), `<bytes>` for an object from memory.
    fn c_name(&self) -> std::ffi::CString {
        match &self.path {
            Some(p) => std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap_or_default(),
            None => c"<bytes>".into(),
        }
    }

    pub(crate) fn name(&self) -> String {
        self.subject(0).name()
    }

    /// This module as its problems name it: `index` is its place in the group (0: the plugin).
    pub(crate) fn subject(&self, index: usize) -> Subject<'_> {
        Subject {
            path: self.path.as_deref(),
            dependency: index != 0,
        }
    }
}

/// The run-time ranges of the executable segments of `layout` at `bias`, in one allocation
/// (collected from a filter they would be built in a vector first, then copied).
fn code_ranges(layout: &crate::elf::layout::Layout, bias: u64) -> Arc<[(u64, u64)]> {
    let mut few = [(0, 0); 4];
    let mut n = 0;
    for r in layout.code_ranges(bias) {
        match few.get_mut(n) {
            Some(slot) => *slot = r,
            None => return layout.code_ranges(bias).collect(),
        }
        n += 1;
    }
    Arc::from(few.get(..n).unwrap_or_default())
}

/// Opens, parses and maps the object at `path`: the headers are read, the segments mapped, and
/// the dynamic section and tables read through the mapping.
fn open_file<'a>(path: &Path, want: Option<Machine>, mapped: bool) -> Result<New<'a>, LoadError> {
    use std::os::unix::fs::MetadataExt;
    let (file, meta) = crate::file::open_regular_with_meta(path)?;
    let id = Some((meta.dev(), meta.ino()));
    if !mapped {
        // A dry run maps nothing: the whole file is read for parsing.
        let obj = Object::parse(Bytes::File(FileBytes::new(&file)?), want, page_size())?;
        return Ok(New {
            id,
            ..New::from_file(path, None, obj)
        });
    }
    open_mapped(path, None, &file, meta.len(), want).map(|n| New { id, ..n })
}

/// Parses the open `file` (`len` bytes, named `path`, `$ORIGIN` the directory `origin` or the
/// path's) and maps its segments.
fn open_mapped<'a>(
    path: &Path,
    origin: Option<&Path>,
    file: &File,
    len: u64,
    want: Option<Machine>,
) -> Result<New<'a>, LoadError> {
    let head = read_head(file, len)?;
    let map = |layout: &crate::elf::layout::Layout| {
        Mapping::new(&layout.segments(), Source::File(file.as_fd())).map_err(LoadError::Map)
    };
    let obj = Object::parse_mapped(Bytes::Head(head), len, want, page_size(), map)?;
    Ok(New {
        eh_frame: crate::unwind::eh_frame_from_file(file, &obj.layout),
        ..New::from_file(path, origin, obj)
    })
}

/// The first bytes of a file: its ELF header and program headers (or all of a short file).
fn read_head(file: &File, len: u64) -> Result<Vec<u8>, LoadError> {
    use std::os::unix::fs::FileExt;
    // The ELF header and a dozen program headers fit in 1 KiB (glibc reads 832 bytes first);
    // the head is kept with the object, so it is not a whole page.
    let first = len.min(1024);
    let mut head = vec![0; usize::try_from(first).unwrap_or(1024)];
    file.read_exact_at(&mut head, 0)?;
    let phoff = crate::read::u64_at(&head, records::E_PHOFF).unwrap_or(0);
    let phnum = u64::from(crate::read::u16_at(&head, records::E_PHNUM).unwrap_or(0));
    let end = phnum
        .checked_mul(records::PHDR_SIZE)
        .and_then(|n| n.checked_add(phoff));
    match end.filter(|&e| e <= len && e <= 1 << 22) {
        Some(end) if end > first => {
            let mut rest = vec![0; usize::try_from(end - first).unwrap_or(0)];
            file.read_exact_at(&mut rest, first)?;
            head.extend_from_slice(&rest);
        }
        // Kept until the object is registered: only what the headers need (the tail freed
        // goes back to the allocator for the rest of the open).
        Some(end) => {
            head.truncate(usize::try_from(end.max(64)).unwrap_or(head.len()));
            head.shrink_to_fit();
        }
        None => {}
    }
    Ok(head)
}

/// Parses and maps an object from bytes in memory (anonymous mappings, filled with a copy).
fn open_bytes(bytes: &[u8], want: Option<Machine>) -> Result<New<'_>, LoadError> {
    let map = |layout: &crate::elf::layout::Layout| {
        Mapping::new(&layout.segments(), Source::Bytes(bytes)).map_err(LoadError::Map)
    };
    let obj = Object::parse_mapped(
        Bytes::Borrowed(bytes),
        bytes.len() as u64,
        want,
        page_size(),
        map,
    )?;
    Ok(New::from_bytes(obj))
}

/// Finds the library `name` that `req` asks for: the first candidate that is an ELF object for
/// this machine (glibc skips files of other machines the same way).
pub(crate) fn find<'a>(
    name: &[u8],
    who: &New<'_>,
    extra: &[PathBuf],
    want: Option<Machine>,
    mapped: bool,
) -> Result<New<'a>, LoadError> {
    let tried = candidates(name, &who.requester(), extra);
    let logging = crate::debug::on(crate::debug::FILES);
    if logging {
        crate::debug_log!(
            crate::debug::FILES,
            "find library={} [0]; searching",
            String::from_utf8_lossy(name)
        );
    }
    for p in &tried {
        if logging {
            crate::debug_log!(crate::debug::FILES, "  trying file={}", p.display());
        }
        let Some(c) = crate::file::regular_canonical(p) else {
            continue;
        };
        match open_file(&c, want, mapped) {
            // `$ORIGIN` of a library found by searching: the directory it was found in.
            Ok(n) => {
                if logging {
                    crate::debug_log!(
                        crate::debug::FILES,
                        "file={} [0];  found: {}",
                        String::from_utf8_lossy(name),
                        c.display()
                    );
                }
                return Ok(New {
                    origin: p.parent().map(Path::to_path_buf),
                    loaders: who.rpaths_for_dependencies(),
                    ..n
                });
            }
            Err(LoadError::WrongArchitecture { .. } | LoadError::NotElf) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(LoadError::MissingDependency {
        library: String::from_utf8_lossy(name).into_owned(),
        needed_by: who.name().into(),
        searched: tried,
    })
}

/// True if a module of the process (or the C runtime, when libc is present) satisfies `needed`.
pub(crate) fn in_process(needed: &[u8], modules: &[Module<'_>]) -> bool {
    if modules.iter().any(|m| m.is(needed)) {
        return true;
    }
    if process::is_static(modules) {
        // A static host carries its C runtime (and whatever of libm it linked) itself.
        return C_RUNTIME.contains(&needed) || needed == b"libm.so.6" || needed == b"libgcc_s.so.1";
    }
    C_RUNTIME.contains(&needed) && modules.iter().any(|m| m.is(C_LIBRARY))
}

/// One module of a group's local scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dep {
    /// `group[i]`: loaded by this open.
    New(usize),
    /// The `SharedList` entry `k`: loaded by dynplug for an earlier open.
    Shared(usize),
    /// The process's module `j`, outside the global scope (a library the host opened
    /// RTLD_LOCAL that the plugin needs: glibc puts it in the plugin's local scope).
    System(usize),
}

/// A group to load and its local scope.
pub(crate) struct Collected<'a> {
    /// The objects to load: the root first, then the libraries found for it.
    pub(crate) group: Vec<New<'a>>,
    /// The local scope, as glibc builds a dlopen'ed object's search list: the root, then every
    /// library it needs, directly or not, breadth-first (libraries loaded before included).
    pub(crate) local: Vec<Dep>,
}

/// What satisfies a DT_NEEDED name without a search.
enum Satisfied {
    /// The global scope, or the C runtime: nothing to add to the local scope.
    Global,
    /// A module loaded already, or one of the group.
    By(Dep),
    /// Nothing: search for it.
    No,
}

/// What satisfies `name` among the process's `modules`, the `group` and the `shared` libraries.
fn satisfied(
    name: &[u8],
    modules: &[Module<'_>],
    global: &[Module<'_>],
    group: &[New<'_>],
    shared: &SharedList,
) -> Satisfied {
    let at = modules.iter().position(|m| m.is(name));
    if at.is_some() || in_process(name, modules) {
        return match at {
            Some(j)
                if !global
                    .iter()
                    .any(|g| modules.get(j).is_some_and(|m| m.base == g.base)) =>
            {
                Satisfied::By(Dep::System(j))
            }
            _ => Satisfied::Global,
        };
    }
    if let Some(i) = group.iter().position(|n| n.answers_to(name)) {
        return Satisfied::By(Dep::New(i));
    }
    match shared.iter().position(|s| s.module().is(name)) {
        Some(k) => Satisfied::By(Dep::Shared(k)),
        None => Satisfied::No,
    }
}

/// The objects of a group in breadth-first order: the root first, then the libraries it needs
/// that are neither in the process nor already shared; and its local scope. With `mapped`,
/// each is mapped as it is opened (a load); without, only read (a dry run).
pub(crate) fn collect<'a>(
    root: New<'a>,
    modules: &[Module<'_>],
    global: &[Module<'_>],
    shared: &SharedList,
    extra: &[PathBuf],
    want: Option<Machine>,
    mapped: bool,
) -> Result<Collected<'a>, LoadError> {
    // Room for the root's own libraries: the group is rarely larger, and its entries are big.
    let mut group = Vec::with_capacity(1 + root.obj.dynamic.needed.len());
    group.push(root);
    let mut local = vec![Dep::New(0)];
    let mut k = 0;
    while let Some(&dep) = local.get(k) {
        k += 1;
        let needed: Vec<Vec<u8>> = match dep {
            Dep::New(i) => group
                .get(i)
                .map(|n: &New<'_>| n.obj.needed().map(<[u8]>::to_vec).collect()),
            Dep::Shared(s) => shared
                .get(s)
                .map(|s| s.module().needed.iter().map(|n| n.to_vec()).collect()),
            Dep::System(j) => modules
                .get(j)
                .map(|m| m.needed.iter().map(|n| n.to_vec()).collect()),
        }
        .unwrap_or_default();
        for name in needed {
            if crate::debug::on(crate::debug::FILES) {
                if let Some(who) = match dep {
                    Dep::New(i) => group.get(i),
                    _ => None,
                } {
                    log_needed(&name, who, modules, &group, shared);
                }
            }
            let found = match satisfied(&name, modules, global, &group, shared) {
                Satisfied::Global => continue,
                Satisfied::By(d) => d,
                Satisfied::No => {
                    let Dep::New(i) = dep else { continue };
                    let Some(who) = group.get(i) else { continue };
                    let n = find(&name, who, extra, want, mapped)?;
                    let path = n.path.clone().unwrap_or_default();
                    let same = |g: &New<'_>| g.path.as_deref() == Some(&path) || g.id == n.id;
                    let known = shared.at_path(&path).or_else(|| shared.with_id(n.id?));
                    if let Some(s) = known {
                        Dep::Shared(s)
                    } else if let Some(g) = group.iter().position(same) {
                        Dep::New(g)
                    } else {
                        group.push(n);
                        Dep::New(group.len() - 1)
                    }
                }
            };
            if !local.contains(&found) {
                local.push(found);
            }
            if group.len() > 4096 {
                return Err(crate::Malformed::TooMany {
                    what: "dependency",
                    count: group.len() as u64,
                }
                .into());
            }
        }
    }
    Ok(Collected { group, local })
}

/// `files`: who needs `name`, and what satisfies it when nothing has to be searched.
#[cold]
fn log_needed(
    name: &[u8],
    who: &New<'_>,
    modules: &[Module<'_>],
    group: &[New<'_>],
    shared: &SharedList,
) {
    let name_s = String::from_utf8_lossy(name);
    crate::debug_log!(
        crate::debug::FILES,
        "file={name_s} [0];  needed by {} [0]",
        who.name()
    );
    let by = if in_process(name, modules) {
        let m = modules.iter().find(|m| m.is(name));
        let m = m.or_else(|| modules.iter().find(|m| m.is(C_LIBRARY)));
        Some(m.map_or_else(
            || "the executable".to_string(),
            |m| format!("{} (the process has it)", String::from_utf8_lossy(&m.name)),
        ))
    } else if let Some(g) = group.iter().find(|g| g.answers_to(name)) {
        Some(format!("{} (in this load)", g.name()))
    } else {
        shared
            .iter()
            .find(|s| s.module().is(name))
            .map(|s| format!("{} (loaded by dynplug before)", s.path().display()))
    };
    if let Some(by) = by {
        crate::debug_log!(crate::debug::FILES, "file={name_s} [0];  satisfied by {by}");
    }
}

/// A loaded plugin: its image facts, and every initialiser to run (dependencies first).
pub struct Loaded {
    /// The plugin's own module.
    pub module: Module<'static>,
    /// Machine.
    pub machine: Machine,
    /// Initialisers (and finalisers) of the plugin and of the dependencies loaded for it, in
    /// the order to run, by module.
    pub inits: Vec<crate::init::Calls>,
    /// Load biases of the libraries loaded earlier that the group uses: their initialisers
    /// must have run before the group's.
    pub uses: Vec<u64>,
}

/// Loads the plugin `input` and the libraries it needs.
pub fn load(input: Input<'_>, opts: &Options, extra: &[PathBuf]) -> Result<Box<Loaded>, LoadError> {
    crate::debug::refresh();
    let started = crate::debug::on(crate::debug::STATISTICS).then(std::time::Instant::now);
    let want = Machine::host();
    let root = open_input(input, want)?;
    crate::os::elf_host().map_err(|why| Unsupported::Host { why })?;
    let modules = process::modules();
    let global = process::global_scope(&modules);
    use_system_tls_getter(&modules);
    // One load at a time: dependencies are shared, so two loads must not both map one.
    let mut shared = shared();
    let collected = collect(root, &modules, &global, &shared, extra, want, true)?;
    let Some(t) = started else {
        return link_group(collected, &modules, &global, &mut shared, opts);
    };
    let name = group_name(&collected.group);
    let (count, mapped) = (collected.group.len(), crate::debug::ms_since(t));
    let loaded = link_group(collected, &modules, &global, &mut shared, opts);
    crate::debug_log!(
        crate::debug::STATISTICS,
        "open of {name}: {count} module(s) mapped in {mapped:.3} ms, linked in {:.3} ms: {:.3} ms{}",
        crate::debug::ms_since(t) - mapped,
        crate::debug::ms_since(t),
        if loaded.is_ok() { "" } else { " (failed)" }
    );
    loaded
}

/// The name of a group's plugin, for debug logging.
fn group_name(group: &[New<'_>]) -> String {
    group.first().map_or_else(String::new, New::name)
}

/// `scope`: the modules a group's imports are searched in, in order.
#[cold]
fn log_scope(group: &[New<'_>], scope: &[Module<'_>]) {
    let names: Vec<String> = scope
        .iter()
        .map(|m| match &*m.name {
            [] => "<executable>".to_string(),
            n => String::from_utf8_lossy(n).into_owned(),
        })
        .collect();
    crate::debug_log!(crate::debug::SCOPE, "object={} [0]", group_name(group));
    crate::debug_log!(crate::debug::SCOPE, " scope 0: {}", names.join(" "));
}

/// The global scope an open with `opts` binds against, before the group's local scope: the
/// process's (`global`), the system's libraries the options name, then the modules dynplug
/// loaded with [`Options::global`].
pub(crate) fn global_scope<'m>(
    modules: &[Module<'m>],
    global: &[Module<'m>],
    opts: &Options,
) -> Vec<Module<'m>> {
    let joined = JOINED.read().unwrap_or_else(|p| p.into_inner());
    let mut scope = Vec::with_capacity(global.len() + joined.len() + 8);
    scope.extend(global.iter().cloned());
    for name in &opts.system_libraries {
        let named = |m: &&Module<'m>| *m.name == **name || m.is(name);
        if let Some(m) = modules.iter().find(named) {
            if !scope.iter().any(|s| s.base == m.base) {
                scope.push(m.clone());
            }
        }
    }
    scope.extend(joined.iter().cloned());
    scope
}

/// Opens and maps the plugin itself. Not inlined, like the steps after it: the frames of the
/// open path stay small, so an open touches few stack pages.
#[inline(never)]
fn open_input(input: Input<'_>, want: Option<Machine>) -> Result<New<'_>, LoadError> {
    match input {
        Input::File(p) => open_file(p, want, true),
        Input::Opened(p, origin, file, len, id) => {
            open_mapped(p, Some(origin), &file, len, want).map(|n| New { id: Some(id), ..n })
        }
        Input::Bytes(b) => open_bytes(b, want),
    }
}

/// dynplug's __tls_get_addr forwards the system's module ids to the system's: in a shared C
/// library, or in a static host's own symbol table.
#[inline(never)]
fn use_system_tls_getter(modules: &[Module<'_>]) {
    // Only the first address found is kept: once one is, the search (a hash lookup in every
    // module) is skipped.
    if crate::tls::system_known() {
        return;
    }
    let tga = crate::symbols::Name::new(b"__tls_get_addr");
    let system_tga = modules
        .iter()
        .find_map(|m| {
            m.tab
                .find(&tga, None)
                .map(|(_, d)| m.base.wrapping_add(d.value))
        })
        .or_else(|| {
            process::static_symbols(modules)
                .and_then(|e| e.get(b"__tls_get_addr"))
                .map(|(a, _)| a)
        });
    if let Some(addr) = system_tga {
        crate::tls::set_system(addr);
    }
}

/// Links the mapped group of `collected` against the global scope and its local scope,
/// protects it, and registers it: the rest of an open, once every object is mapped.
#[inline(never)]
fn link_group(
    collected: Collected<'_>,
    modules: &[Module<'static>],
    global: &[Module<'static>],
    shared: &mut SharedList,
    opts: &Options,
) -> Result<Box<Loaded>, LoadError> {
    let Collected { group, local } = collected;
    for n in &group {
        mapped(n)?;
    }
    // Scope: the global scope, then the plugin's local scope (dlopen's: the plugin, then its
    // libraries breadth-first, those loaded before included).
    let mut scope = global_scope(modules, global, opts);
    let mut modids = Vec::with_capacity(group.len());
    for n in &group {
        let m = mapped(n)?;
        modids.push(n.obj.layout.tls.map_or(0, |t| {
            crate::tls::register(crate::tls::TlsImage {
                init: m.bias.wrapping_add(t.vaddr),
                filesz: t.filesz,
                memsz: t.memsz,
                align: t.align,
            })
        }));
    }
    let mut own = Vec::with_capacity(group.len());
    for (n, &tls_modid) in group.iter().zip(&modids) {
        own.push(n.module(n.obj.view(), mapped(n)?.bias, tls_modid)?);
    }
    scope.extend(local_modules(
        &local,
        |i| own.get(i).cloned(),
        shared,
        modules,
    ));
    if crate::debug::on(crate::debug::SCOPE) {
        log_scope(&group, &scope);
    }
    let unique = crate::unique::Unique::default();
    if !matches!(opts.policy, crate::Policy::Any) {
        // The policy is checked for the whole group before anything runs (not even an IFUNC
        // resolver): a dry pass over every module's relocations.
        let mut forbidden = Vec::new();
        for (i, (n, &modid)) in group.iter().zip(&modids).enumerate() {
            let m = mapped(n)?;
            let mut mem = DryRun {
                view: n.obj.view(),
                written: Default::default(),
            };
            let mode = Mode {
                live: false,
                report_missing: false,
                tls_modid: modid,
                subject: n.subject(i),
                served: crate::interpose::served,
                imports: None,
                tls_tpoff: 0,
            };
            for e in link(&n.obj, m.bias, opts, &scope, &unique, &mut mem, mode).problems {
                if let LoadError::ImportsNotAllowed(list) = e {
                    forbidden.extend(list);
                }
            }
        }
        if !forbidden.is_empty() {
            return Err(LoadError::ImportsNotAllowed(forbidden));
        }
    }
    // Relocated dependencies first (glibc's order): each module after the modules it needs.
    // (A plugin alone, the usual group, needs no search.)
    let ordered;
    let order: &[usize] = if group.len() == 1 {
        &[0]
    } else {
        ordered = dependency_order(&group);
        &ordered
    };
    let static_tls_mark = crate::static_tls::mark();
    let mut missing = Vec::new();
    let mut failure = None;
    // By module in `order`: the relocations left for IFUNC resolvers, and the initialisers and
    // finalisers as its link read them (final only if none is left).
    let mut deferred = Vec::with_capacity(group.len());
    for &i in order {
        let (Some(n), Some(&modid)) = (group.get(i), modids.get(i)) else {
            continue;
        };
        let m = mapped(n)?;
        let mut mem = Live { bias: m.bias };
        let mode = Mode {
            live: true,
            report_missing: true,
            tls_modid: modid,
            subject: n.subject(i),
            served: crate::interpose::served,
            imports: None,
            tls_tpoff: 0,
        };
        // Every module is linked, so that one error names every missing import of the group.
        let linked = link(&n.obj, m.bias, opts, &scope, &unique, &mut mem, mode);
        for e in linked.problems {
            match e {
                LoadError::UndefinedSymbols(list) => missing.extend(list),
                e => {
                    failure.get_or_insert(e);
                }
            }
        }
        let calls = linked.calls.filter(|_| linked.deferred.is_empty());
        deferred.push((i, linked.deferred, calls));
    }
    // From here on code of the group may run: no block of it is placed in static TLS any more.
    crate::tls::seal(&modids);
    if !missing.is_empty() {
        failure.get_or_insert(LoadError::UndefinedSymbols(missing));
    }
    if let Some(e) = failure.or_else(|| written_static_tls(&group, &modids)) {
        // No code of the group ran: the reserve it took is free again (loads are one at a time).
        crate::static_tls::rewind(static_tls_mark);
        return Err(e);
    }
    // Every module is relocated and nothing is wrong: now the group's IFUNC resolvers run (the
    // first code of the group to run), in the same order.
    for (i, list, _) in &mut deferred {
        let Some(n) = group.get(*i) else {
            continue;
        };
        let m = mapped(n)?;
        let mut mem = Live { bias: m.bias };
        let list = std::mem::take(list);
        let mut diag = Diag::new(n.subject(*i));
        apply_deferred(n.obj.machine, m.bias, list, &mut mem, &mut diag);
        if let Some(e) = diag.into_problems().into_iter().next() {
            return Err(e);
        }
    }
    if let Some(e) = written_static_tls(&group, &modids) {
        return Err(e);
    }
    let mut inits = Vec::with_capacity(group.len());
    for (i, _, calls) in deferred {
        let Some(n) = group.get(i) else {
            continue;
        };
        let m = mapped(n)?;
        let mem = Live { bias: m.bias };
        let named = |e| n.subject(i).named(e);
        let (inits_of, finis) = match calls {
            Some(c) => c,
            None => (
                initialisers(&n.obj, m.bias, &mem, &scope).map_err(named)?,
                finalisers(&n.obj, m.bias, &mem, &scope).map_err(named)?,
            ),
        };
        inits.push(crate::init::Calls {
            base: m.bias,
            inits: inits_of,
            finis,
        });
    }
    for n in &group {
        if let Some(pages) = n.obj.layout.relro.and_then(|r| n.obj.layout.relro_pages(r)) {
            mapped(n)?.protect_relro(pages).map_err(LoadError::Map)?;
        }
    }
    // Success: every image stays mapped for the rest of the process.
    unique.commit();
    drop(scope);
    // The records built for linking are the modules registered.
    // SAFETY: each module's tables lie in its image, which the loop below keeps mapped for the
    // rest of the process before the module is read again (on an error there, the records are
    // dropped unread).
    let own: Vec<Module<'static>> = own.into_iter().map(|m| unsafe { m.detached() }).collect();
    let mut group = group;
    let mut root = None;
    let mut entries = Vec::with_capacity(group.len());
    // The options the group was loaded under: what its modules' `dlopen` loads is held to them.
    let loaded_under = (!matches!(opts.policy, crate::Policy::Any) || !opts.exports.is_empty())
        .then(|| Arc::new(opts.clone()));
    for (n, module) in group.iter_mut().zip(own) {
        let bias = n
            .obj
            .leak_mapping()
            .ok_or_else(|| LoadError::Map(std::io::Error::other("object not mapped")))?;
        let loads: &'static [_] = Box::leak(n.obj.layout.loads.clone().into_boxed_slice());
        let mut eh_frame_hdr = 0;
        // The frame table to register, as a null-terminated list (see `unwind::register`).
        let mut frames = [0; 2];
        if let Some(hdr) = n.obj.layout.eh_frame_hdr {
            eh_frame_hdr = bias.wrapping_add(hdr.vaddr);
            let eh = (n.eh_frame).or_else(|| crate::unwind::eh_frame(&n.obj.view(), hdr.vaddr));
            if let Some(eh) = eh.filter(|&eh| n.obj.layout.loaded(eh, 4)) {
                frames[0] = usize::try_from(bias.wrapping_add(eh)).unwrap_or(0);
            }
        }
        announce(n, &module.name, bias, loads, opts.perf_map);
        if root.is_none() {
            root = Some(module.clone());
        }
        let last_end = n.obj.layout.loads.last().map_or(0, |l| l.end());
        entries.push(crate::interpose::Entry {
            name: n.c_name(),
            module,
            phdrs: phdrs_in_image(&n.obj, bias),
            start: bias.wrapping_add(n.obj.layout.span_lo),
            end: bias.wrapping_add(n.obj.layout.span_hi),
            map_end: bias.wrapping_add(last_end),
            eh_frame_hdr,
            frames,
            opts: loaded_under.clone(),
            local: Arc::from([]),
            search: n.requester(),
        });
    }
    let module = root.ok_or(LoadError::Malformed(crate::Malformed::NoLoadSegments))?;
    let own = |i: usize| entries.get(i).map(|e| e.module.clone());
    let local_scope: Arc<[Module<'static>]> = local_modules(&local, own, shared, modules).collect();
    for (i, (mut e, n)) in entries.into_iter().zip(&group).enumerate() {
        e.local = local_scope.clone();
        let e = crate::interpose::add(e);
        if e.frames[0] != 0 {
            crate::unwind::register(modules, &e.frames);
        }
        // A plugin from a file is also there for later plugins that need it, as a library
        // dynplug loaded for a plugin is (and `Plugin::open` of a library loaded as a
        // dependency finds it there: one copy of a file, whichever comes first).
        if i > 0 || n.path.is_some() {
            shared.push(Shared { id: n.id, entry: e });
        }
    }
    // Until this thread has run them, an open of these modules from another thread waits.
    for calls in &inits {
        crate::initialised::starting(calls.base);
    }
    let uses = local
        .iter()
        .filter_map(|d| match d {
            Dep::Shared(k) => shared.get(*k).map(|s| s.module().base),
            _ => None,
        })
        .collect();
    if opts.global {
        // RTLD_GLOBAL: the plugin's whole local scope joins the global scope.
        join(&local_scope);
    }
    Ok(Box::new(Loaded {
        uses,
        module,
        machine: group.first().map_or(crate::abi::MACHINE, |n| n.obj.machine),
        inits,
    }))
}

/// The error for a module of `group` (TLS ids `modids`) placed in static TLS whose image its
/// group's relocations made non-zero, if any.
fn written_static_tls(group: &[New<'_>], modids: &[u64]) -> Option<LoadError> {
    let modid = crate::tls::written_static(modids)?;
    let n = modids
        .iter()
        .position(|&m| m == modid)
        .and_then(|i| group.get(i))?;
    Some(
        Unsupported::InitialExecTls {
            symbol: "(its TLS image, written by relocations)".into(),
            module: n.name(),
            why: crate::StaticTlsRefusal::InitialisedData,
        }
        .into(),
    )
}

/// The modules of a `local` scope: `own` gives the group's, by index (`None`: left out).
pub(crate) fn local_modules<'m, 'a>(
    local: &'a [Dep],
    own: impl Fn(usize) -> Option<Module<'m>> + 'a,
    shared: &'a SharedList,
    modules: &'a [Module<'m>],
) -> impl Iterator<Item = Module<'m>> + 'a {
    local.iter().filter_map(move |d| match *d {
        Dep::New(i) => own(i),
        Dep::Shared(k) => shared.get(k).map(|s| s.module().clone()),
        Dep::System(j) => modules.get(j).cloned(),
    })
}

/// The mapping of `n`, which every object of a group being linked has.
fn mapped<'n>(n: &'n New<'_>) -> Result<&'n Mapping, LoadError> {
    (n.obj.mapping()).ok_or_else(|| LoadError::Map(std::io::Error::other("object not mapped")))
}

/// Tells debuggers about a module just mapped, and perf about one from memory if asked.
/// `name`: its module's name (its path, for one from a file).
fn announce(
    n: &New<'_>,
    name: &Arc<[u8]>,
    bias: u64,
    loads: &'static [crate::elf::layout::Load],
    perf_map: bool,
) {
    match &n.path {
        Some(_) => crate::debugger::announce_file(name, bias, loads),
        None => {
            crate::debugger::announce_bytes(n.obj.bytes(), bias);
            if crate::perf_map::wanted(perf_map) {
                crate::perf_map::append(n.obj.bytes(), bias);
            }
        }
    }
}

/// The program headers of `obj`, its image kept at `bias`, as `dl_iterate_phdr` reports them:
/// where the image holds them (a readable segment maps their bytes, the usual case), there, as
/// glibc points `dlpi_phdr` into the image; else a copy kept for the rest of the process.
fn phdrs_in_image<B: AsRef<[u8]>>(obj: &Object<B>, bias: u64) -> &'static [records::Phdr] {
    let size = u64::from(obj.phnum) * records::PHDR_SIZE;
    let mapped = obj.layout.loads.iter().find_map(|l| {
        let into = obj.phoff.checked_sub(l.offset)?;
        let inside = l.readable() && into.checked_add(size)? <= l.filesz;
        inside.then(|| l.vaddr.checked_add(into)).flatten()
    });
    let aligned = |a: &usize| a % std::mem::align_of::<records::Phdr>() == 0;
    match mapped.and_then(|v| usize::try_from(bias.wrapping_add(v)).ok().filter(aligned)) {
        // SAFETY: `phnum` records of the file's program headers (little-endian `Elf64_Phdr`s,
        // as the header was checked to be, on a little-endian host) lie at `addr`, aligned,
        // in a readable segment of an image mapped for the rest of the process.
        Some(addr) => unsafe {
            std::slice::from_raw_parts(addr as *const records::Phdr, usize::from(obj.phnum))
        },
        None => Box::leak(phdrs(obj).into_boxed_slice()),
    }
}

/// The program headers of `obj`, read from its bytes.
fn phdrs<B: AsRef<[u8]>>(obj: &Object<B>) -> Vec<records::Phdr> {
    let b = obj.bytes();
    let mut v = Vec::with_capacity(usize::from(obj.phnum));
    v.extend(
        (0..u64::from(obj.phnum))
            .filter_map(|i| records::phdr_at(b, obj.phoff.checked_add(i * records::PHDR_SIZE)?)),
    );
    v
}

/// The order to relocate and initialise a group: every module after the modules it needs (a
/// depth-first post-order over DT_NEEDED within the group; a cycle is broken where it closes).
fn dependency_order(group: &[New<'_>]) -> Vec<usize> {
    fn visit(i: usize, group: &[New<'_>], state: &mut [u8], out: &mut Vec<usize>) {
        // 0: not seen, 1: on the current path, 2: placed.
        if state.get(i).copied() != Some(0) {
            return;
        }
        if let Some(s) = state.get_mut(i) {
            *s = 1;
        }
        if let Some(n) = group.get(i) {
            for name in n.obj.needed() {
                if let Some(j) = group.iter().position(|g| g.answers_to(name)) {
                    visit(j, group, state, out);
                }
            }
        }
        if let Some(s) = state.get_mut(i) {
            *s = 2;
        }
        out.push(i);
    }
    let mut state = vec![0u8; group.len()];
    let mut out = Vec::with_capacity(group.len());
    for i in 0..group.len() {
        visit(i, group, &mut state, &mut out);
    }
    out
}
