//! `/etc/ld.so.cache`, read directly (glibc's "glibc-ld.so.cache1.1" format): soname → path.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::read;

const MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
/// Old-format prefix some caches still carry before the new one.
const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
const ENTRY: u64 = 24;
const HEADER: u64 = 48;

/// The path the cache gives for `name` on this machine (first entry wins, as in glibc). The file
/// is mapped once (its pages stay clean and shared) and scanned at each look-up.
pub fn lookup(name: &[u8]) -> Option<PathBuf> {
    static CACHE: OnceLock<memmap2::Mmap> = OnceLock::new();
    // Only a mapping made is kept: one that failed (no memory left, say) is tried again.
    let map = match CACHE.get() {
        Some(m) => m,
        None => {
            let f = std::fs::File::open("/etc/ld.so.cache").ok()?;
            // SAFETY: a private read-only mapping of a root-owned file that ldconfig replaces
            // by rename, never rewrites in place.
            let m = unsafe { memmap2::Mmap::map(&f) }.ok()?;
            crate::fork::once(&CACHE, || m)
        }
    };
    find(map, name)
}

/// The first entry for `name`.
pub fn find(b: &[u8], name: &[u8]) -> Option<PathBuf> {
    let mut found = None;
    entries(b, |k, v| {
        if k == name {
            found = Some(path_of(v));
            return true;
        }
        false
    });
    found
}

fn path_of(v: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(v))
}

/// Calls `visit(key, value)` for each entry of this machine until it returns true. Anything
/// malformed ends the walk early, never a panic.
fn entries(b: &[u8], mut visit: impl FnMut(&[u8], &[u8]) -> bool) {
    let start = if b.starts_with(MAGIC) {
        0
    } else if b.starts_with(OLD_MAGIC) {
        // Old header: magic (11) + nlibs (4), entries of 12 bytes, then the new header aligned.
        let n = u64::from(read::u32_at(b, 12).unwrap_or(0));
        let off = 16u64.saturating_add(n.saturating_mul(12));
        let off = (off + 7) & !7;
        match b.get(usize::try_from(off).unwrap_or(usize::MAX)..) {
            Some(rest) if rest.starts_with(MAGIC) => off,
            _ => return,
        }
    } else {
        return;
    };
    let Some(n) = read::u32_at(b, start + 20) else {
        return;
    };
    for i in 0..u64::from(n) {
        let Some(e) = read::slice_at(b, start + HEADER + i * ENTRY, ENTRY) else {
            return;
        };
        let (Some(flags), Some(key), Some(value)) =
            (read::u32_at(e, 0), read::u32_at(e, 4), read::u32_at(e, 8))
        else {
            return;
        };
        // The library kind (low byte) and the machine (next byte) of this process.
        if flags & 0xffff != crate::abi::CACHE_FLAGS {
            continue;
        }
        // In the new format, string offsets count from the start of the new header.
        let (Some(k), Some(v)) = (
            read::cstr_at(b, start + u64::from(key)),
            read::cstr_at(b, start + u64::from(value)),
        ) else {
            continue;
        };
        if visit(k, v) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg_attr(
        not(target_arch = "x86_64"),
        ignore = "cross-testing runs with the x86_64 host's /etc/ld.so.cache, whose ldconfig \
                  writes no aarch64 or riscv64 entries"
    )]
    fn system_cache_knows_libc() {
        // Every glibc system has libc.so.6 in its cache, pointing at a file that exists.
        let p = super::lookup(b"libc.so.6").expect("libc.so.6 in /etc/ld.so.cache");
        assert!(p.exists(), "{}", p.display());
    }

    #[test]
    fn garbage_gives_nothing() {
        assert!(super::find(b"glibc-ld.so.cache1.1\xff\xff\xff\xff", b"libc.so.6").is_none());
        assert!(super::find(b"not a cache", b"libc.so.6").is_none());
    }
}
