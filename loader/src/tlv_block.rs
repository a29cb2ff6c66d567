//! The per-thread blocks of Mach-O thread-local variables, the runtime half the getter stubs
//! (`abi/<arch>.rs`, `dynplug_tlv_get`) call into: a leaf, like `tls.rs` for ELF's TLS
//! descriptors. `macho/tlv.rs` points an image's descriptors here.

/// One image's thread-local template (leaked: descriptors point at it for the process's life).
#[derive(Debug)]
pub(crate) struct Template {
    /// The key of the calling thread's block.
    key: libc::pthread_key_t,
    /// Run-time address of the initial bytes.
    data: u64,
    /// How many bytes are copied from there (the rest of the block is zero).
    data_len: usize,
    /// The block's size.
    size: usize,
    /// The block's alignment.
    align: usize,
}

/// A descriptor as the image's code passes it to the getter.
#[repr(C)]
pub(crate) struct Descriptor {
    thunk: u64,
    key: u64,
    offset: u64,
}

impl Descriptor {
    /// The getter the image's code calls.
    pub(crate) fn thunk(&self) -> u64 {
        self.thunk
    }
}

impl Template {
    /// A template of `size` bytes aligned to `align`, the first `data_len` copied from the
    /// run-time address `data`, with a pthread key for the threads' blocks; leaked, as
    /// descriptors point at it for the process's life.
    pub(crate) fn new(
        data: u64,
        data_len: usize,
        size: usize,
        align: usize,
    ) -> std::io::Result<&'static Template> {
        let mut key = 0;
        // SAFETY: creates a key whose destructor frees what `slow` allocated.
        if unsafe { libc::pthread_key_create(&mut key, Some(free_block)) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Box::leak(Box::new(Template {
            key,
            data,
            data_len,
            size,
            align,
        })))
    }
}

/// Frees a thread's block when it ends.
extern "C" fn free_block(block: *mut libc::c_void) {
    // SAFETY: a block `slow` allocated with posix_memalign, handed back once by pthread.
    unsafe { libc::free(block) };
}

/// The getter's slow path: the calling thread's address of the variable `desc` describes.
///
/// # Safety
/// `desc` is a descriptor `setup` wrote (called from the image's code through the getter).
pub(crate) unsafe extern "C" fn slow(desc: *const Descriptor) -> u64 {
    // SAFETY: the descriptor lies in the image's mapped data; its key is a leaked `Template`.
    let (t, offset) = unsafe { (&*((*desc).key as *const Template), (*desc).offset) };
    // SAFETY: the key was created by `setup` and is never deleted.
    let mut block = unsafe { libc::pthread_getspecific(t.key) };
    if block.is_null() {
        block = new_block(t);
        // SAFETY: as above; the block is this thread's.
        unsafe { libc::pthread_setspecific(t.key, block) };
    }
    (block as u64).wrapping_add(offset)
}

/// A new block for the calling thread: the template's bytes, then zeros.
fn new_block(t: &Template) -> *mut libc::c_void {
    let mut block = std::ptr::null_mut();
    let align = t.align.max(std::mem::size_of::<usize>());
    // SAFETY: the alignment is a power of two and a multiple of the pointer size.
    if unsafe { libc::posix_memalign(&mut block, align, t.size.max(1)) } != 0 {
        eprintln!("dynplug: no memory for a Mach-O thread-local block");
        std::process::abort();
    }
    // SAFETY: the block has `size` bytes; the template's `data_len` (≤ size) bytes lie in the
    // image's mapped, fixed-up data.
    unsafe {
        std::ptr::copy_nonoverlapping(t.data as *const u8, block as *mut u8, t.data_len);
        std::ptr::write_bytes((block as *mut u8).add(t.data_len), 0, t.size - t.data_len);
    }
    block
}
