//! Naming addresses in plugins, for a host's panic hook or crash handler.

pub use dynplug_loader::Symbolized;

/// Names a code address in a module dynplug loaded: its file, the exported symbol containing it
/// and the offset from that symbol (as `dladdr` and `backtrace_symbols` name it); `None` for an
/// address outside dynplug's modules.
///
/// Rust's own backtraces (`std::backtrace`, `RUST_BACKTRACE=1`) unwind through plugin frames
/// but print them as `<unknown>`: they find modules through the system loader's
/// `dl_iterate_phdr`, which does not list dynplug's modules (and cannot, without dynplug
/// forging glibc's private records). A panic hook can name those frames itself:
///
/// ```no_run
/// std::panic::set_hook(Box::new(|info| {
///     eprintln!("{info}");
///     let mut frames = [std::ptr::null_mut(); 64];
///     // SAFETY: glibc's backtrace(3) fills at most `frames.len()` entries.
///     let n = unsafe { libc::backtrace(frames.as_mut_ptr(), frames.len() as i32) };
///     for &pc in &frames[..n.max(0) as usize] {
///         if let Some(s) = dynplug::symbolize(pc as usize) {
///             let sym = s.symbol.as_deref().unwrap_or("?");
///             eprintln!("  {:p} {sym}+{:#x} in {}", pc, s.offset, s.module);
///         }
///     }
/// }));
/// ```
pub fn symbolize(addr: usize) -> Option<Symbolized> {
    dynplug_loader::symbolize(addr)
}
