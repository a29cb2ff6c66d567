//! The modules the process already has (executable, libc, ...), read in memory.

use std::ffi::CStr;
use std::sync::{Arc, Mutex};

use goblin::elf::dynamic as d;

use crate::elf::records::{self, PF_R, PF_X, PT_DYNAMIC, PT_LOAD, PT_PHDR, PT_TLS};
use crate::os::DlPhdrInfo;
use crate::read;
use crate::symbols::{GnuHash, Hash, SymTab, SysvHash, Versions, SYM_SIZE};

/// A SysV hash table with one empty bucket and no symbols.
static EMPTY_HASH: [u8; 12] = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// A module loaded by the system (or the executable itself), with its dynamic symbol table.
#[derive(Clone, Debug)]
pub struct Module<'a> {
    /// `dlpi_name` (empty for the executable).
    pub name: Arc<[u8]>,
    /// DT_SONAME, if any.
    pub soname: Option<Arc<[u8]>>,
    /// Load bias.
    pub base: u64,
    /// Its symbol table, in its own memory.
    pub tab: SymTab<'a>,
    /// TLS module id (0: none), as `__tls_get_addr` knows it.
    pub tls_modid: u64,
    /// The offset of the module's TLS block from the thread pointer, the same in every thread
    /// for a module of the static TLS (system modules only; 0 if it has none in the thread that
    /// read the list).
    pub tls_tpoff: u64,
    /// For a module dynplug loads: the run-time ranges of its executable segments (where its
    /// IFUNC resolvers must lie). Empty for the system's modules, which are relocated already.
    pub code: Arc<[(u64, u64)]>,
    /// Whose convention its IFUNC resolvers are called with (the system's, for its modules).
    pub ifunc_call: crate::abi::IfuncCall,
    /// Run-time range from its first to the end of its last PT_LOAD.
    pub span: (u64, u64),
    /// The system loader's NUL-terminated name of a system module (0: none), valid while the
    /// module is loaded.
    pub c_name: usize,
    /// Its DT_NEEDED names, in order (how the global scope and a plugin's local scope go on
    /// from it, breadth-first).
    pub needed: Arc<[Arc<[u8]>]>,
}

impl<'a> Module<'a> {
    /// The same module, for the rest of the process: its record is not built a second time
    /// once its image is kept.
    ///
    /// # Safety
    /// The memory its tables lie in (its image) stays mapped for the rest of the process
    /// before the module is read again.
    pub(crate) unsafe fn detached(self) -> Module<'static> {
        // SAFETY: the two types differ only in the lifetime of the borrowed tables, which the
        // caller guarantees outlive every use.
        unsafe { std::mem::transmute::<Module<'a>, Module<'static>>(self) }
    }

    /// True if this module answers to the DT_NEEDED name `needed` (its soname or file name).
    pub fn is(&self, needed: &[u8]) -> bool {
        // The soname first: asked of every module for each DT_NEEDED name of an open.
        if self.soname.as_deref() == Some(needed) {
            return true;
        }
        let file = self.name.rsplit(|&c| c == b'/').next().unwrap_or(&[]);
        !file.is_empty() && file == needed
    }

    /// Its name for people: its path, `<executable>` for the unnamed main program.
    pub fn display_name(&self) -> String {
        if self.name.is_empty() {
            "<executable>".to_string()
        } else {
            String::from_utf8_lossy(&self.name).into_owned()
        }
    }
}

/// One module as `dl_iterate_phdr` reports it.
struct Raw {
    base: u64,
    c_name: usize,
    tls_modid: u64,
    /// `dlpi_tls_data` less this thread's pointer (0: none).
    tls_tpoff: u64,
    name: Vec<u8>,
    /// (p_type, p_flags, p_vaddr, p_memsz)
    phdrs: Vec<(u32, u32, u64, u64)>,
}

