//! Thread-local storage of modules dynplug loaded: module ids, per-thread blocks made on first
//! use from the module's TLS image, dynplug's own `__tls_get_addr`, and what the TLS descriptor
//! resolvers (the machine's, in `abi`) call.
//!
//! The system's `__tls_get_addr` knows nothing of dynplug's modules, so their imports of it bind
//! to [`tls_get_addr`], which serves dynplug's module ids and forwards the others to the system.

use std::alloc::{self, Layout};
use std::sync::{OnceLock, RwLock};

use crate::error::StaticTlsRefusal;

/// dynplug's module ids start here, far above any id glibc hands out.
pub const FIRST_MODID: u64 = 1 << 40;

/// A module's TLS initialisation image.
#[derive(Clone, Copy, Debug)]
pub struct TlsImage {
    /// Run-time address of `.tdata`.
    pub init: u64,
    /// Bytes of `.tdata`.
    pub filesz: u64,
    /// Whole block (`.tdata` + `.tbss`).
    pub memsz: u64,
    /// Alignment.
    pub align: u64,
}

/// Where a module's blocks are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    /// Its group is being linked: no code has its blocks yet, it may still be placed statically.
    Open,
    /// Made per thread on first use.
    Dynamic,
    /// In dynplug's static TLS reserve, at this offset from the thread pointer in every thread.
    Static(u64),
}

/// A registered module: its image and where its blocks are.
#[derive(Clone, Copy, Debug)]
struct Entry {
    image: TlsImage,
    placement: Placement,
}

static IMAGES: RwLock<Vec<Entry>> = RwLock::new(Vec::new());

/// Registers a module's TLS image and returns its module id. Its blocks may be placed in static
/// TLS ([`place_static`]) until [`seal`] is called with its id.
pub fn register(image: TlsImage) -> u64 {
    crate::fork::install();
    let mut v = IMAGES.write().unwrap_or_else(|p| p.into_inner());
    v.push(Entry {
        image,
        placement: Placement::Open,
    });
    FIRST_MODID + (v.len() as u64 - 1)
}

/// The registry index of dynplug module id `modid`.
fn index_of(modid: u64) -> Option<usize> {
    usize::try_from(modid.checked_sub(FIRST_MODID)?).ok()
}

/// Places module `modid`'s block in dynplug's static TLS reserve (once; later calls give the
/// same answer): its offset from the thread pointer, the same in every thread.
pub fn place_static(modid: u64) -> Result<u64, StaticTlsRefusal> {
    let mut v = IMAGES.write().unwrap_or_else(|p| p.into_inner());
    let entry = index_of(modid)
        .and_then(|i| v.get_mut(i))
        .ok_or(StaticTlsRefusal::InUse)?;
    match entry.placement {
        Placement::Static(tpoff) => Ok(tpoff),
        Placement::Dynamic => Err(StaticTlsRefusal::InUse),
        Placement::Open => {
            // SAFETY: a registered image lies in its module's PT_LOAD (checked when the layout
            // was read). An open entry is of the group being linked, still mapped: a group that
            // failed before relocating left its modules in no later scope, so no relocation
            // names them.
            if !unsafe { image_is_zero(&entry.image) } {
                return Err(StaticTlsRefusal::InitialisedData);
            }
            let tpoff = crate::static_tls::carve(&entry.image)?;
            entry.placement = Placement::Static(tpoff);
            Ok(tpoff)
        }
    }
}

/// Module `modid`'s offset from the thread pointer, if its block is in static TLS.
pub fn static_offset(modid: u64) -> Option<u64> {
    let v = IMAGES.read().unwrap_or_else(|p| p.into_inner());
    match index_of(modid).and_then(|i| v.get(i))?.placement {
        Placement::Static(tpoff) => Some(tpoff),
        _ => None,
    }
}

/// Ends static placement for the modules `modids`: their group is relocated, and its code may
/// run from now on (a block handed out dynamically could not move any more).
pub fn seal(modids: &[u64]) {
    if modids.iter().all(|&m| m == 0) {
        return;
    }
    let mut v = IMAGES.write().unwrap_or_else(|p| p.into_inner());
    for &m in modids {
        if let Some(entry) = index_of(m).and_then(|i| v.get_mut(i)) {
            if entry.placement == Placement::Open {
                entry.placement = Placement::Dynamic;
            }
        }
    }
}

