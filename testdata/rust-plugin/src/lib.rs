//! A plugin written in Rust with std: String, Vec, HashMap, `thread_local!`, `println!`,
//! threads, and a panic caught with `catch_unwind` inside the plugin. Built as a cdylib and
//! opened by dynplug in tests/rust_plugin.rs.
use std::cell::Cell;
use std::collections::HashMap;

thread_local! {
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

/// Counts calls on the calling thread (a `thread_local!`), returns the new count.
#[no_mangle]
pub extern "C" fn rust_thread_calls() -> u64 {
    CALLS.with(|c| {
        c.set(c.get() + 1);
        c.get()
    })
}

/// Builds strings in a HashMap, prints a line, and returns the total length.
#[no_mangle]
pub extern "C" fn rust_words(n: u32) -> u64 {
    let mut m: HashMap<String, Vec<u32>> = HashMap::new();
    for i in 0..n {
        m.entry(format!("w{}", i % 10)).or_default().push(i);
    }
    println!("rust plugin: {} keys", m.len());
    m.values().map(|v| v.len() as u64).sum()
}

/// Sums 0..n on a thread the plugin spawns.
#[no_mangle]
pub extern "C" fn rust_spawn_sum(n: u64) -> u64 {
    std::thread::spawn(move || (0..n).sum::<u64>())
        .join()
        .unwrap_or(0)
}

/// Panics and catches the panic inside the plugin: returns 1 if the payload came back intact.
#[no_mangle]
pub extern "C" fn rust_catch_panic() -> u32 {
    // The expected panic is not reported on stderr.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| {
        if rust_thread_calls() > 0 {
            panic!("plugin panic {}", 42);
        }
        0
    });
    std::panic::set_hook(hook);
    match r {
        Err(payload) => {
            let text = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if text == Some("plugin panic 42") {
                1
            } else {
                2
            }
        }
        Ok(_) => 0,
    }
}

/// The program's arguments as Rust std sees them inside the plugin (std reads them from the
/// arguments its initialiser got): their count.
#[no_mangle]
pub extern "C" fn rust_args() -> usize {
    std::env::args_os().count()
}
