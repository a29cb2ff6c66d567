//! The Mach-O images dynplug loaded, for the process's life: a library two plugins need is
//! loaded once (matched by canonical path). One load runs at a time, under this list's lock, so
//! a library is never mapped twice.

use std::sync::{Arc, Mutex, MutexGuard};

use super::load::Image;

/// Every image loaded, in load order (dependencies of a load before it).
static IMAGES: Mutex<Vec<Arc<Image>>> = Mutex::new(Vec::new());

/// Takes the list for one load (the fork handlers first registered, as every lock's taker does).
pub(super) fn lock() -> MutexGuard<'static, Vec<Arc<Image>>> {
    crate::fork::install();
    IMAGES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the list's lock for a fork (`fork::prepare`).
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(IMAGES.lock().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_MACHO_IMAGES: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::MachOImages,
    take: lock_all,
    in_child: None,
};