/// The first of `modids` placed in static TLS whose image is no longer all zero: its group's
/// relocations wrote into it (a pointer in `.tdata`), which the reserve cannot give threads.
pub fn written_static(modids: &[u64]) -> Option<u64> {
    if modids.iter().all(|&m| m == 0) {
        return None;
    }
    let v = IMAGES.read().unwrap_or_else(|p| p.into_inner());
    modids.iter().copied().find(|&m| {
        index_of(m).and_then(|i| v.get(i)).is_some_and(|e| {
            // SAFETY: as in `place_static`: the caller's group is still mapped.
            matches!(e.placement, Placement::Static(_)) && !unsafe { image_is_zero(&e.image) }
        })
    })
}

/// True if the image's initialised bytes are all zero.
///
/// # Safety
/// `image.filesz` bytes at `image.init` must be mapped and readable.
unsafe fn image_is_zero(image: &TlsImage) -> bool {
    let Ok(len) = usize::try_from(image.filesz.min(image.memsz)) else {
        return false;
    };
    if len == 0 {
        return true;
    }
    // SAFETY: the caller's promise.
    let bytes = unsafe { std::slice::from_raw_parts(image.init as *const u8, len) };
    bytes.iter().all(|&b| b == 0)
}

/// Takes the images' lock for a fork (`fork::prepare`).
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(IMAGES.write().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_TLSIMAGES: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::TlsImages,
    take: lock_all,
    in_child: None,
};

/// One thread's blocks, by module index.
type Blocks = Vec<(*mut u8, Layout)>;

/// Frees a thread's blocks when it exits. A POSIX key's destructor runs after the C++ and Rust
/// thread-local destructors (glibc runs `__cxa_thread_atexit` ones first), which may still use
/// the blocks; if a later destructor touches TLS again, a new table is made and freed in turn.
unsafe extern "C" fn free_blocks(table: *mut libc::c_void) {
    // SAFETY: `table` is the Box<Blocks> stored by `table()` for this thread, freed once here.
    let blocks = unsafe { Box::from_raw(table as *mut Blocks) };
    for &(p, l) in blocks.iter() {
        // A zero-size layout: a block in static TLS, not allocated.
        if !p.is_null() && l.size() != 0 {
            // SAFETY: allocated in `block` with exactly this layout, freed once.
            unsafe { alloc::dealloc(p, l) };
        }
    }
}

/// The POSIX key holding each thread's table.
fn key() -> Option<libc::pthread_key_t> {
    static KEY: OnceLock<Option<libc::pthread_key_t>> = OnceLock::new();
    *crate::fork::once(&KEY, || {
        let mut k: libc::pthread_key_t = 0;
        // SAFETY: creates a key with a destructor of the right type.
        (unsafe { libc::pthread_key_create(&mut k, Some(free_blocks)) } == 0).then_some(k)
    })
}

/// This thread's table, made on first use.
fn table() -> Option<&'static mut Blocks> {
    let k = key()?;
    // SAFETY: reading this thread's value of our own key.
    let mut t = unsafe { libc::pthread_getspecific(k) } as *mut Blocks;
    if t.is_null() {
        t = Box::into_raw(Box::new(Blocks::new()));
        // SAFETY: storing this thread's table under our own key.
        if unsafe { libc::pthread_setspecific(k, t as *const libc::c_void) } != 0 {
            // SAFETY: not stored, so still ours to free.
            drop(unsafe { Box::from_raw(t) });
            return None;
        }
    }
    // SAFETY: the table belongs to this thread alone and lives until the thread exits; callers
    // do not hold the reference across calls.
    Some(unsafe { &mut *t })
}

