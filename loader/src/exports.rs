//! A plugin's exports by name, for `lookup`: built once, on the first lookup, from the symbol
//! table, with the definition glibc's `dlsym` would pick for an unversioned name.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::process::Module;
use crate::symbols::{Sym, SHN_ABS};

/// A fast non-cryptographic hasher for symbol names (the table is the plugin's own: its names
/// are not attacker-chosen to collide with anything dynplug trusts), also used for dynplug's own
/// maps of paths and addresses, whose keys the host chooses.
#[derive(Default)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
}

/// A `HashMap` with `NameHasher` (std's SipHash costs more than an open's other work on
/// these maps).
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<NameHasher>>;

/// Name → every exported, non-thread-local definition: its address, and whether that is an
/// IFUNC resolver, called at each lookup of it (as glibc's `dlsym` does), never for another's.
pub type Exports = HashMap<&'static [u8], (u64, bool), BuildHasherDefault<NameHasher>>;

/// The address `dlsym` gives for `sym` of module `m`: an IFUNC's implementation (its resolver
/// is called, with the arguments of `m`'s system), not its resolver.
///
/// # Safety
/// The module is relocated and running: an IFUNC resolver of it may be called.
pub(crate) unsafe fn dlsym_address(sym: &Sym, m: &Module<'_>) -> u64 {
    let addr = sym.address(m.base);
    if sym.is_ifunc() {
        // SAFETY: an IFUNC's value is its resolver, in relocated code of a running module (the
        // caller's promise); glibc's dlsym calls it the same way.
        return unsafe { crate::abi::call_ifunc_resolver(addr, m.ifunc_call) };
    }
    addr
}

/// Builds the index of `m`'s exports.
pub fn index(m: &Module<'static>) -> Exports {
    let tab = &m.tab;
    // ((address, IFUNC), unversioned or base version) per name.
    let mut best: FastMap<&'static [u8], ((u64, bool), bool)> = HashMap::default();
    let count = u32::try_from(tab.count()).unwrap_or(u32::MAX);
    for i in 1..count {
        let Some(sym) = tab.sym(i) else { break };
        if !sym.is_export() || sym.is_tls() {
            continue;
        }
        let Some(name) = tab.name(&sym) else { continue };
        if sym.shndx == SHN_ABS && tab.defs.contains(name) {
            // The absolute symbol the linker adds for each version definition: a name, not a
            // function or variable.
            continue;
        }
        let vs = tab.versym.map(|_| tab.versym(i));
        if vs.is_some_and(|v| v & 0x8000 != 0) {
            // A hidden version is never bound by an unversioned name.
            continue;
        }
        let base = vs.is_none_or(|v| v & 0x7fff <= 1);
        if best.get(name).is_some_and(|&(_, b)| b || !base) {
            continue;
        }
        best.insert(name, ((sym.address(m.base), sym.is_ifunc()), base));
    }
    best.into_iter().map(|(k, (a, _))| (k, a)).collect()
}
