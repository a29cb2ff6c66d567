//! Unwinding through modules dynplug loaded: their `.eh_frame` is registered with the unwinder
//! the process uses (libgcc's `__register_frame`), which consults registered frames before
//! asking the system loader, so C++ exceptions, Rust panics and backtraces cross plugin frames.

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

/// Registers the frame table at run-time address `eh_frame` with the process's unwinder, if it
/// has one (`__register_frame` from libgcc, found among the process's modules).
pub fn register(modules: &[Module<'_>], eh_frame: u64) -> bool {
    let name = Name::new(b"__register_frame");
    let from_exe = || {
        crate::process::static_symbols(modules)
            .and_then(|e| e.get(b"__register_frame"))
            .map(|(a, _)| a)
    };
    let found = modules.iter().find_map(|m| {
        m.tab
            .find(&name, None)
            .map(|(_, s)| m.base.wrapping_add(s.value))
    });
    let Some(f) = found.or_else(from_exe) else {
        return false;
    };
    // libgcc's lock inside (`object_mutex`) has no fork handler.
    let _no_fork = crate::fork::runtime_call();
    // SAFETY: `__register_frame(void *begin)` from libgcc; `eh_frame` is the start of a mapped,
    // zero-terminated `.eh_frame` section that stays mapped for the life of the process.
    unsafe {
        let f: extern "C" fn(*const u8) =
            std::mem::transmute::<usize, extern "C" fn(*const u8)>(f as usize);
        f(eh_frame as *const u8);
    }
    true
}
