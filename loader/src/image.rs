//! A loaded image: mapped, relocated, RELRO applied, its initialisers not yet run.

use std::os::fd::BorrowedFd;

use dynplug_arch::Machine;

use crate::elf::view::View;
use crate::error::LoadError;
use crate::link::{check_needed, initialisers, link, Options};
use crate::map::{Mapping, Source};
use crate::object::{symtab_in, Object};
use crate::process;
use crate::relocate::Live;
use crate::symbols::{Name, SymTab, SHN_ABS};

/// A loaded image. It stays mapped for the rest of the process (plugins are never closed).
#[derive(Debug)]
pub struct Image {
    /// Load bias.
    pub bias: u64,
    /// The machine.
    pub machine: Machine,
    tab: SymTab<'static>,
    inits: Vec<u64>,
}

/// The system's page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).ok().filter(|p| p.is_power_of_two()).unwrap_or(4096)
}

impl Image {
    /// Loads the shared object in `bytes` (the file's contents; `fd`, if given, is that file,
    /// mapped instead of copied). Runs no code of the object but its IFUNC resolvers.
    pub fn load(bytes: &[u8], fd: Option<BorrowedFd<'_>>, opts: &Options) -> Result<Image, LoadError> {
        let obj = Object::parse(bytes, Machine::host(), page_size())?;
        let modules = process::modules();
        let mut problems = Vec::new();
        check_needed(&obj, &modules, &mut problems);
        if let Some(e) = problems.into_iter().next() {
            return Err(e);
        }
        // Checked before anything is mapped, so that a bad table costs no mapping.
        obj.symtab()?;
        obj.references()?;
        let source = match fd {
            Some(fd) => Source::File(fd),
            None => Source::Bytes(bytes),
        };
        let mapping = Mapping::new(&obj.layout, source).map_err(LoadError::Map)?;
        let bias = mapping.bias;
        let mut mem = Live { bias };
        if let Some(e) = link(&obj, bias, opts, &modules, &mut mem, true, true).into_iter().next() {
            return Err(e);
        }
        let inits = initialisers(&obj, bias, &mem)?;
        if let Some(relro) = obj.layout.relro {
            mapping.protect_relro(relro, obj.layout.page).map_err(LoadError::Map)?;
        }
        // From here on the image lives for the rest of the process.
        let bias = mapping.leak();
        let loads: &'static [_] = Box::leak(obj.layout.loads.clone().into_boxed_slice());
        // SAFETY: the image is mapped at `bias` and never unmapped (leaked above); every load's
        // file-backed part is readable (loads without PF_R hold no tables: symtab_in only reads
        // addresses Dynamic::parse checked to be file-backed).
        let view = unsafe { View::mapped(bias, loads) };
        let tab = symtab_in(view, &obj.dynamic, obj.nsyms)?;
        Ok(Image { bias, machine: obj.machine, tab, inits })
    }

    /// Runs the initialisers: DT_INIT, then DT_INIT_ARRAY in order.
    ///
    /// # Safety
    /// Runs the plugin's code; call it exactly once per image.
    pub unsafe fn run_initialisers(&self) {
        // SAFETY: the addresses were checked to lie in the image's executable segments, and the
        // image is relocated and protected.
        unsafe { crate::init::run(&self.inits) }
    }

    /// The address of the exported function or variable `name` (default version), or `None`.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        let (_, sym) = self.tab.find(&Name::new(name.as_bytes()), None)?;
        let addr = if sym.shndx == SHN_ABS { sym.value } else { self.bias.wrapping_add(sym.value) };
        if sym.is_ifunc() {
            // SAFETY: an IFUNC's value is its resolver in the image's code, which is relocated;
            // glibc's dlsym calls it the same way.
            return Some(unsafe { crate::resolve::call_resolver(addr) });
        }
        Some(addr)
    }
}