unsafe extern "C" fn collect(
    info: *mut DlPhdrInfo,
    _size: usize,
    data: *mut std::ffi::c_void,
) -> std::ffi::c_int {
    // SAFETY: dl_iterate_phdr passes a valid info for the duration of the call, and `data` is the
    // `&mut Vec<Raw>` given below.
    let (info, out) = unsafe { (&*info, &mut *(data as *mut Vec<Raw>)) };
    let name = if info.dlpi_name.is_null() {
        Vec::new()
    } else {
        // SAFETY: a non-null dlpi_name is a NUL-terminated string owned by the system loader.
        unsafe { CStr::from_ptr(info.dlpi_name) }
            .to_bytes()
            .to_vec()
    };
    let phdrs = if info.dlpi_phdr.is_null() {
        &[][..]
    } else {
        // SAFETY: dlpi_phdr points at dlpi_phnum program headers of a loaded module.
        unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
    };
    out.push(Raw {
        base: info.dlpi_addr,
        c_name: info.dlpi_name as usize,
        tls_modid: info.dlpi_tls_modid as u64,
        tls_tpoff: if info.dlpi_tls_data.is_null() {
            0
        } else {
            // The thread reading the list may not be the one that links with it: an offset
            // holds in every thread, an address only in this one.
            (info.dlpi_tls_data as u64).wrapping_sub(crate::abi::thread_pointer())
        },
        name,
        phdrs: phdrs
            .iter()
            .map(|p| (p.p_type, p.p_flags, p.p_vaddr, p.p_memsz))
            .collect(),
    });
    0
}

/// What `dl_iterate_phdr` reports of each module the system loaded, in its order.
fn raw_modules() -> Vec<Raw> {
    let mut raw: Vec<Raw> = Vec::new();
    let _no_fork = crate::fork::runtime_call();
    // SAFETY: `collect` matches the callback type and only touches `raw` through `data`.
    unsafe {
        crate::os::iterate_phdr(
            Some(collect),
            &mut raw as *mut Vec<Raw> as *mut std::ffi::c_void,
        )
    };
    raw
}

/// True if `addr` lies in an executable segment of a module the system loaded (read afresh:
/// asked only for an initialiser that lies outside the object being loaded).
pub fn in_system_code(addr: u64) -> bool {
    raw_modules().iter().any(|r| {
        r.phdrs.iter().any(|&(t, flags, vaddr, memsz)| {
            let lo = r.base.wrapping_add(vaddr);
            t == PT_LOAD && flags & PF_X != 0 && addr >= lo && addr - lo < memsz
        })
    })
}

/// The system loader's (loads, unloads) counters.
type Counters = (u64, u64);
/// The process's modules, shared.
pub type Modules = Arc<Vec<Module<'static>>>;
/// (device, inode) of each module's file, in module order.
pub type FileIds = Arc<Vec<Option<(u64, u64)>>>;

/// The module list last read, with the counters it was read at.
static MODULES: Mutex<Option<(Counters, Modules)>> = Mutex::new(None);
/// The file ids of a module list (keyed by the list itself, held, so its address cannot be
/// reused by a newer one).
static FILE_IDS: Mutex<Option<(Modules, FileIds)>> = Mutex::new(None);

/// Takes this file's locks for a fork (`fork::prepare`), in the order the code nests them.
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(FILE_IDS.lock().unwrap_or_else(|p| p.into_inner())));
    held.push(Box::new(MODULES.lock().unwrap_or_else(|p| p.into_inner())));
    held.push(Box::new(
        GLOBAL_SCOPE.lock().unwrap_or_else(|p| p.into_inner()),
    ));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_PROCESSMODULES: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::ProcessModules,
    take: lock_all,
    in_child: None,
};

/// The global scope made from a module list, for that list (see [`global_scope`]).
static GLOBAL_SCOPE: Mutex<Option<(Modules, Modules)>> = Mutex::new(None);

