//! Thread-local variables (`__thread_vars`): each descriptor `{thunk, key, offset}` gets
//! dynplug's getter as its thunk (`abi::tlv_getter`, dyld's `tlv_get_addr` contract) and, as its
//! key, the image's [`Template`]. The getter's slow path makes the calling thread's block on
//! first use (a copy of `__thread_data`, then zeros for `__thread_bss`), kept under a pthread
//! key whose destructor frees it when the thread ends.

use super::load::Image;
use super::{MachOError, MalformedMachO, SectionKind};
use crate::error::{LoadError, Unsupported};
use crate::relocate::Memory;
use crate::tlv_block::{slow, Descriptor, Template};

/// Bytes of one descriptor.
const DESCRIPTOR: u64 = 24;

/// The template of `image`: the extent of its thread-local sections, the initial bytes those
/// of `__thread_data` (before `__thread_bss`).
fn template(image: &Image) -> Result<Option<(u64, u64, u64, u64)>, LoadError> {
    let tls = |k: SectionKind| matches!(k, SectionKind::ThreadData | SectionKind::ThreadBss);
    let sections = || image.macho().sections.iter().filter(|s| tls(s.kind));
    let Some(start) = sections().map(|s| s.vmoffset).min() else {
        return Ok(None);
    };
    let end = sections()
        .map(|s| s.vmoffset + s.size)
        .max()
        .unwrap_or(start);
    let data_end = sections()
        .filter(|s| s.kind == SectionKind::ThreadData)
        .map(|s| s.vmoffset + s.size)
        .max()
        .unwrap_or(start);
    if sections().any(|s| s.kind == SectionKind::ThreadBss && s.vmoffset < data_end) {
        let e = MalformedMachO::BadSection {
            name: "__thread_bss".into(),
            why: "lies before thread-local data",
        };
        return Err(MachOError::from(e).into());
    }
    let align = sections().map(|s| s.align).max().unwrap_or(0).min(12);
    Ok(Some((start, data_end - start, end - start, 1 << align)))
}

/// Points every thread-local descriptor of `image` at dynplug's getter and the image's
/// template; each descriptor's offset must lie inside the template.
pub(super) fn setup(image: &Image, mem: &mut impl Memory) -> Result<(), LoadError> {
    let vars: Vec<_> = image
        .macho()
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::ThreadVars)
        .collect();
    if vars.is_empty() {
        return Ok(());
    }
    let Some(getter) = crate::abi::tlv_getter() else {
        return Err(Unsupported::ThreadLocalStorage {
            what: "Mach-O thread-local variables on this machine",
        }
        .into());
    };
    let (start, data_len, size, align) = template(image)?.unwrap_or((0, 0, 0, 1));
    let bad = |why| {
        let e = MalformedMachO::BadSection {
            name: "__thread_vars".into(),
            why,
        };
        LoadError::from(MachOError::from(e))
    };
    let to_usize = |v: u64| usize::try_from(v).map_err(|_| bad("template too large"));
    let data = image.load_addr().wrapping_add(start);
    let t = Template::new(data, to_usize(data_len)?, to_usize(size)?, to_usize(align)?)
        .map_err(LoadError::Map)?;
    let base = image.macho().base();
    for s in vars {
        for i in 0..s.size / DESCRIPTOR {
            let at = base.wrapping_add(s.vmoffset + i * DESCRIPTOR);
            let offset = mem.read_u64(at.wrapping_add(16));
            if offset >= size {
                return Err(bad("a variable's offset lies outside the template"));
            }
            mem.write_u64(at, getter);
            mem.write_u64(at.wrapping_add(8), t as *const Template as usize as u64);
        }
    }
    Ok(())
}

/// The calling thread's address of the variable whose descriptor is at `desc` (run-time), if
/// `setup` made it one of dynplug's.
pub(super) fn address(desc: u64) -> Option<u64> {
    let getter = crate::abi::tlv_getter()?;
    // SAFETY: `desc` is a descriptor inside the image's mapped `__thread_vars` (the export
    // trie's offset lies in the image; the caller checked the section).
    let d = unsafe { &*(desc as *const Descriptor) };
    if d.thunk() != getter {
        return None;
    }
    // SAFETY: a descriptor `setup` wrote.
    Some(unsafe { slow(d) })
}
