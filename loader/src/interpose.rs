//! What modules dynplug loaded see when they ask the process about its modules.
//!
//! The system's `dl_iterate_phdr`, `dladdr`, `_dl_find_object`, `dlopen` and `dlsym` know only
//! the modules the system loaded. Imports of these names by modules dynplug loads bind to the
//! functions here, which answer for dynplug's modules and forward everything else to the
//! system's functions (found in the process's symbol tables, never by name through libdl).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, RwLock};

use crate::process::Module;
use crate::symbols::Name;

/// One module dynplug loaded, as `dl_iterate_phdr` and `dladdr` report it.
pub struct Entry {
    /// Its path (or name, for plugins from memory).
    pub name: CString,
    /// Its module (load bias and symbol table).
    pub module: Module<'static>,
    /// Its program headers, in its image (or a copy kept for the process).
    pub phdrs: &'static [crate::elf::records::Phdr],
    /// Run-time span of the image.
    pub start: u64,
    /// End of the span (page-rounded).
    pub end: u64,
    /// End of the last PT_LOAD's memory, unrounded (glibc's `l_map_end`).
    pub map_end: u64,
    /// Run-time address of PT_GNU_EH_FRAME (`.eh_frame_hdr`), or 0.
    pub eh_frame_hdr: u64,
    /// Its `.eh_frame` as the unwinder has it registered: a null-terminated list of one
    /// run-time address (`[0, 0]`: none), in place for the rest of the process.
    pub frames: [usize; 2],
    /// The options it was loaded under (`None`: the defaults): a library its `dlopen` loads,
    /// or returns, is held to them.
    pub opts: Option<std::sync::Arc<crate::Options>>,
    /// The local scope of the group it was loaded with (the plugin, then its libraries
    /// breadth-first): what `dlsym(RTLD_DEFAULT)` called from it searches after the global scope.
    pub local: std::sync::Arc<[Module<'static>]>,
    /// Where a library it opens by a bare name is looked for: its RPATH chain and RUNPATH.
    pub search: crate::search::Requester,
}

static ENTRIES: RwLock<Vec<&'static Entry>> = RwLock::new(Vec::new());

/// Records a module dynplug loaded (for the rest of the process).
pub fn add(e: Entry) -> &'static Entry {
    crate::fork::install();
    let e: &'static Entry = Box::leak(Box::new(e));
    ENTRIES.write().unwrap_or_else(|p| p.into_inner()).push(e);
    e
}

fn entries() -> Vec<&'static Entry> {
    ENTRIES.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The local scope of the module dynplug loaded at `base`, if it is one of dynplug's.
pub(crate) fn local_scope_of(base: u64) -> Option<std::sync::Arc<[Module<'static>]>> {
    let entries = ENTRIES.read().unwrap_or_else(|p| p.into_inner());
    let e = entries.iter().find(|e| e.module.base == base)?;
    Some(e.local.clone())
}

pub(crate) fn containing(addr: u64) -> Option<&'static Entry> {
    entries()
        .into_iter()
        .find(|e| addr >= e.start && addr < e.end)
}

/// The name of the module dynplug loaded that holds `addr` (for debug logging).
pub(crate) fn name_at(addr: u64) -> Option<String> {
    containing(addr).map(|e| e.name.to_string_lossy().into_owned())
}

/// What an import named `name` of a module dynplug loads binds to before any module's
/// definition: a function of [`lookup`], or dynplug's `__tls_get_addr` (the system's knows
/// nothing of dynplug's modules; dynplug's forwards the others).
pub(crate) fn served(name: &[u8]) -> Option<u64> {
    if name == b"__tls_get_addr" {
        return Some(crate::tls::tls_get_addr as *const () as usize as u64);
    }
    lookup(name)
}