/// Every module in the process, the executable first, then its libraries in load order.
///
/// Reading the modules' tables costs more than asking whether they changed: the list is kept
/// and rebuilt only when the system loader's load and unload counters move.
pub fn modules() -> Modules {
    crate::fork::install();
    let now = counters();
    let mut cache = MODULES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((seen, list)) = cache.as_ref() {
        if *seen == now && now != (0, 0) {
            return list.clone();
        }
    }
    let list = Arc::new(raw_modules().iter().filter_map(module).collect::<Vec<_>>());
    STATIC_HOST.store(
        if is_static(&list) { STATIC } else { DYNAMIC },
        std::sync::atomic::Ordering::Relaxed,
    );
    *cache = Some((now, list.clone()));
    list
}

/// Whether the process has a shared C library, noted when its module list is read (it cannot
/// change: the C library is never unloaded): `UNKNOWN` before, then `STATIC` or `DYNAMIC`.
static STATIC_HOST: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const STATIC: u8 = 1;
const DYNAMIC: u8 = 2;

/// The (device, inode) of each module's file, in [`modules`] order (`None`: no file name, or
/// it cannot be read), to recognise a file the process already has however it is named. Made
/// once per module list (one `stat` a module), like the list.
pub fn file_ids() -> (Modules, FileIds) {
    let list = modules();
    let mut cache = FILE_IDS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((seen, ids)) = cache.as_ref() {
        if Arc::ptr_eq(seen, &list) {
            return (list, ids.clone());
        }
    }
    let ids: FileIds = Arc::new(
        list.iter()
            .map(|m| {
                use std::os::unix::ffi::OsStrExt;
                if m.name.is_empty() {
                    return None;
                }
                crate::file::id(std::path::Path::new(std::ffi::OsStr::from_bytes(&m.name)))
            })
            .collect(),
    );
    *cache = Some((list.clone(), ids.clone()));
    (list, ids)
}

unsafe extern "C" fn read_counters(
    info: *mut DlPhdrInfo,
    size: usize,
    data: *mut std::ffi::c_void,
) -> std::ffi::c_int {
    // The counters exist when the system's structure is at least as large as ours.
    if size >= std::mem::size_of::<DlPhdrInfo>() {
        // SAFETY: a valid info for the duration of the call; `data` is the `(u64, u64)` below.
        unsafe { *(data as *mut (u64, u64)) = ((*info).dlpi_adds, (*info).dlpi_subs) };
    }
    1
}

unsafe extern "C" fn read_executable_tls(
    info: *mut DlPhdrInfo,
    _size: usize,
    data: *mut std::ffi::c_void,
) -> std::ffi::c_int {
    // SAFETY: a valid info for the duration of the call; `data` is the `Option<(u64, u64)>` below.
    let (info, out) = unsafe { (&*info, &mut *(data as *mut Option<(u64, u64)>)) };
    let phdrs = if info.dlpi_phdr.is_null() {
        &[][..]
    } else {
        // SAFETY: dlpi_phdr points at dlpi_phnum program headers of a loaded module.
        unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
    };
    let tls = phdrs.iter().find(|p| p.p_type == PT_TLS);
    if let (Some(tls), false) = (tls, info.dlpi_tls_data.is_null()) {
        *out = Some((info.dlpi_tls_data as u64, tls.p_memsz));
    }
    1
}

/// The executable's TLS block in this thread (its address and PT_TLS size), as
/// `dl_iterate_phdr` reports it (the executable first, in a static host too).
pub fn executable_tls() -> Option<(u64, u64)> {
    let mut found: Option<(u64, u64)> = None;
    let _no_fork = crate::fork::runtime_call();
    // SAFETY: the callback matches, stops at the first module, and writes only `found`.
    unsafe {
        crate::os::iterate_phdr(
            Some(read_executable_tls),
            &mut found as *mut Option<(u64, u64)> as *mut std::ffi::c_void,
        )
    };
    found
}

