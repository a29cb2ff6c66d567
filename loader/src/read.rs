//! Bounds-checked little-endian reads from untrusted bytes.

/// Reads `N` bytes at `off`, or `None` if they are not all inside `b`.
fn array<const N: usize>(b: &[u8], off: u64) -> Option<[u8; N]> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(N)?;
    b.get(start..end)?.try_into().ok()
}

/// A `u16` at `off`.
pub fn u16_at(b: &[u8], off: u64) -> Option<u16> {
    array(b, off).map(u16::from_le_bytes)
}

/// A `u32` at `off`.
pub fn u32_at(b: &[u8], off: u64) -> Option<u32> {
    array(b, off).map(u32::from_le_bytes)
}

/// A `u64` at `off`.
pub fn u64_at(b: &[u8], off: u64) -> Option<u64> {
    array(b, off).map(u64::from_le_bytes)
}

/// The NUL-terminated string starting at `off` (without the NUL), if it ends inside `b`.
pub fn cstr_at(b: &[u8], off: u64) -> Option<&[u8]> {
    let rest = b.get(usize::try_from(off).ok()?..)?;
    // CStr's search for the NUL is the library's word-at-a-time one.
    core::ffi::CStr::from_bytes_until_nul(rest)
        .ok()
        .map(core::ffi::CStr::to_bytes)
}

/// `b[off..off+len]`, if inside.
pub fn slice_at(b: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    b.get(start..end)
}

/// Asks the CPU to start loading the cache line at `p` (a hint: nothing is read, and no
/// address, valid or not, can fault).
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    crate::abi::prefetch(p)
}