/// The function dynplug serves in place of the system's for an import named `name`. These are
/// the names a plugin imports; dynplug answers them itself (it never calls the system's to load).
pub fn lookup(name: &[u8]) -> Option<u64> {
    let f: *const () = match name {
        b"dl_iterate_phdr" => serve_iterate_phdr as *const (),
        b"dladdr" => serve_addr as *const (),
        b"_dl_find_object" => serve_find_object as *const (),
        b"dlopen" => served_entries().0,
        b"dlsym" => served_entries().1,
        b"dlvsym" => served_entries().2,
        b"dlerror" => serve_error as *const (),
        b"dlinfo" => serve_info as *const (),
        b"dlclose" => serve_close as *const (),
        b"backtrace_symbols" => crate::backtrace::serve_symbols as *const (),
        b"backtrace_symbols_fd" => crate::backtrace::serve_symbols_fd as *const (),
        _ => return None,
    };
    Some(f as usize as u64)
}

/// A function of the system's, found in the process's dynamic symbol tables.
pub(crate) fn system(name: &'static [u8]) -> Option<u64> {
    let key = Name::new(name);
    crate::process::modules().iter().find_map(|m| {
        m.tab
            .find(&key, None)
            .map(|(_, s)| m.base.wrapping_add(s.value))
    })
}

/// `dl_iterate_phdr`: the system's modules, then dynplug's.
unsafe extern "C" fn serve_iterate_phdr(
    cb: Option<crate::os::IterateCallback>,
    data: *mut c_void,
) -> c_int {
    let Some(cb) = cb else { return 0 };
    // SAFETY: the system's dl_iterate_phdr with the caller's own callback and data.
    let r = unsafe { crate::os::iterate_phdr(Some(cb), data) };
    if r != 0 {
        return r;
    }
    for e in entries() {
        let tls_modid = e.module.tls_modid;
        let mut info = crate::os::DlPhdrInfo {
            dlpi_addr: e.module.base,
            dlpi_name: e.name.as_ptr(),
            dlpi_phdr: e.phdrs.as_ptr(),
            dlpi_phnum: u16::try_from(e.phdrs.len()).unwrap_or(u16::MAX),
            dlpi_adds: 0,
            dlpi_subs: 0,
            dlpi_tls_modid: tls_modid as usize,
            dlpi_tls_data: if tls_modid == 0 {
                std::ptr::null_mut()
            } else {
                crate::tls::block(tls_modid) as *mut c_void
            },
        };
        // SAFETY: the callback gets a valid info for the duration of the call, as the system's
        // dl_iterate_phdr gives it.
        let r = unsafe {
            cb(
                &mut info,
                std::mem::size_of::<crate::os::DlPhdrInfo>(),
                data,
            )
        };
        if r != 0 {
            return r;
        }
    }
    0
}

/// `dladdr`: for an address in one of dynplug's modules, its file and nearest exported symbol.
unsafe extern "C" fn serve_addr(addr: *const c_void, info: *mut libc::Dl_info) -> c_int {
    if info.is_null() {
        return 0;
    }
    let a = addr as u64;
    // dynplug's modules, then the system's: every answer comes from the modules' own tables.
    let (fname, fbase, best) = if let Some(e) = containing(a) {
        (e.name.as_ptr(), e.start, nearest(&e.module, a))
    } else {
        let modules = crate::process::modules();
        let Some(m) = modules.iter().find(|m| a >= m.span.0 && a < m.span.1) else {
            return 0;
        };
        let empty: &'static [u8; 1] = b"\0";
        let fname = if m.c_name == 0 {
            empty.as_ptr() as *const c_char
        } else {
            m.c_name as *const c_char
        };
        (fname, m.span.0, nearest(m, a))
    };
    // SAFETY: `info` is the caller's Dl_info to fill; the strings are the modules' own (or the
    // system loader's name of a module), mapped as long as the module is.
    unsafe {
        (*info).dli_fname = fname;
        (*info).dli_fbase = fbase as *mut c_void;
        (*info).dli_sname = best.map_or(std::ptr::null(), |b| b.1);
        (*info).dli_saddr = best.map_or(std::ptr::null_mut(), |b| b.0 as *mut c_void);
    }
    1
}