/// The system loader's (loads, unloads) counters.
fn counters() -> (u64, u64) {
    let mut c = (0u64, 0u64);
    let _no_fork = crate::fork::runtime_call();
    // SAFETY: the callback matches, stops at the first module, and writes only `c`.
    unsafe {
        crate::os::iterate_phdr(
            Some(read_counters),
            &mut c as *mut (u64, u64) as *mut std::ffi::c_void,
        )
    };
    c
}

/// Memory of a loaded module: the bytes from `addr` to the end of its readable PT_LOAD.
fn rest(raw: &Raw, addr: u64) -> Option<&'static [u8]> {
    raw.phdrs.iter().find_map(|&(t, f, vaddr, memsz)| {
        let start = raw.base.checked_add(vaddr)?;
        let end = start.checked_add(memsz)?;
        if t != PT_LOAD || f & PF_R == 0 || addr < start || addr >= end || start == 0 {
            return None;
        }
        let len = usize::try_from(end - addr).ok()?;
        // SAFETY: [addr, end) lies inside a readable PT_LOAD of a module the system loaded; such
        // modules are mapped for as long as they are loaded, and system libraries that plugins
        // bind to stay loaded for the life of the process.
        Some(unsafe { std::slice::from_raw_parts(addr as *const u8, len) })
    })
}

/// A d_ptr as an address: glibc has already relocated most of them in place, some are not.
fn ptr(raw: &Raw, d_ptr: u64) -> Option<u64> {
    if rest(raw, d_ptr).is_some() {
        Some(d_ptr)
    } else {
        raw.base
            .checked_add(d_ptr)
            .filter(|&a| rest(raw, a).is_some())
    }
}

fn module(raw: &Raw) -> Option<Module<'static>> {
    let &(_, _, dvaddr, dmemsz) = raw.phdrs.iter().find(|p| p.0 == PT_DYNAMIC)?;
    let dynamic = rest(raw, raw.base.checked_add(dvaddr)?)?;
    let dynamic = dynamic.get(..usize::try_from(dmemsz).ok()?.min(dynamic.len()))?;
    let (mut strtab, mut strsz, mut symtab, mut gnu, mut sysv, mut versym, mut verdef, mut soname) =
        (None, None, None, None, None, None, None, None);
    let mut verdefnum = 0;
    let mut needed = Vec::new();
    for i in 0..dynamic.len() as u64 / records::DYN_SIZE {
        let (tag, val) = records::dyn_at(dynamic, i)?;
        match tag {
            d::DT_NULL => break,
            d::DT_STRTAB => strtab = Some(val),
            d::DT_STRSZ => strsz = Some(val),
            d::DT_SYMTAB => symtab = Some(val),
            d::DT_GNU_HASH => gnu = Some(val),
            d::DT_HASH => sysv = Some(val),
            d::DT_VERSYM => versym = Some(val),
            d::DT_VERDEF => verdef = Some(val),
            d::DT_VERDEFNUM => verdefnum = val,
            d::DT_SONAME => soname = Some(val),
            d::DT_NEEDED => needed.push(val),
            _ => {}
        }
    }
    // A static executable may have a dynamic section without symbols: it still counts (its TLS,
    // its place first in the scope), with an empty table.
    let strtab = strtab.and_then(|a| rest(raw, ptr(raw, a)?)).unwrap_or(&[]);
    let strtab = strtab.get(..usize::try_from(strsz.unwrap_or(0)).ok()?.min(strtab.len()))?;
    let syms = symtab.and_then(|a| rest(raw, ptr(raw, a)?)).unwrap_or(&[]);
    let hash = match (gnu, sysv) {
        (Some(g), _) => Hash::Gnu(GnuHash::parse(rest(raw, ptr(raw, g)?)?).ok()?),
        (None, Some(s)) => Hash::Sysv(SysvHash::parse(rest(raw, ptr(raw, s)?)?).ok()?),
        (None, None) => Hash::Sysv(SysvHash::parse(&EMPTY_HASH).ok()?),
    };
    // The table is as long as the hash table says (the segment goes on past it).
    let count = match &hash {
        Hash::Gnu(h) => h.symbol_count().ok(),
        Hash::Sysv(h) => Some(h.symbol_count()),
    };
    let syms = count
        .and_then(|n| usize::try_from(n.saturating_mul(SYM_SIZE)).ok())
        .and_then(|n| syms.get(..n))
        .unwrap_or(syms);
    let loads = raw.phdrs.iter().filter(|p| p.0 == PT_LOAD);
    let lo = loads
        .clone()
        .map(|p| raw.base.wrapping_add(p.2))
        .min()
        .unwrap_or(0);
    let hi = loads
        .map(|p| raw.base.wrapping_add(p.2).wrapping_add(p.3))
        .max()
        .unwrap_or(0);
    let versym = versym.and_then(|v| rest(raw, ptr(raw, v)?));
    let defs = verdef
        .and_then(|v| Versions::from_verdef(rest(raw, ptr(raw, v)?)?, verdefnum, strtab).ok())
        .unwrap_or_default();
    let soname = soname.and_then(|s| read::cstr_at(strtab, s)).map(Arc::from);
    let needed = needed
        .into_iter()
        .filter_map(|n| read::cstr_at(strtab, n).map(Arc::from))
        .collect();
    Some(Module {
        name: raw.name.as_slice().into(),
        soname,
        base: raw.base,
        tab: SymTab {
            syms,
            strtab,
            hash,
            versym,
            defs,
        },
        tls_modid: raw.tls_modid,
        tls_tpoff: raw.tls_tpoff,
        code: Arc::from([]),
        ifunc_call: crate::abi::IfuncCall::default(),
        span: (lo, hi),
        c_name: raw.c_name,
        needed,
    })
}

