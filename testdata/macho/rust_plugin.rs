//! A Rust `cdylib` for macOS (`x86_64-apple-darwin`, `aarch64-apple-darwin`), `no_std` so that it
//! links without Apple's SDK: a call to the host's `host_add` (flat lookup), relocated data (a
//! pointer to a static: a rebase), and an initialiser in `__mod_init_func`. Built by the command
//! in prebuilt/README.md; loaded by tests/macho.rs.
#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

extern "C" {
    fn host_add(a: i32, b: i32) -> i32;
}

static mut COUNTER: i32 = 41;

/// A pointer the loader relocates.
#[no_mangle]
pub static mut COUNTER_PTR: *mut i32 = &raw mut COUNTER;

/// Runs at open: 41 -> 42 through the host.
extern "C" fn init() {
    // SAFETY: the initialiser runs once, before any other code of the plugin.
    unsafe { COUNTER = host_add(COUNTER, 1) };
}

#[used]
#[link_section = "__DATA,__mod_init_func,mod_init_funcs"]
static INIT: extern "C" fn() = init;

/// host_add(a, b) plus the counter.
#[no_mangle]
pub extern "C" fn rust_add(a: i32, b: i32) -> i32 {
    // SAFETY: the counter is written only by the initialiser, before this can be called.
    unsafe { host_add(a, b) + COUNTER }
}