/// The exported symbol of `m` that contains `addr` (the nearest one below it, as dladdr says).
pub(crate) fn nearest(m: &Module<'_>, addr: u64) -> Option<(u64, *const c_char)> {
    let tab = &m.tab;
    let mut best: Option<(u64, *const c_char)> = None;
    for i in 0..u32::try_from(tab.count()).unwrap_or(u32::MAX) {
        let Some(s) = tab.sym(i) else { break };
        if !s.is_export() || s.is_tls() {
            continue;
        }
        let start = m.base.wrapping_add(s.value);
        if start <= addr
            && addr < start.saturating_add(s.size.max(1))
            && best.is_none_or(|(b, _)| start > b)
        {
            if let Some(n) = tab.name(&s) {
                best = Some((start, n.as_ptr() as *const c_char));
            }
        }
    }
    best
}

/// glibc's `struct dl_find_object`.
#[repr(C)]
pub struct DlFindObject {
    flags: u64,
    map_start: *mut c_void,
    map_end: *mut c_void,
    link_map: *mut c_void,
    eh_frame: *mut c_void,
    reserved: [u64; 7],
}

/// `_dl_find_object`: dynplug's modules answer for themselves, as glibc fills the struct: the
/// map from the first page to the unrounded end of the last segment, the link map `dlinfo`
/// gives for the module, and PT_GNU_EH_FRAME (an unwinder reads `.eh_frame_hdr` there).
unsafe extern "C" fn serve_find_object(pc: *mut c_void, out: *mut DlFindObject) -> c_int {
    if let Some(e) = containing(pc as u64) {
        if out.is_null() {
            return -1;
        }
        let map = link_map(e.module.base).unwrap_or(std::ptr::null_mut());
        // SAFETY: `out` is the caller's struct to fill.
        unsafe {
            (*out).flags = 0;
            (*out).map_start = e.start as *mut c_void;
            (*out).map_end = e.map_end as *mut c_void;
            (*out).link_map = map as *mut c_void;
            (*out).eh_frame = e.eh_frame_hdr as *mut c_void;
        }
        return 0;
    }
    match system(b"_dl_find_object") {
        Some(f) => {
            // SAFETY: the system's _dl_find_object, with the caller's arguments.
            let f: unsafe extern "C" fn(*mut c_void, *mut DlFindObject) -> c_int =
                unsafe { std::mem::transmute::<usize, _>(f as usize) };
            // SAFETY: as above.
            unsafe { f(pc, out) }
        }
        None => -1,
    }
}

thread_local! {
    static LAST_ERROR: std::cell::RefCell<Option<CString>> = const { std::cell::RefCell::new(None) };
}

fn set_error(msg: String) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(c));
}

/// A handle `dlopen` returned: the module dynplug loaded for it.
struct Handle {
    image: crate::Image,
}

/// The handle for `dlopen(NULL)`: the global scope.
static GLOBAL: u8 = 0;

