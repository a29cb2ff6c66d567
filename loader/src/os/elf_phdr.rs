//! The process's modules on the ELF systems (Linux, FreeBSD): the C library's
//! `dl_iterate_phdr`, whose `dl_phdr_info` both lay out as dynplug's [`DlPhdrInfo`](crate::os::DlPhdrInfo).

use std::ffi::{c_int, c_void};

use super::IterateCallback;

extern "C" {
    /// The C library's `dl_iterate_phdr`, declared with dynplug's `dl_phdr_info`.
    #[link_name = "dl_iterate_phdr"]
    fn system_iterate_phdr(cb: Option<IterateCallback>, data: *mut c_void) -> c_int;
}

/// The system loader's `dl_iterate_phdr`.
///
/// # Safety
/// `cb` is called with `data` for each module, as `dl_iterate_phdr` does.
pub unsafe fn iterate_phdr(cb: Option<IterateCallback>, data: *mut c_void) -> c_int {
    // SAFETY: the caller's callback and data, as the C library takes them.
    unsafe { system_iterate_phdr(cb, data) }
}
