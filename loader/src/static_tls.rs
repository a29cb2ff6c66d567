//! dynplug's static TLS reserve, for initial-exec TLS of the modules it loads.
//!
//! Initial-exec code reaches its variables at a fixed offset from the thread pointer, with no
//! call that could make a block: the block must exist in every thread, at one offset, before
//! the code runs. glibc keeps a surplus in every thread's static TLS for this, but only its own
//! loader can hand it out. dynplug keeps its own: a zero-initialised thread-local array which,
//! dynplug being linked into the executable, lies in the executable's PT_TLS. The C runtime
//! sets that up in every thread, new ones included, at one offset from the thread pointer
//! (x86_64 TLS variant II), and zeroes it, as `.tbss`. Nothing uses a byte of it before it is
//! handed to a module, and a byte is handed out once: in every thread, a module's block starts
//! all zero. So a module is placed there only if its TLS image is all zero.

use std::cell::UnsafeCell;
use std::sync::{Mutex, OnceLock};

use crate::error::StaticTlsRefusal;
use crate::tls::TlsImage;

/// Bytes reserved in every thread (each thread pays them, used or not): glibc's own budget for
/// initial-exec TLS of the libraries a program `dlopen`s (`glibc.rtld.optional_static_tls`).
/// libgomp needs 136, libubsan 32, libc_malloc_debug 8.
pub const RESERVE_BYTES: u64 = 512;
/// The reserve's alignment, the largest block alignment it honours in every thread.
pub const RESERVE_ALIGN: u64 = 64;

/// The reserve's bytes. A constant initialiser and no destructor make it a plain `.tbss`
/// variable of dynplug's module (no lazy initialisation, no registration).
#[repr(C, align(64))]
struct Reserve(UnsafeCell<[u8; RESERVE_BYTES as usize]>);

thread_local! {
    static RESERVE: Reserve = const { Reserve(UnsafeCell::new([0; RESERVE_BYTES as usize])) };
}

/// Bytes of the reserve handed out, from its start. Blocks are never given back, but by
/// [`rewind`] when the open that took them failed before any of its code ran.
static USED: Mutex<u64> = Mutex::new(0);

/// Takes the reserve's lock for a fork (`fork::prepare`): taken with the TLS images' held.
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(USED.lock().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_STATICTLS: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::StaticTls,
    take: lock_all,
    in_child: None,
};

/// The reserve's offset from the thread pointer, the same in every thread; or why it cannot be
/// used.
pub fn reserve() -> Result<u64, StaticTlsRefusal> {
    static AT: OnceLock<Result<u64, StaticTlsRefusal>> = OnceLock::new();
    *crate::fork::once(&AT, locate)
}

/// Finds the reserve in this thread and checks that it lies in the executable's TLS block: that
/// block alone is static TLS whatever loaded dynplug (a library's, when dynplug is in one, may
/// be made per thread on first use, as glibc does for a library a program `dlopen`s).
fn locate() -> Result<u64, StaticTlsRefusal> {
    if !crate::abi::STATIC_TLS_RESERVE {
        return Err(StaticTlsRefusal::Machine);
    }
    let here = RESERVE.with(|r| r.0.get() as u64);
    let (block, size) =
        crate::process::executable_tls().ok_or(StaticTlsRefusal::NotInExecutable)?;
    let inside = here >= block
        && here
            .checked_add(RESERVE_BYTES)
            .zip(block.checked_add(size))
            .is_some_and(|(end, block_end)| end <= block_end);
    if !inside {
        return Err(StaticTlsRefusal::NotInExecutable);
    }
    Ok(here.wrapping_sub(crate::abi::thread_pointer()))
}

/// Whether a block of this shape could be placed now (a dry run: nothing is taken).
pub fn fits(memsz: u64, align: u64, vaddr: u64) -> Result<(), StaticTlsRefusal> {
    reserve()?;
    crate::fork::install();
    let used = *USED.lock().unwrap_or_else(|p| p.into_inner());
    span(used, memsz, align, vaddr).map(|_| ())
}

/// Takes a block for `image` from the reserve: its offset from the thread pointer.
pub fn carve(image: &TlsImage) -> Result<u64, StaticTlsRefusal> {
    let base = reserve()?;
    crate::fork::install();
    let mut used = USED.lock().unwrap_or_else(|p| p.into_inner());
    // The block's start keeps PT_TLS's address modulo its alignment, as the variables'
    // offsets assume.
    let vaddr = image.init;
    let (start, end) = span(*used, image.memsz, image.align, vaddr)?;
    *used = end;
    Ok(base.wrapping_add(start))
}

/// Where in the reserve a block of `memsz` bytes aligned to `align` (its image at `vaddr`
/// modulo `align`) goes after `used` bytes: its start and end, from the reserve's start.
fn span(used: u64, memsz: u64, align: u64, vaddr: u64) -> Result<(u64, u64), StaticTlsRefusal> {
    let align = align.max(1);
    if align > RESERVE_ALIGN || !align.is_power_of_two() {
        return Err(StaticTlsRefusal::Alignment {
            align,
            max: RESERVE_ALIGN,
        });
    }
    // The reserve's start is aligned to RESERVE_ALIGN in every thread, so an offset from it
    // that is aligned is an aligned address in every thread.
    let pad = vaddr.wrapping_sub(used) & (align - 1);
    let left = RESERVE_BYTES.saturating_sub(used);
    let need = memsz.saturating_add(pad);
    if need > left {
        return Err(StaticTlsRefusal::Exhausted {
            need,
            left,
            reserve: RESERVE_BYTES,
        });
    }
    let start = used + pad;
    Ok((start, start + memsz))
}

/// How much of the reserve is handed out: a mark for [`rewind`].
pub fn mark() -> u64 {
    crate::fork::install();
    *USED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Gives back what was handed out after `mark`: only for blocks of modules no code ever used
/// (an open that failed before running any code of its group, loads being one at a time).
pub fn rewind(mark: u64) {
    crate::fork::install();
    let mut used = USED.lock().unwrap_or_else(|p| p.into_inner());
    *used = (*used).min(mark);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_and_packed() {
        assert_eq!(span(0, 136, 16, 0x46d50), Ok((0, 136)));
        assert_eq!(span(136, 32, 8, 0x5bc70), Ok((136, 168)));
        // The start keeps the image's address modulo the alignment.
        assert_eq!(span(168, 8, 16, 0x1008), Ok((168, 176)));
        assert_eq!(span(170, 8, 16, 0x1008), Ok((184, 192)));
        assert_eq!(span(0, 4, 1, 0x3), Ok((0, 4)));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            span(0, 16, 128, 0),
            Err(StaticTlsRefusal::Alignment {
                align: 128,
                max: 64
            })
        );
        assert_eq!(
            span(500, 16, 8, 0),
            Err(StaticTlsRefusal::Exhausted {
                need: 20,
                left: 12,
                reserve: 512
            })
        );
        assert!(span(0, u64::MAX, 8, 0).is_err());
    }

    #[test]
    fn the_reserve_is_static_tls_of_the_executable() {
        // The unit tests are an executable linking this crate: the reserve is in its PT_TLS, at
        // one offset from every thread's pointer.
        let here = reserve().unwrap();
        let there = std::thread::spawn(locate).join().unwrap().unwrap();
        assert_eq!(here, there);
        assert_eq!(
            here.wrapping_add(crate::abi::thread_pointer()) % RESERVE_ALIGN,
            0
        );
    }
}
