//! A loaded plugin: mapped, relocated, RELRO applied, its initialisers not yet run.

use std::path::{Path, PathBuf};

use dynplug_arch::Machine;

use crate::error::LoadError;
use crate::group::{self, Input};
use crate::link::Options;
use crate::process::Module;

/// A loaded plugin. It stays mapped for the rest of the process (plugins are never closed).
#[derive(Debug)]
pub struct Image {
    /// Boxed: an image is returned through every frame of the open path, and a large value
    /// was copied in each (the stack pages an open touches are memory it adds).
    parts: Box<Parts>,
}

#[derive(Debug)]
struct Parts {
    module: Module<'static>,
    machine: Machine,
    inits: Vec<crate::init::Calls>,
    /// Libraries loaded earlier that this image uses (their initialisers run first).
    uses: Vec<u64>,
    exports: std::sync::OnceLock<crate::exports::Exports>,
}

/// The system's page size.
pub fn page_size() -> u64 {
    crate::os::page_size()
}

impl Image {
    /// Loads the shared object at `path` (canonical) and the libraries it needs that the process
    /// lacks, searching `extra` directories too. Runs no code of the plugin but IFUNC resolvers.
    pub fn open(path: &Path, opts: &Options, extra: &[PathBuf]) -> Result<Image, LoadError> {
        Self::from(group::load(Input::File(path), opts, extra)?)
    }

    /// Loads like [`Image::open`] the shared object already open (`opened`: the file, its
    /// length, device and inode, from [`crate::file::open_canonical`]), named `path` (canonical). `origin`: the directory
    /// `$ORIGIN` names in its search paths, that of the path it was opened by (as glibc takes
    /// it: made absolute, symlinks not resolved).
    pub fn open_file(
        path: &Path,
        origin: &Path,
        opened: (std::fs::File, u64, (u64, u64)),
        opts: &Options,
        extra: &[PathBuf],
    ) -> Result<Image, LoadError> {
        let (file, len, id) = opened;
        Self::from(group::load(
            Input::Opened(path, origin, file, len, id),
            opts,
            extra,
        )?)
    }

    /// The library at `path` (canonical; device and inode `id`) if the process has it already,
    /// mapped by dynplug (for a plugin, or as a plugin) or by the system loader: the same copy,
    /// not a second one, with no initialiser to run (they ran when it was loaded; if another
    /// thread is still running them, this waits). A library the system loaded stays the
    /// system's: dynplug does not keep it loaded.
    pub fn existing(path: &Path, id: (u64, u64)) -> Option<Image> {
        let (mut module, system) = group::existing(path, id)?;
        if system {
            // The system's table has no length of its own: the hash table tells how many
            // symbols there are (what the exports index walks).
            let count = match &module.tab.hash {
                crate::symbols::Hash::Gnu(h) => h.symbol_count().ok()?,
                crate::symbols::Hash::Sysv(h) => h.symbol_count(),
            };
            let len = usize::try_from(count.checked_mul(crate::symbols::SYM_SIZE)?).ok()?;
            module.tab.syms = module.tab.syms.get(..len)?;
        }
        Some(Image {
            parts: Box::new(Parts {
                module,
                machine: Machine::host()?,
                inits: Vec::new(),
                uses: Vec::new(),
                exports: Default::default(),
            }),
        })
    }

    /// True if the process has the library at `path` (canonical; device and inode `id`): one
    /// dynplug loaded, or one the system loaded. An open of it returns that copy. Never waits.
    pub fn is_loaded(path: &Path, id: (u64, u64)) -> bool {
        group::loaded(path, id).is_some()
    }

