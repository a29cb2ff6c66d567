//! The file's bytes seen at their run-time addresses, before (or without) mapping them.

use super::layout::Load;
use crate::read;

/// The file-backed bytes of an object, addressed by `p_vaddr`.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    bytes: &'a [u8],
    loads: &'a [Load],
    /// For a mapped image: its load bias (bytes are read from memory, not from `bytes`).
    bias: Option<u64>,
}

impl<'a> View<'a> {
    /// A view of `bytes` through the (validated) `loads`.
    pub fn new(bytes: &'a [u8], loads: &'a [Load]) -> View<'a> {
        View {
            bytes,
            loads,
            bias: None,
        }
    }

    /// A view of an image mapped at `bias`.
    ///
    /// # Safety
    /// The file-backed part of every load must be mapped readable at `bias + p_vaddr` for `'a`.
    pub unsafe fn mapped(bias: u64, loads: &'a [Load]) -> View<'a> {
        View {
            bytes: &[],
            loads,
            bias: Some(bias),
        }
    }

    /// The file bytes from `addr` to the end of the file-backed part of its segment.
    pub fn rest(&self, addr: u64) -> Option<&'a [u8]> {
        // Only readable segments hold tables: the same rule for the file and the mapped image,
        // so that a dry run and a load agree, and a load never reads an unreadable page.
        let l = self
            .loads
            .iter()
            .find(|l| l.readable() && addr >= l.vaddr && addr < l.vaddr.saturating_add(l.filesz))?;
        let off = l.offset.checked_add(addr - l.vaddr)?;
        let len = l.filesz - (addr - l.vaddr);
        if let Some(bias) = self.bias {
            let start = bias.checked_add(addr)?;
            let len = usize::try_from(len).ok()?;
            // SAFETY: `addr..addr+len` lies in the file-backed part of a load, which the caller of
            // `mapped` promised is mapped readable for 'a.
            return Some(unsafe { std::slice::from_raw_parts(start as *const u8, len) });
        }
        read::slice_at(self.bytes, off, len)
    }

    /// The `len` file bytes at `addr`, if they lie in one segment's file-backed part.
    pub fn slice(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        if len == 0 {
            return Some(&[]);
        }
        self.rest(addr)?.get(..usize::try_from(len).ok()?)
    }

    /// A `u64` at `addr`.
    pub fn u64_at(&self, addr: u64) -> Option<u64> {
        read::u64_at(self.slice(addr, 8)?, 0)
    }
}
