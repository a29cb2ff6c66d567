//! Unwinding through modules dynplug loaded: their `.eh_frame` is registered with the unwinder
//! the process uses (libgcc's `__register_frame_table`, or `__register_frame`), which consults
//! registered frames before asking the system loader, so C++ exceptions, Rust panics and
//! backtraces cross plugin frames.

use crate::elf::layout::Layout;
use crate::elf::view::View;
use crate::process::Module;
use crate::read;
use crate::symbols::Name;

/// DW_EH_PE encodings accepted for `eh_frame_ptr`.
const PE_ABSPTR: u8 = 0x00;
const PE_UDATA4: u8 = 0x03;
const PE_UDATA8: u8 = 0x04;
const PE_SDATA4: u8 = 0x0b;
const PE_SDATA8: u8 = 0x0c;
const PE_PCREL: u8 = 0x10;

/// The link-time address of `.eh_frame`, read from `.eh_frame_hdr` at `hdr` (link-time).
pub fn eh_frame(view: &View<'_>, hdr: u64) -> Option<u64> {
    let b = view.slice(hdr, 4 + 8).or_else(|| view.slice(hdr, 4 + 4))?;
    eh_frame_in(b, hdr)
}

/// [`eh_frame`] read from the open `file` whose segments are `layout`: no page of the image is
/// touched (glibc never reads that segment; a read of the mapping faulted its page in, 2 µs
/// on this machine, a tenth of an open of a small plugin).
pub fn eh_frame_from_file(file: &std::fs::File, layout: &Layout) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let hdr = layout.eh_frame_hdr?.vaddr;
    // The bytes a view of the image would give: the file-backed part of its segment.
    let load = layout.load_for(hdr, 4 + 4)?;
    let into = hdr.checked_sub(load.vaddr)?;
    let len = load.filesz.checked_sub(into)?.min(4 + 8);
    let mut b = [0u8; 4 + 8];
    let b = b.get_mut(..usize::try_from(len).ok()?)?;
    file.read_exact_at(b, load.offset.checked_add(into)?).ok()?;
    eh_frame_in(b, hdr)
}

/// [`eh_frame`] from `b`, the first bytes of `.eh_frame_hdr` at link-time address `hdr`.
fn eh_frame_in(b: &[u8], hdr: u64) -> Option<u64> {
    if *b.first()? != 1 {
        return None;
    }
    let enc = *b.get(1)?;
    let field = hdr.checked_add(4)?;
    let value = match enc & 0x0f {
        PE_ABSPTR | PE_UDATA8 | PE_SDATA8 => read::u64_at(b, 4)?,
        PE_UDATA4 => u64::from(read::u32_at(b, 4)?),
        PE_SDATA4 => i64::from(read::u32_at(b, 4)? as i32) as u64,
        _ => return None,
    };
    match enc & 0x70 {
        0 => Some(value),
        PE_PCREL => Some(field.wrapping_add(value)),
        _ => None,
    }
}

/// How frames are registered with the process's unwinder, found once: the unwinder the process
/// has stays loaded (a library the system loaded is never unloaded while a module registered
/// with it may unwind).
#[derive(Clone, Copy)]
enum Registrar {
    /// libgcc's `__register_frame_table(begin)`: `begin` is a null-terminated list of
    /// `.eh_frame` sections, read when an unwind first looks for a frame, not at registration
    /// (libgcc 12's `__register_frame` reads the section's first word: a page fault an open).
    Table(u64),
    /// `__register_frame(begin)`, where the unwinder lacks the table form.
    Single(u64),
}

static REGISTRAR: std::sync::OnceLock<Registrar> = std::sync::OnceLock::new();

/// The process's [`Registrar`], among its `modules` (or a static host's own symbols).
fn registrar(modules: &[Module<'_>]) -> Option<Registrar> {
    if let Some(&r) = REGISTRAR.get() {
        return Some(r);
    }
    let find = |name: &[u8]| {
        let key = Name::new(name);
        let found = modules.iter().find_map(|m| {
            m.tab
                .find(&key, None)
                .map(|(_, s)| m.base.wrapping_add(s.value))
        });
        found.or_else(|| {
            crate::process::static_symbols(modules)
                .and_then(|e| e.get(name))
                .map(|(a, _)| a)
        })
    };
    // Not found is not remembered: the process may load an unwinder later.
    let r = find(b"__register_frame_table")
        .map(Registrar::Table)
        .or_else(|| find(b"__register_frame").map(Registrar::Single))?;
    let _ = REGISTRAR.set(r);
    Some(r)
}

/// Registers the frame table `list[0]` (a run-time address; `list` is null-terminated and
/// stays in place for the rest of the process, as the table does) with the process's unwinder,
/// if it has one.
pub fn register(modules: &[Module<'_>], list: &'static [usize; 2]) -> bool {
    let Some(r) = registrar(modules) else {
        return false;
    };
    // libgcc's lock inside (`object_mutex`) has no fork handler.
    let _no_fork = crate::fork::runtime_call();
    // SAFETY: libgcc's `__register_frame_table(void *begin)` with a null-terminated list of
    // `.eh_frame` starts, or `__register_frame(void *begin)` with the start of a mapped,
    // zero-terminated `.eh_frame`; both (and the list) stay for the life of the process.
    unsafe {
        let (f, begin) = match r {
            Registrar::Table(f) => (f, list.as_ptr().cast::<u8>()),
            Registrar::Single(f) => (f, list[0] as *const u8),
        };
        let f: extern "C" fn(*const u8) =
            std::mem::transmute::<usize, extern "C" fn(*const u8)>(f as usize);
        f(begin);
    }
    true
}
