//! `STB_GNU_UNIQUE` symbols: one definition per process, whichever was bound first (glibc's
//! unique-symbol table). C++ gives inline functions' statics and templates' static members this
//! binding, so that a header-defined singleton stays one object across libraries, RTLD_LOCAL
//! ones included.

use std::cell::RefCell;
use std::sync::Mutex;

use crate::FastMap;

/// Name → (address, size) of the definition every module binds to.
type Table = FastMap<Vec<u8>, (u64, u64)>;

/// The definitions of the process: those of loads that succeeded.
static BOUND: Mutex<Option<Table>> = Mutex::new(None);

/// The unique symbols one load binds: the process's, and those it binds first (kept until the
/// load succeeds; a load that fails leaves no entry pointing into its unmapped images).
#[derive(Debug, Default)]
pub(crate) struct Unique {
    new: RefCell<Table>,
    /// Offline relocation: this process's table is not the image's world (only the image's own
    /// first definitions count, and nothing is committed).
    detached: bool,
}

impl Unique {
    /// A table for offline relocation, which never consults or joins the process's.
    pub(crate) fn detached() -> Unique {
        Unique {
            detached: true,
            ..Unique::default()
        }
    }

    /// The definition a reference to the unique symbol `name` binds to, given the one the search
    /// found (`addr`, `size`): the first bound in the process, else this one (then recorded).
    pub(crate) fn bind(&self, name: &[u8], addr: u64, size: u64) -> (u64, u64) {
        if !self.detached {
            crate::fork::install();
            let bound = BOUND.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(&d) = bound.as_ref().and_then(|t| t.get(name)) {
                return d;
            }
        }
        *self
            .new
            .borrow_mut()
            .entry(name.to_vec())
            .or_insert((addr, size))
    }

    /// Records the load's first definitions for the rest of the process (the load succeeded).
    pub(crate) fn commit(self) {
        let new = self.new.into_inner();
        if new.is_empty() || self.detached {
            return;
        }
        let mut bound = BOUND.lock().unwrap_or_else(|p| p.into_inner());
        let table = bound.get_or_insert_with(Default::default);
        for (name, d) in new {
            table.entry(name).or_insert(d);
        }
    }
}

/// Takes the table's lock for a fork (taken around no other).
fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(BOUND.lock().unwrap_or_else(|p| p.into_inner())));
}

#[linkme::distributed_slice(crate::fork::FORK_LOCKS)]
static FORK_UNIQUE: crate::fork::Locks = crate::fork::Locks {
    rank: crate::fork::Rank::Unique,
    take: lock_all,
    in_child: None,
};
