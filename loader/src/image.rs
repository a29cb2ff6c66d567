//! A loaded plugin: mapped, relocated, RELRO applied, its initialisers not yet run.

use std::path::{Path, PathBuf};

use dynplug_arch::Machine;

use crate::error::LoadError;
use crate::group::{self, Input};
use crate::link::Options;
use crate::process::Module;
use crate::symbols::{Name, SHN_ABS};

/// A loaded plugin. It stays mapped for the rest of the process (plugins are never closed).
#[derive(Debug)]
pub struct Image {
    module: Module<'static>,
    /// The machine.
    pub machine: Machine,
    inits: Vec<u64>,
}

/// The system's page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}

impl Image {
    /// Loads the shared object at `path` (canonical) and the libraries it needs that the process
    /// lacks, searching `extra` directories too. Runs no code of the plugin but IFUNC resolvers.
    pub fn open(path: &Path, opts: &Options, extra: &[PathBuf]) -> Result<Image, LoadError> {
        Self::from(group::load(Input::File(path), opts, extra)?)
    }

    /// Loads a shared object from `bytes` (segments copied into anonymous mappings).
    pub fn from_bytes(bytes: &[u8], opts: &Options, extra: &[PathBuf]) -> Result<Image, LoadError> {
        Self::from(group::load(Input::Bytes(bytes), opts, extra)?)
    }

    fn from(l: group::Loaded) -> Result<Image, LoadError> {
        Ok(Image {
            module: l.module,
            machine: l.machine,
            inits: l.inits,
        })
    }

    /// The load bias.
    pub fn bias(&self) -> u64 {
        self.module.base
    }

    /// Runs the initialisers: the dependencies' first, then the plugin's DT_INIT and
    /// DT_INIT_ARRAY in order.
    ///
    /// # Safety
    /// Runs the plugin's code; call it exactly once per image.
    pub unsafe fn run_initialisers(&self) {
        // SAFETY: the addresses were checked to lie in executable segments of relocated,
        // protected images.
        unsafe { crate::init::run(&self.inits) }
    }

    /// The address of the exported function or variable `name` (default version), or `None`.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        let (_, sym) = self.module.tab.find(&Name::new(name.as_bytes()), None)?;
        if sym.is_tls() {
            // A thread-local variable has no one address; Go's Lookup does not serve it either.
            return None;
        }
        let addr = if sym.shndx == SHN_ABS {
            sym.value
        } else {
            self.module.base.wrapping_add(sym.value)
        };
        if sym.is_ifunc() {
            // SAFETY: an IFUNC's value is its resolver in the image's relocated code; glibc's
            // dlsym calls it the same way.
            return Some(unsafe { crate::resolve::call_resolver(addr) });
        }
        Some(addr)
    }
}