/// The libraries `dlopen` gave, by canonical path.
static OPENED: Mutex<Vec<(std::path::PathBuf, &'static Handle)>> = Mutex::new(Vec::new());
/// The link maps made for modules dynplug loaded: (load bias, record).
static MADE: Mutex<Vec<(u64, usize)>> = Mutex::new(Vec::new());
/// The strings `dlerror` returned (each must outlive the call that returned it).
static KEEP: Mutex<Vec<CString>> = Mutex::new(Vec::new());

fn opened() -> MutexGuard<'static, Vec<(std::path::PathBuf, &'static Handle)>> {
    OPENED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the locks held around others for a fork (`fork::prepare`): `dlopen`'s list (held
/// while it loads) and the link maps (held while reading the entries).
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(opened()));
    held.push(Box::new(MADE.lock().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_DLOPEN: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::Dlopen,
    take: lock_all,
    in_child: None,
};

/// Takes the entries' lock for a fork (taken while a load holds the shared list).
fn lock_entries(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(ENTRIES.write().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_ENTRIES: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::Entries,
    take: lock_entries,
    in_child: None,
};

/// Takes the locks held around no other for a fork.
fn lock_leaves(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(KEEP.lock().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_LEAVES: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::Leaves,
    take: lock_leaves,
    in_child: None,
};

crate::abi::served_with_caller!(serve_open, serve_symbol, serve_versioned_symbol);

/// The `dlopen`, `dlsym` and `dlvsym` modules dynplug loads bind to: the machine's stubs that
/// pass the caller, else functions that cannot know it (no module's options, no caller's name).
fn served_entries() -> (*const (), *const (), *const ()) {
    if let Some(entries) = entries_with_caller() {
        return entries;
    }
    unsafe extern "C" fn open(file: *const c_char, flags: c_int) -> *mut c_void {
        // SAFETY: forwarded.
        unsafe { serve_open(file, flags, 0) }
    }
    unsafe extern "C" fn symbol(h: *mut c_void, name: *const c_char) -> *mut c_void {
        // SAFETY: forwarded.
        unsafe { serve_symbol(h, name, 0) }
    }
    unsafe extern "C" fn versioned(
        h: *mut c_void,
        name: *const c_char,
        version: *const c_char,
    ) -> *mut c_void {
        // SAFETY: forwarded.
        unsafe { serve_versioned_symbol(h, name, version, 0) }
    }
    (
        open as *const (),
        symbol as *const (),
        versioned as *const (),
    )
}

/// `dlopen` called by a module dynplug loaded (the code at `caller`): dynplug loads the library
/// (once per path, never closed) and runs its initialisers. A library loaded for a module
/// opened under an import policy is held to it, loaded now or earlier.
unsafe extern "C" fn serve_open(file: *const c_char, flags: c_int, caller: u64) -> *mut c_void {
    let from = containing(caller);
    let opts = from.and_then(|e| e.opts.clone());
    let global = flags & libc::RTLD_GLOBAL != 0;
    if file.is_null() {
        return &GLOBAL as *const u8 as *mut c_void;
    }
    // SAFETY: dlopen's argument is a NUL-terminated path.
    let name = unsafe { CStr::from_ptr(file) }.to_bytes().to_vec();
    // The caller's RPATH chain and RUNPATH, as glibc searches for the caller.
    let req = from.map_or_else(Default::default, |e| e.search.clone());
    // A bare name the process already has (its soname or file name) is that library, wherever
    // it was found (glibc matches loaded objects before searching); else the search paths.
    let found = loaded_named(&name).or_else(|| {
        crate::search::candidates(&name, &req, &[])
            .into_iter()
            .find(|p| crate::file::regular_canonical(p).is_some())
    });
    let Some(path) = found.and_then(|p| crate::file::regular_canonical(&p)) else {
        set_error(format!(
            "{}: cannot open shared object file: not found",
            String::from_utf8_lossy(&name)
        ));
        return std::ptr::null_mut();
    };
    let handle_of = |list: &[(std::path::PathBuf, &'static Handle)]| {
        list.iter().find(|(p, _)| *p == path).map(|(_, h)| *h)
    };
    let given = |h: &'static Handle| promoted(held_to(h, opts.as_deref(), &path), global);
    if let Some(h) = handle_of(&opened()) {
        return given(h);
    }
    // A library the process has (the system's, or one dynplug loaded) is that copy, as dlopen
    // returns it: loading a second libc, say, would run its initialisers again. Looked up
    // without the list locked: it waits if another thread is still initialising the library,
    // and that thread's initialisers may call dlopen too.
    if let Some(image) = crate::file::id(&path).and_then(|id| crate::Image::existing(&path, id)) {
        let mut list = opened();
        // Its handle, by path, or by another path to the same file (a hard link), as glibc's.
        let same = |l: &[(std::path::PathBuf, &'static Handle)]| {
            l.iter()
                .find(|(_, h)| h.image.bias() == image.bias())
                .map(|(_, h)| *h)
        };
        let h = match handle_of(&list).or_else(|| same(&list)) {
            Some(h) => h,
            None => {
                let h: &'static Handle = Box::leak(Box::new(Handle { image }));
                list.push((path.clone(), h));
                h
            }
        };
        drop(list);
        return given(h);
    }
    let mut list = opened();
    if let Some(h) = handle_of(&list) {
        drop(list);
        return given(h);
    }
    // As `Plugin::open`: the global scope, then the library's own; loaded under the caller's
    // options, and RTLD_GLOBAL makes it join the global scope.
    let mut options = opts.as_deref().cloned().unwrap_or_default();
    options.global = global;
    match crate::Image::open(Path::new(&path), &options, &[]) {
        Ok(image) => {
            let h: &'static Handle = Box::leak(Box::new(Handle { image }));
            list.push((path, h));
            drop(list);
            // SAFETY: a freshly loaded image; its initialisers run once, here, as dlopen's do.
            unsafe { h.image.run_initialisers() };
            h as *const Handle as *mut c_void
        }
        Err(e) => {
            set_error(format!("{}: {e}", path.display()));
            std::ptr::null_mut()
        }
    }
}

/// `handle` (null: refused), its library made to join the global scope first when `global`
/// (RTLD_GLOBAL on a library open already, as glibc promotes it).
fn promoted(handle: *mut c_void, global: bool) -> *mut c_void {
    if global && !handle.is_null() {
        // SAFETY: every non-null handle given here is a leaked `Handle` of the opened list.
        let h = unsafe { &*(handle as *const Handle) };
        crate::group::join_loaded(h.image.bias());
    }
    handle
}

/// The handle `h` of a library loaded earlier, for a caller loaded under `opts`: null (and the
/// error `dlerror` gives) if the library, or one dynplug loaded for it, imports what the
/// caller's policy forbids.
fn held_to(h: &'static Handle, opts: Option<&crate::Options>, path: &Path) -> *mut c_void {
    let breaches = opts.map(|o| h.image.breaches(o)).unwrap_or_default();
    if breaches.is_empty() {
        return h as *const Handle as *mut c_void;
    }
    set_error(format!(
        "{}: {}",
        path.display(),
        crate::LoadError::ImportsNotAllowed(breaches)
    ));
    std::ptr::null_mut()
}

/// The file of the module the process has that answers to the bare name `name` (no `/`): its
/// soname or file name, the system's modules first.
fn loaded_named(name: &[u8]) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    if name.contains(&b'/') {
        return None;
    }
    let file = |m: &Module<'_>| {
        (m.is(name) && !m.name.is_empty())
            .then(|| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&m.name)))
    };
    crate::process::modules()
        .iter()
        .find_map(file)
        .or_else(|| entries().iter().find_map(|e| file(&e.module)))
}

/// `dlsym` called by a module dynplug loaded.
unsafe extern "C" fn serve_symbol(
    handle: *mut c_void,
    name: *const c_char,
    caller: u64,
) -> *mut c_void {
    if name.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: dlsym's symbol name is NUL-terminated.
    let n = unsafe { CStr::from_ptr(name) };
    match allowed_for(caller, n, find_symbol(handle, n, None, caller)) {
        Ok(found) => answer(found, handle, caller, n),
        Err(refused) => refused,
    }
}

/// `dlvsym` called by a module dynplug loaded: `dlsym` of the definition at `version` (what
/// an interposer asks for with `RTLD_NEXT`, to find the implementation it wraps).
unsafe extern "C" fn serve_versioned_symbol(
    handle: *mut c_void,
    name: *const c_char,
    version: *const c_char,
    caller: u64,
) -> *mut c_void {
    if name.is_null() || version.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: dlvsym's symbol and version names are NUL-terminated.
    let (n, v) = unsafe { (CStr::from_ptr(name), CStr::from_ptr(version)) };
    match allowed_for(
        caller,
        n,
        find_symbol(handle, n, Some(v.to_bytes()), caller),
    ) {
        Ok(found) => answer(found, handle, caller, n),
        Err(refused) => refused,
    }
}

/// `found` for a caller loaded under an import policy if the policy allows `name` (or the host
/// exports it), or the definition lies in a module loaded under the same policy (the caller's
/// own, or a library loaded on its behalf, checked then): else null, with the error `dlerror`
/// gives. Without a policy, `found`.
fn allowed_for(caller: u64, name: &CStr, found: Option<u64>) -> Result<Option<u64>, *mut c_void> {
    let Some(addr) = found else {
        return Ok(None);
    };
    let Some(opts) = containing(caller).and_then(|e| e.opts.clone()) else {
        return Ok(found);
    };
    let n = name.to_bytes();
    let same_policy = || {
        containing(addr)
            .and_then(|e| e.opts.clone())
            .is_some_and(|o| o.policy == opts.policy)
    };
    if opts.exports.contains_key(n) || opts.policy.allows(n) || same_policy() {
        return Ok(found);
    }
    set_error(
        crate::LoadError::ImportsNotAllowed(vec![name.to_string_lossy().into_owned()]).to_string(),
    );
    Err(std::ptr::null_mut())
}

/// The address, or null with the error `dlerror` gives.
fn answer(found: Option<u64>, handle: *mut c_void, caller: u64, name: &CStr) -> *mut c_void {
    if let Some(a) = found {
        return a as *mut c_void;
    }
    // As glibc words it: the object searched from (the handle's library; the program, named by
    // argv[0], for `dlopen(NULL)`'s; the caller for RTLD_DEFAULT and RTLD_NEXT), then the
    // symbol.
    let default_or_next = handle.is_null() || handle as usize == usize::MAX;
    let object = match own_handle(handle) {
        Some(h) => Some(String::from_utf8_lossy(&h.image.module().name).into_owned()),
        None if std::ptr::eq(handle as *const u8, &GLOBAL) => Some(program_name()),
        None if default_or_next => containing(caller).map(|e| e.name.to_string_lossy().into()),
        None => None,
    };
    let symbol = name.to_string_lossy();
    set_error(match object {
        Some(o) => format!("{o}: undefined symbol: {symbol}"),
        None => format!("undefined symbol: {symbol}"),
    });
    std::ptr::null_mut()
}

/// The program's name as glibc gives it in errors: `argv[0]`, else `<main program>`.
fn program_name() -> String {
    let (argc, argv, _) = crate::init::args();
    if argc < 1 || argv.is_null() {
        return "<main program>".into();
    }
    // SAFETY: argv holds argc pointers, from the C runtime; argv[0] is null or a C string.
    let first = unsafe { *argv };
    if first.is_null() {
        return "<main program>".into();
    }
    // SAFETY: as above, a NUL-terminated string that lives as long as the process.
    unsafe { CStr::from_ptr(first) }
        .to_string_lossy()
        .into_owned()
}

/// What `dlsym` (`version`: `dlvsym`) gives for `name` and `handle`: a plugin's or library's
/// own definition for a handle dynplug returned; for `RTLD_NEXT`, the next definition after the
/// caller's module ([`next_after`]); else (`RTLD_DEFAULT`, `dlopen(NULL)`, a system handle) the
/// global scope, then the local scope of the module the call came from (`caller`, a return
/// address), as glibc searches the caller's scope.
fn find_symbol(
    handle: *mut c_void,
    name: &CStr,
    version: Option<&[u8]>,
    caller: u64,
) -> Option<u64> {
    if handle == libc::RTLD_NEXT {
        return next_after(caller, name, version);
    }
    match (own_handle(handle), version) {
        (Some(h), None) => name.to_str().ok().and_then(|s| h.image.lookup(s)),
        (Some(h), Some(_)) => defined_in(h.image.module(), name, version),
        (None, _) => crate::process::global_scope(&crate::process::modules())
            .iter()
            .find_map(|m| defined_in(m, name, version))
            .or_else(|| {
                crate::group::joined()
                    .iter()
                    .find_map(|m| defined_in(m, name, version))
            })
            .or_else(|| {
                containing(caller)?
                    .local
                    .iter()
                    .find_map(|m| defined_in(m, name, version))
            }),
    }
}

/// `dlsym(RTLD_NEXT)` from `caller`: the first definition in the caller's local scope (its
/// group's plugin, then its libraries breadth-first) after the caller's own module, as glibc
/// searches the local scope of a loaded object's root past the caller (`_dl_sym`); an interposer
/// finds so what it wraps, never itself.
fn next_after(caller: u64, name: &CStr, version: Option<&[u8]>) -> Option<u64> {
    let local = &containing(caller)?.local;
    let at = local
        .iter()
        .position(|m| caller >= m.span.0 && caller < m.span.1)?;
    let after = local.get(at + 1..)?;
    if let Some(found) = after.iter().find_map(|m| defined_in(m, name, version)) {
        return Some(found);
    }
    // The libraries of the group the global scope had already (the C library...): glibc's
    // local scope holds them too; dynplug's lists only what the group added.
    let global = crate::process::global_scope(&crate::process::modules());
    needed_from(local, &global)
        .into_iter()
        .find_map(|m| defined_in(m, name, version))
}

/// The modules of `global` that `from` needs, directly or through one another, breadth-first.
fn needed_from<'g>(from: &[Module<'_>], global: &'g [Module<'static>]) -> Vec<&'g Module<'static>> {
    let mut names: Vec<std::sync::Arc<[u8]>> =
        from.iter().flat_map(|m| m.needed.iter().cloned()).collect();
    let mut found: Vec<&Module<'static>> = Vec::new();
    let mut next = 0;
    while let Some(n) = names.get(next).cloned() {
        next += 1;
        let m = global.iter().find(|m| m.is(&n));
        if let Some(m) = m.filter(|m| !found.iter().any(|f| std::ptr::eq(*f, *m))) {
            found.push(m);
            names.extend(m.needed.iter().cloned());
        }
    }
    found
}

