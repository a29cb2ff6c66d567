//! What a system that loads no Mach-O answers about Mach-O (Linux, FreeBSD): no images of its
//! own, no code signatures to register.

/// The Mach-O images the system loaded: none, it loads no Mach-O.
pub fn macho_images() -> Vec<u64> {
    Vec::new()
}

/// Nothing to register: this system checks no code signature of mapped pages.
pub fn register_code_signature(
    _fd: std::os::fd::BorrowedFd<'_>,
    _offset: u64,
    _size: u64,
) -> std::io::Result<()> {
    Ok(())
}
