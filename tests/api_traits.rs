//! The API's auto traits, checked at compile time: a `Symbol` and a `&'static Plugin` can be
//! shared with and sent to any thread (plugins are never unloaded), and `Error` can travel in a
//! `Box<dyn std::error::Error + Send + Sync>`.
use dynplug::{Error, Loader, Plugin, Symbol};

const fn send_sync<T: Send + Sync>() {}
const fn copy_eq<T: Copy + Eq + std::fmt::Debug>() {}
const fn error<T: std::error::Error + Send + Sync + 'static>() {}

const _: () = {
    send_sync::<Symbol>();
    copy_eq::<Symbol>();
    send_sync::<&'static Plugin>();
    error::<Error>();
    send_sync::<Loader>();
};

#[test]
fn symbol_is_one_pointer() {
    assert_eq!(std::mem::size_of::<Symbol>(), std::mem::size_of::<usize>());
}