/// The library behind `handle`, if dynplug's `dlopen` gave it.
fn own_handle(handle: *mut c_void) -> Option<&'static Handle> {
    opened()
        .iter()
        .map(|&(_, h)| h)
        .find(|&h| std::ptr::eq(h as *const Handle as *const c_void, handle))
}

/// The address `name` (at `version`, else the default version) is defined at in `m`, as
/// `dlsym` gives it: an IFUNC's implementation, not its resolver; no thread-local symbol.
fn defined_in(m: &Module<'_>, name: &CStr, version: Option<&[u8]>) -> Option<u64> {
    let (_, s) = m.tab.find(&Name::new(name.to_bytes()), version)?;
    if s.is_tls() {
        return None;
    }
    // SAFETY: a module of the process's scope or one dynplug loaded, asked for by a plugin's
    // running code: relocated and running.
    Some(unsafe { crate::exports::dlsym_address(&s, m) })
}

/// The public part of glibc's `struct link_map` (`<link.h>`).
#[repr(C)]
pub struct LinkMap {
    l_addr: u64,
    l_name: *const c_char,
    l_ld: *const c_void,
    l_next: *mut LinkMap,
    l_prev: *mut LinkMap,
}

/// `RTLD_DI_LINKMAP` and `RTLD_DI_ORIGIN` (`<dlfcn.h>`).
const RTLD_DI_LINKMAP: c_int = 2;
const RTLD_DI_ORIGIN: c_int = 6;

