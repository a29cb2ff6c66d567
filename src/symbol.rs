//! `Symbol`: the address of an exported function or variable.

use core::ffi::c_void;

/// The address of a plugin's exported function or variable (Go's `plugin.Symbol`).
///
/// Plugins are never unloaded, so a `Symbol` stays valid for the life of the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol {
    addr: usize,
}

impl Symbol {
    pub(crate) fn new(addr: usize) -> Symbol {
        Symbol { addr }
    }

    /// Address of the variable or function.
    pub fn addr(self) -> *mut c_void {
        self.addr as *mut c_void
    }

    /// Reinterprets the address as `T`: a function pointer type or a raw pointer.
    ///
    /// # Safety
    /// `T` must be pointer-sized (checked, panics otherwise) and must describe what the symbol
    /// really is: calling a function through the wrong signature is undefined behaviour.
    pub unsafe fn cast<T: Copy>(self) -> T {
        assert_eq!(
            core::mem::size_of::<T>(),
            core::mem::size_of::<usize>(),
            "Symbol::cast: T must be pointer-sized"
        );
        // SAFETY: T is pointer-sized (asserted above); the caller promises it is a pointer type
        // that matches the symbol.
        unsafe { core::mem::transmute_copy::<usize, T>(&self.addr) }
    }
}