/// This thread's block of dynplug module `modid`, made on first use.
pub(crate) fn block(modid: u64) -> *mut u8 {
    let Some(index) = index_of(modid) else {
        return std::ptr::null_mut();
    };
    let Some(b) = table() else {
        return std::ptr::null_mut();
    };
    if let Some(&(p, _)) = b.get(index) {
        if !p.is_null() {
            return p;
        }
    }
    let Some(entry) = IMAGES
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(index)
        .copied()
    else {
        return std::ptr::null_mut();
    };
    let slot = |b: &mut Blocks, p: *mut u8, layout: Layout| {
        if b.len() <= index {
            b.resize(index + 1, (std::ptr::null_mut(), Layout::new::<()>()));
        }
        if let Some(s) = b.get_mut(index) {
            *s = (p, layout);
        }
    };
    if let Placement::Static(tpoff) = entry.placement {
        // The block initial-exec code of the module reaches (not allocated: a zero-size layout).
        let p = crate::abi::thread_pointer().wrapping_add(tpoff) as *mut u8;
        slot(b, p, Layout::new::<()>());
        return p;
    }
    let img = entry.image;
    let (Ok(size), Ok(align)) = (
        usize::try_from(img.memsz.max(1)),
        usize::try_from(img.align.max(1)),
    ) else {
        return std::ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(size, align) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc::alloc_zeroed(layout) };
    if p.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: `.tdata` (filesz ≤ memsz bytes at `init`) is mapped in the module's image, and the
    // new block has room for memsz bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(img.init as *const u8, p, img.filesz.min(img.memsz) as usize)
    };
    slot(b, p, layout);
    p
}

/// The system's `__tls_get_addr`, for module ids that are not dynplug's.
static SYSTEM_TLS_GET_ADDR: OnceLock<u64> = OnceLock::new();

/// Records the system's `__tls_get_addr` (found in the process's modules). The first address
/// recorded stays.
pub fn set_system(addr: u64) {
    let _ = SYSTEM_TLS_GET_ADDR.set(addr);
}

/// True once the system's `__tls_get_addr` is recorded: later opens need not look for it.
pub fn system_known() -> bool {
    SYSTEM_TLS_GET_ADDR.get().is_some()
}

/// `tls_index` as the ABI defines it: module id and offset.
#[repr(C)]
pub struct TlsIndex {
    module: u64,
    offset: u64,
}

/// dynplug's `__tls_get_addr`: the address of a TLS variable for the calling thread.
///
/// # Safety
/// `ti` must point at a `tls_index` written by a DTPMOD/DTPOFF relocation pair.
pub unsafe extern "C" fn tls_get_addr(ti: *const TlsIndex) -> *mut u8 {
    // SAFETY: the caller passes a valid tls_index (compiler-generated code does).
    let ti = unsafe { &*ti };
    if ti.module >= FIRST_MODID {
        // DTPREL values are the offset less the machine's DTV offset (riscv's 0x800).
        let offset = ti.offset.wrapping_add(crate::abi::MACHINE.tls().dtv_offset);
        return block(ti.module).wrapping_add(offset as usize);
    }
    match SYSTEM_TLS_GET_ADDR.get() {
        Some(&f) => {
            // SAFETY: the system's __tls_get_addr, called with the tls_index it understands.
            let f: unsafe extern "C" fn(*const TlsIndex) -> *mut u8 =
                unsafe { std::mem::transmute(f as usize) };
            // SAFETY: as above.
            unsafe { f(ti) }
        }
        None => std::ptr::null_mut(),
    }
}

/// Called by the TLS descriptor resolver: the variable's offset from the thread pointer.
// Only ABI files with TLS descriptor stubs call it (riscv64 has none: glibc 2.36 has none there).
#[allow(dead_code)]
pub(crate) extern "C" fn tlsdesc_slow(arg: *const TlsIndex) -> u64 {
    // SAFETY: `arg` is the leaked tls_index the descriptor was made with.
    let p = unsafe { tls_get_addr(arg) };
    (p as u64).wrapping_sub(crate::abi::thread_pointer())
}

/// A leaked `tls_index` for a descriptor's argument (descriptors live as long as the image):
/// the variable at `offset` in module `module`'s block.
pub fn leak_index(module: u64, offset: u64) -> u64 {
    let offset = offset.wrapping_sub(crate::abi::MACHINE.tls().dtv_offset);
    Box::leak(Box::new(TlsIndex { module, offset })) as *const TlsIndex as u64
}