/// `dlinfo` called by a module dynplug loaded, for a handle dynplug gave (or `dlopen(NULL)`'s):
/// `RTLD_DI_LINKMAP` (the system loader's own record for a library it loaded, a record of the
/// public fields for one dynplug loaded) and `RTLD_DI_ORIGIN`. Any other handle is the
/// system's, and so is the answer.
unsafe extern "C" fn serve_info(handle: *mut c_void, request: c_int, arg: *mut c_void) -> c_int {
    let global = std::ptr::eq(handle as *const u8, &GLOBAL);
    let own = own_handle(handle);
    if own.is_none() && !global {
        let Some(f) = system(b"dlinfo") else {
            set_error("dlinfo: not available".into());
            return -1;
        };
        type Info = unsafe extern "C" fn(*mut c_void, c_int, *mut c_void) -> c_int;
        // SAFETY: the system's `dlinfo`, given the caller's arguments unchanged.
        return unsafe { std::mem::transmute::<usize, Info>(f as usize)(handle, request, arg) };
    }
    if arg.is_null() {
        set_error("dlinfo: null argument".into());
        return -1;
    }
    match request {
        RTLD_DI_LINKMAP => {
            let map = match own {
                Some(h) => link_map(h.image.bias()),
                // The executable: the first of the system loader's list.
                None => system_link_maps().next(),
            };
            let Some(map) = map else {
                set_error("dlinfo: no link map".into());
                return -1;
            };
            // SAFETY: RTLD_DI_LINKMAP's argument points to a `struct link_map *`.
            unsafe { (arg as *mut *mut LinkMap).write(map) };
            0
        }
        RTLD_DI_ORIGIN => {
            use std::os::unix::ffi::OsStrExt;
            // The library's file as its module names it (dynplug's: the canonical path).
            let path = match own {
                Some(h) => Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(
                    &h.image.module().name,
                ))),
                None => std::env::current_exe().ok(),
            };
            let dir = path
                .as_deref()
                .and_then(Path::parent)
                .map_or(&b"."[..], |d| d.as_os_str().as_bytes());
            // SAFETY: RTLD_DI_ORIGIN's argument is a buffer of at least PATH_MAX bytes (the
            // caller's promise, as with glibc); the directory of a path is shorter.
            unsafe {
                std::ptr::copy_nonoverlapping(dir.as_ptr(), arg as *mut u8, dir.len());
                (arg as *mut u8).add(dir.len()).write(0);
            }
            0
        }
        _ => {
            set_error(format!(
                "dlinfo: request {request} is not supported for a library dynplug loaded"
            ));
            -1
        }
    }
}