    /// The imports `opts` forbids of this image and of the libraries dynplug loaded for it
    /// (each but the image's own named with its library): an image opened earlier under more
    /// permissive options is held to the policy of a later open.
    pub fn breaches(&self, opts: &Options) -> Vec<String> {
        let (policy, exports) = (&opts.policy, &opts.exports);
        let me = &self.parts.module;
        let mut out = crate::resolve::breaches(me, policy, exports);
        let libraries = self.parts.inits.iter().map(|c| c.base);
        for base in libraries.chain(self.parts.uses.iter().copied()) {
            let Some(m) = group::module_at(base).filter(|m| m.base != me.base) else {
                continue;
            };
            let name = String::from_utf8_lossy(&m.name).into_owned();
            out.extend(
                crate::resolve::breaches(&m, policy, exports)
                    .into_iter()
                    .map(|b| format!("{b} (in {name})")),
            );
        }
        out
    }

    /// The imports `opts` forbids of the library at `path` (canonical; device and inode `id`)
    /// if the process has it (`None` if not): what an open of it under `opts` would refuse.
    pub fn loaded_breaches(path: &Path, id: (u64, u64), opts: &Options) -> Option<Vec<String>> {
        let (m, _) = group::loaded(path, id)?;
        Some(crate::resolve::breaches(&m, &opts.policy, &opts.exports))
    }

    /// Loads a shared object from `bytes` (segments copied into anonymous mappings).
    pub fn from_bytes(bytes: &[u8], opts: &Options, extra: &[PathBuf]) -> Result<Image, LoadError> {
        Self::from(group::load(Input::Bytes(bytes), opts, extra)?)
    }

    fn from(l: Box<group::Loaded>) -> Result<Image, LoadError> {
        Ok(Image {
            parts: Box::new(Parts {
                module: l.module,
                machine: l.machine,
                inits: l.inits,
                uses: l.uses,
                exports: Default::default(),
            }),
        })
    }

    /// The plugin's module (its symbol table, bias and names).
    pub(crate) fn module(&self) -> &Module<'static> {
        &self.parts.module
    }

    /// Makes the image, with the libraries it needs, join the global scope if dynplug loaded it
    /// (an open with `Options::global` of a plugin open already: glibc promotes an object
    /// dlopen'ed again with RTLD_GLOBAL). Nothing for a library the system loaded.
    pub fn join_global_scope(&self) {
        crate::group::join_loaded(self.bias());
    }

    /// The load bias.
    pub fn bias(&self) -> u64 {
        self.parts.module.base
    }

    /// The machine.
    pub fn machine(&self) -> Machine {
        self.parts.machine
    }

    /// Runs the initialisers: the dependencies' first, then the plugin's DT_INIT and
    /// DT_INIT_ARRAY in order.
    ///
    /// # Safety
    /// Runs the plugin's code; call it exactly once per image.
    pub unsafe fn run_initialisers(&self) {
        // Libraries loaded earlier for other plugins first: another thread may still be
        // running their initialisers.
        for &base in &self.parts.uses {
            crate::initialised::wait(base);
        }
        for calls in &self.parts.inits {
            let (base, functions) = (&calls.base, &calls.inits);
            if crate::debug::on(crate::debug::INIT) && !functions.is_empty() {
                crate::debug_log!(
                    crate::debug::INIT,
                    "calling init: {} ({} function(s): {:x?})",
                    crate::interpose::name_at(*base).unwrap_or_default(),
                    functions.len(),
                    functions
                );
            }
            // SAFETY: the addresses were checked to lie in executable segments of relocated,
            // protected images.
            unsafe { crate::init::run_module(calls) };
            crate::initialised::finished(calls.base);
        }
    }

    /// The address of the exported function or variable `name` (default version), or `None`.
    /// The first lookup indexes the exports; later ones are one hash probe.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        // Made without blocking (two first lookups may both index): see `fork::once`.
        let exports = crate::fork::once(&self.parts.exports, || {
            crate::exports::index(&self.parts.module)
        });
        let &(addr, ifunc) = exports.get(name.as_bytes())?;
        if !ifunc {
            return Some(addr);
        }
        let call = self.parts.module.ifunc_call;
        // SAFETY: an exported IFUNC's resolver, in the code of this initialised plugin.
        Some(unsafe { crate::abi::call_ifunc_resolver(addr, call) })
    }
}
