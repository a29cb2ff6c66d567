//! `exports!`: host functions and statics exported to plugins by name, without casts.

/// Adds host exports to a [`Loader`](crate::Loader) by name: `fn name` for an `extern "C"`
/// function, `static NAME` for a static (its address is exported). The symbol name is the Rust
/// identifier.
///
/// ```
/// use dynplug::{exports, Loader};
///
/// extern "C" fn host_add(a: i32, b: i32) -> i32 { a + b }
/// extern "C" fn host_log(_msg: *const u8) {}
/// static HOST_LIMIT: u32 = 64;
///
/// let loader = exports!(Loader::new(), fn host_add, fn host_log, static HOST_LIMIT);
/// # let _ = loader;
/// ```
#[macro_export]
macro_rules! exports {
    ($loader:expr $(,)?) => { $loader };
    ($loader:expr, fn $name:ident $(, $($rest:tt)*)?) => {
        $crate::exports!(
            $loader.export(::core::stringify!($name), $name as *const () as *const ::core::ffi::c_void)
            $(, $($rest)*)?
        )
    };
    ($loader:expr, static $name:ident $(, $($rest:tt)*)?) => {
        $crate::exports!(
            $loader.export(::core::stringify!($name), ::core::ptr::addr_of!($name) as *const ::core::ffi::c_void)
            $(, $($rest)*)?
        )
    };
}