/// The system loader's `struct link_map` records, from `_r_debug.r_map` on.
fn system_link_maps() -> impl Iterator<Item = *mut LinkMap> {
    // `struct r_debug { int r_version; struct link_map *r_map; ... }`.
    let first = system(b"_r_debug").map_or(std::ptr::null_mut(), |d| {
        // SAFETY: `_r_debug` is the system loader's public debugger record, live for the process.
        unsafe { ((d as usize + 8) as *const *mut LinkMap).read() }
    });
    std::iter::successors((!first.is_null()).then_some(first), |&m| {
        // SAFETY: a record of the system loader's list, whose `l_next` is null or the next one.
        let next = unsafe { (*m).l_next };
        (!next.is_null()).then_some(next)
    })
}

/// The link map for the module at `base`: the system loader's record if it loaded it, else a
/// record of the public fields for a module dynplug loaded (made once, kept).
fn link_map(base: u64) -> Option<*mut LinkMap> {
    // SAFETY: records of the system loader's list (see `system_link_maps`).
    if let Some(m) = system_link_maps().find(|&m| unsafe { (*m).l_addr } == base) {
        return Some(m);
    }
    let mut made = MADE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&(_, m)) = made.iter().find(|(b, _)| *b == base) {
        return Some(m as *mut LinkMap);
    }
    let e = entries().into_iter().find(|e| e.module.base == base)?;
    let dynamic = e
        .phdrs
        .iter()
        .find(|p| p.p_type == crate::elf::records::PT_DYNAMIC)
        .map_or(std::ptr::null(), |p| {
            base.wrapping_add(p.p_vaddr) as *const c_void
        });
    let m: &'static mut LinkMap = Box::leak(Box::new(LinkMap {
        l_addr: base,
        l_name: e.name.as_ptr(),
        l_ld: dynamic,
        l_next: std::ptr::null_mut(),
        l_prev: std::ptr::null_mut(),
    }));
    let m = m as *mut LinkMap;
    made.push((base, m as usize));
    Some(m)
}

/// `dlerror`: the last error of this thread, once.
unsafe extern "C" fn serve_error() -> *mut c_char {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        // The string must outlive this call: it is kept (KEEP).
        match e.take() {
            Some(c) => {
                let p = c.as_ptr() as *mut c_char;
                KEEP.lock().unwrap_or_else(|p| p.into_inner()).push(c);
                p
            }
            None => std::ptr::null_mut(),
        }
    })
}

/// `dlclose`: plugins and their libraries are never unloaded.
unsafe extern "C" fn serve_close(_handle: *mut c_void) -> c_int {
    0
}
