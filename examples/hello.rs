//! The Go plugin documentation's example: open the plugin, set its variable `V` to 7, call `F`.
//!
//! ```text
//! cargo run --example hello   # prints "Hello, number 7"
//! ```
use dynplug::Plugin;

fn main() -> Result<(), dynplug::Error> {
    // testdata/c/hello.c, compiled by the fixtures crate's build script.
    let p = unsafe { Plugin::open(dynplug_fixtures::path("hello")) }?;
    let v = p.lookup("V")?;
    let f = p.lookup("F")?;
    // SAFETY: V is an `int` and F a `void F(void)` in hello.c.
    unsafe {
        *v.cast::<*mut i32>() = 7;
        f.cast::<extern "C" fn()>()();
    }
    Ok(())
}
