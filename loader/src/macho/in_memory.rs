//! The exports of a Mach-O image already in memory: on macOS the process's own libraries, which
//! dyld mapped (a plugin's libSystem imports bind there), found through the image's load
//! commands and its `__LINKEDIT` as mapped. The export trie is read with the same checks as a
//! file's (`trie.rs`); the load commands of an image the system (or dynplug) mapped are trusted
//! to lie inside its mapping, as dyld's own image list trusts them.

use super::commands::{
    LC_DYLD_EXPORTS_TRIE, LC_DYLD_INFO, LC_DYLD_INFO_ONLY, LC_LAZY_LOAD_DYLIB, LC_LOAD_DYLIB,
    LC_LOAD_UPWARD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_SEGMENT_64,
};
use super::header::{HEADER_SIZE, MH_MAGIC_64};
use super::trie::{self, Bounds, ExportKind};
use crate::read;

/// What the load commands say of the image.
#[derive(Default)]
struct Layout {
    /// `__TEXT`'s link-time address (the header's).
    text: Option<u64>,
    /// `__LINKEDIT`'s link-time address and file offset.
    linkedit: Option<(u64, u64)>,
    /// The end of the last segment, link-time.
    end: u64,
    /// The export trie's file offset and size.
    trie: Option<(u64, u64)>,
    /// Dependencies.
    dylibs: usize,
}

/// Reads the load commands `cmds`.
fn layout(cmds: &[u8]) -> Option<Layout> {
    let mut l = Layout::default();
    let mut at = 0u64;
    while at < cmds.len() as u64 {
        let (cmd, size) = (read::u32_at(cmds, at)?, read::u32_at(cmds, at + 4)?);
        let c = cmds.get(usize::try_from(at).ok()?..)?;
        match cmd {
            LC_SEGMENT_64 => {
                let name = c.get(8..24)?;
                let (vmaddr, vmsize) = (read::u64_at(c, 24)?, read::u64_at(c, 32)?);
                l.end = l.end.max(vmaddr.checked_add(vmsize)?);
                if name.starts_with(b"__TEXT\0") {
                    l.text = Some(vmaddr);
                } else if name.starts_with(b"__LINKEDIT\0") {
                    l.linkedit = Some((vmaddr, read::u64_at(c, 40)?));
                }
            }
            LC_DYLD_INFO | LC_DYLD_INFO_ONLY => {
                let (off, size) = (read::u32_at(c, 40)?, read::u32_at(c, 44)?);
                l.trie = l.trie.or(Some((off.into(), size.into())));
            }
            LC_DYLD_EXPORTS_TRIE => {
                l.trie = Some((read::u32_at(c, 8)?.into(), read::u32_at(c, 12)?.into()));
            }
            LC_LOAD_DYLIB | LC_LOAD_WEAK_DYLIB | LC_REEXPORT_DYLIB | LC_LAZY_LOAD_DYLIB
            | LC_LOAD_UPWARD_DYLIB => l.dylibs += 1,
            _ => {}
        }
        if size < 8 {
            return None;
        }
        at = at.checked_add(size.into())?;
    }
    Some(l)
}

/// The address of `name` (as the file spells it: `_malloc`) in the image whose `mach_header_64`
/// is at run-time address `header`: a regular or weak definition, an absolute value, or what a
/// stub-and-resolver export's resolver returns. `None` if the image does not define it (a
/// re-export is the other library's, found there) or is no 64-bit Mach-O image.
///
/// # Safety
/// `header` is the header of an image mapped in this process (its load commands and
/// `__LINKEDIT` mapped and readable), whose code may run (a resolver is called).
pub unsafe fn lookup(header: u64, name: &str) -> Option<u64> {
    // SAFETY: the caller promises a mapped header; its 32 bytes come first.
    let head = unsafe { std::slice::from_raw_parts(header as *const u8, HEADER_SIZE as usize) };
    if read::u32_at(head, 0)? != MH_MAGIC_64 {
        return None;
    }
    let sizeofcmds = usize::try_from(read::u32_at(head, 20)?).ok()?;
    let cmds_at = header.checked_add(HEADER_SIZE)?;
    // SAFETY: the load commands follow the header inside the image's first segment.
    let cmds = unsafe { std::slice::from_raw_parts(cmds_at as *const u8, sizeofcmds) };
    let l = layout(cmds)?;
    let (text, (linkedit, linkedit_off), (off, size)) = (l.text?, l.linkedit?, l.trie?);
    // The trie lies in __LINKEDIT, mapped at the same distance from the header as in the image.
    let trie_at = header
        .checked_add(linkedit.checked_sub(text)?)?
        .checked_add(off.checked_sub(linkedit_off)?)?;
    // SAFETY: the trie's range lies in the image's mapped __LINKEDIT.
    let trie =
        unsafe { std::slice::from_raw_parts(trie_at as *const u8, usize::try_from(size).ok()?) };
    let bounds = Bounds {
        span: l.end.checked_sub(text)?,
        dylibs: l.dylibs,
    };
    let export = trie::lookup(trie, name.as_bytes(), bounds).ok()??;
    match export.kind {
        ExportKind::Regular { offset } => header.checked_add(offset),
        ExportKind::Absolute { value } => Some(value),
        ExportKind::StubAndResolver { resolver, .. } => {
            let f = header.checked_add(resolver)?;
            type Resolver = extern "C" fn() -> u64;
            // SAFETY: a resolver of the image's code (inside its span), which may run (the
            // caller's promise); it takes nothing and returns the implementation's address.
            let f: Resolver = unsafe { std::mem::transmute::<usize, Resolver>(f as usize) };
            Some(f())
        }
        ExportKind::Reexport { .. } | ExportKind::ThreadLocal { .. } => None,
    }
}