/// True if the process has no shared C library: a static executable.
pub fn is_static(modules: &[Module<'_>]) -> bool {
    use crate::os::{C_LIBRARY_LOADER, C_LIBRARY_NAMES};
    !modules.iter().any(|m| {
        C_LIBRARY_NAMES.iter().any(|n| m.is(n))
            || C_LIBRARY_LOADER.is_some_and(|l| m.name.ends_with(l))
    })
}

/// A static host's own symbol table (`None` in a dynamically linked process).
pub fn static_symbols(modules: &[Module<'_>]) -> Option<&'static crate::static_exe::ExeSymbols> {
    // Asked at every link: the answer noted with the module list saves a scan of the scope.
    let host = STATIC_HOST.load(std::sync::atomic::Ordering::Relaxed);
    if host == DYNAMIC || (host == UNKNOWN && !is_static(modules)) {
        return None;
    }
    crate::static_exe::symbols(executable_bias())
}

/// The executable's load bias, from its program headers in memory.
fn executable_bias() -> u64 {
    let Some((phdr, phnum)) = crate::os::executable_phdrs() else {
        return 0;
    };
    // SAFETY: the system gives the executable's `phnum` program headers at `phdr`, mapped for the
    // life of the process.
    let phdrs = unsafe {
        std::slice::from_raw_parts(
            phdr as *const records::Phdr,
            usize::try_from(phnum).unwrap_or(0),
        )
    };
    phdrs
        .iter()
        .find(|p| p.p_type == PT_PHDR)
        .map_or(0, |p| phdr.wrapping_sub(p.p_vaddr))
}

/// glibc's global scope among the process's modules: the executable, the `LD_PRELOAD`
/// libraries, then the DT_NEEDED closure of both, breadth-first (the main search list glibc
/// builds at start-up). A library the system loaded later (`dlopen`, RTLD_LOCAL or not) is not
/// in it. Made once per module list (`list`, from [`modules`]), like the list.
pub fn global_scope(list: &Modules) -> Modules {
    crate::fork::install();
    let mut cache = GLOBAL_SCOPE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((seen, scope)) = cache.as_ref() {
        if Arc::ptr_eq(seen, list) {
            return scope.clone();
        }
    }
    let preload = std::env::var_os("LD_PRELOAD").unwrap_or_default();
    let scope = Arc::new(main_search_list(list, preload.as_encoded_bytes()));
    *cache = Some((list.clone(), scope.clone()));
    scope
}

/// The main search list of `list` (executable first) with the `preload` list (names separated
/// by spaces or colons, as glibc reads `LD_PRELOAD`).
fn main_search_list(list: &[Module<'static>], preload: &[u8]) -> Vec<Module<'static>> {
    let mut taken = vec![false; list.len()];
    let mut order: Vec<usize> = Vec::new();
    let mut add = |i: usize, order: &mut Vec<usize>| {
        if let Some(t) = taken.get_mut(i).filter(|t| !**t) {
            *t = true;
            order.push(i);
        }
    };
    if list.is_empty() {
        return Vec::new();
    }
    add(0, &mut order);
    for p in preload
        .split(|&c| c == b':' || c == b' ')
        .filter(|p| !p.is_empty())
    {
        // By the path glibc reports it under, else by file name or soname.
        let file = p.rsplit(|&c| c == b'/').next().unwrap_or(p);
        let at = list.iter().position(|m| &*m.name == p);
        if let Some(i) = at.or_else(|| list.iter().position(|m| m.is(file))) {
            add(i, &mut order);
        }
    }
    let mut k = 0;
    while let Some(&i) = order.get(k) {
        let needed = list.get(i).map(|m| m.needed.clone()).unwrap_or_default();
        for n in needed.iter() {
            if let Some(j) = list.iter().position(|m| m.is(n)) {
                add(j, &mut order);
            }
        }
        k += 1;
    }
    order.iter().filter_map(|&i| list.get(i).cloned()).collect()
}

/// The executable's DT_RPATH with the directory its `$ORIGIN` names, if it has one and no
/// DT_RUNPATH (glibc searches it for every library loaded on any object's behalf, after the
/// loader chain's). Read once.
pub fn executable_rpath() -> Option<(Vec<u8>, Option<std::path::PathBuf>)> {
    static RPATH: std::sync::OnceLock<Option<(Vec<u8>, Option<std::path::PathBuf>)>> =
        std::sync::OnceLock::new();
    crate::fork::once(&RPATH, || {
        let raw = raw_modules();
        let exe = raw.first()?;
        let rpath = dynamic_string(exe, d::DT_RPATH)?;
        if dynamic_string(exe, d::DT_RUNPATH).is_some() {
            return None;
        }
        let origin =
            crate::os::executable_path().and_then(|p| p.parent().map(std::path::Path::to_path_buf));
        Some((rpath, origin))
    })
    .clone()
}

/// The string of dynamic tag `tag` (an offset into DT_STRTAB) of a loaded module.
fn dynamic_string(raw: &Raw, tag: u64) -> Option<Vec<u8>> {
    let &(_, _, dvaddr, dmemsz) = raw.phdrs.iter().find(|p| p.0 == PT_DYNAMIC)?;
    let dynamic = rest(raw, raw.base.checked_add(dvaddr)?)?;
    let dynamic = dynamic.get(..usize::try_from(dmemsz).ok()?.min(dynamic.len()))?;
    let (mut strtab, mut value) = (None, None);
    for i in 0..dynamic.len() as u64 / records::DYN_SIZE {
        let (t, v) = records::dyn_at(dynamic, i)?;
        match t {
            d::DT_NULL => break,
            d::DT_STRTAB => strtab = Some(v),
            t if t == tag => value = Some(v),
            _ => {}
        }
    }
    let strtab = rest(raw, ptr(raw, strtab?)?)?;
    read::cstr_at(strtab, value?).map(<[u8]>::to_vec)
}
