//! dynplug-loader's fork handlers are registered before `main`, when no other thread exists: a
//! thread that registered them later could do so while another thread's fork was under way, and
//! that fork would miss them (glibc runs only the handlers registered when its `prepare` phase
//! began). This test binary calls nothing of the loader's before it looks.

#[test]
fn fork_handlers_are_registered_before_main() {
    assert!(dynplug_loader::fork::installed());
}
