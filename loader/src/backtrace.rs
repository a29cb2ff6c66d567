//! Naming code addresses: `backtrace_symbols` and `backtrace_symbols_fd` served to modules
//! dynplug loaded (the system's know only the system's modules), and [`symbolize`] for hosts.
//! A line names the module, the nearest exported symbol and the offset from it, in glibc's
//! format (`debug/backtracesyms.c`, `backtracesymsfd.c`); without a symbol, the offset from the
//! module's load bias. Addresses outside dynplug's modules go to the system's functions.

use std::ffi::{c_char, c_int, c_void, CStr};

use crate::interpose::{containing, nearest, system};

/// A code address named: the module holding it, the exported symbol at or below it, the offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbolized {
    /// The module's path (`<bytes>` for a plugin opened from memory).
    pub module: String,
    /// The exported symbol containing the address, if any.
    pub symbol: Option<String>,
    /// The address minus the symbol's address (or minus the module's load bias, without one).
    pub offset: u64,
}

/// One address in one of dynplug's modules, as the backtrace functions print it.
struct Named {
    file: &'static CStr,
    symbol: Option<&'static CStr>,
    /// `(sign, distance)` from the symbol, or from the load bias without one.
    offset: (char, u64),
    /// The load bias (glibc prints no offset for a module whose bias is 0 and no symbol).
    bias: u64,
}

fn named(addr: u64) -> Option<Named> {
    let e = containing(addr)?;
    let best = nearest(&e.module, addr);
    // SAFETY: `nearest` returns a pointer into the module's string table, NUL-terminated and
    // mapped for the rest of the process (modules are never unloaded).
    let symbol = best.map(|(_, name)| unsafe { CStr::from_ptr(name) });
    let from = best.map_or(e.module.base, |(at, _)| at);
    let offset = if addr >= from {
        ('+', addr - from)
    } else {
        ('-', from - addr)
    };
    Some(Named {
        file: e.name.as_c_str(),
        symbol,
        offset,
        bias: e.module.base,
    })
}

/// Names `addr` if it lies in a module dynplug loaded. For a host's panic hook or crash
/// handler: the process's own unwinder-based symbolisers find modules through the system
/// loader's `dl_iterate_phdr`, which does not list dynplug's modules.
pub fn symbolize(addr: usize) -> Option<Symbolized> {
    let n = named(addr as u64)?;
    Some(Symbolized {
        module: n.file.to_string_lossy().into_owned(),
        symbol: n.symbol.map(|s| s.to_string_lossy().into_owned()),
        offset: n.offset.1,
    })
}

/// `backtrace_symbols`' line: `file(symbol+0xoff) [0xaddr]`, C's `%#tx` and `%p`.
fn line(n: &Named, addr: u64) -> Vec<u8> {
    let file = n.file.to_bytes();
    if file.is_empty() {
        return format!("[{addr:#x}]").into_bytes();
    }
    let mut v = file.to_vec();
    v.push(b'(');
    v.extend_from_slice(n.symbol.map_or(&[][..], CStr::to_bytes));
    let (sign, off) = n.offset;
    // `%#tx` prints 0 without its prefix.
    let off = if off == 0 {
        "0".to_string()
    } else {
        format!("{off:#x}")
    };
    v.extend_from_slice(format!("{sign}{off}) [{addr:#x}]").as_bytes());
    v
}

/// `backtrace_symbols_fd`'s line: `file(symbol+0xoff)[0xaddr]` and a newline.
fn fd_line(n: &Named, addr: u64) -> Vec<u8> {
    let mut v = n.file.to_bytes().to_vec();
    if !v.is_empty() && (n.symbol.is_some() || n.bias != 0) {
        v.push(b'(');
        v.extend_from_slice(n.symbol.map_or(&[][..], CStr::to_bytes));
        let (sign, off) = n.offset;
        v.extend_from_slice(format!("{sign}0x{off:x})").as_bytes());
    }
    v.extend_from_slice(format!("[0x{addr:x}]\n").as_bytes());
    v
}

type SymbolsFn = unsafe extern "C" fn(*const *mut c_void, c_int) -> *mut *mut c_char;
type SymbolsFdFn = unsafe extern "C" fn(*const *mut c_void, c_int, c_int);

/// The system's line for an address outside dynplug's modules (`[0xaddr]` if it has none).
fn system_line(addr: *mut c_void) -> Vec<u8> {
    if let Some(f) = system(b"backtrace_symbols") {
        // SAFETY: glibc's `backtrace_symbols(void *const *, int)`, given a one-entry array; its
        // result is one malloc'd block (the array and its string), freed here after the copy.
        unsafe {
            let f = std::mem::transmute::<usize, SymbolsFn>(f as usize);
            let lines = f(&addr, 1);
            if !lines.is_null() {
                let text = CStr::from_ptr(*lines).to_bytes().to_vec();
                libc::free(lines.cast());
                return text;
            }
        }
    }
    format!("[{:#x}]", addr as u64).into_bytes()
}

/// `backtrace_symbols`: one malloc'd block holding the array of pointers and the lines, which
/// the caller frees with one `free`, as glibc's.
pub(crate) unsafe extern "C" fn serve_symbols(
    array: *const *mut c_void,
    size: c_int,
) -> *mut *mut c_char {
    let Ok(count) = usize::try_from(size) else {
        return std::ptr::null_mut();
    };
    if array.is_null() && count != 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: the caller passes `size` addresses at `array` (backtrace's contract).
    let addrs = unsafe { std::slice::from_raw_parts(array, count) };
    let lines: Vec<Vec<u8>> = addrs
        .iter()
        .map(|&a| named(a as u64).map_or_else(|| system_line(a), |n| line(&n, a as u64)))
        .collect();
    let table = count * std::mem::size_of::<*mut c_char>();
    let total = table + lines.iter().map(|l| l.len() + 1).sum::<usize>();
    // SAFETY: a fresh block of `total` bytes: the table, then each line and its NUL, written
    // within it; malloc's alignment suits the pointer table.
    unsafe {
        let block = libc::malloc(total.max(1)).cast::<u8>();
        if block.is_null() {
            return std::ptr::null_mut();
        }
        let ptrs = block.cast::<*mut c_char>();
        let mut at = block.add(table);
        for (i, l) in lines.iter().enumerate() {
            *ptrs.add(i) = at.cast();
            std::ptr::copy_nonoverlapping(l.as_ptr(), at, l.len());
            *at.add(l.len()) = 0;
            at = at.add(l.len() + 1);
        }
        ptrs
    }
}

/// `backtrace_symbols_fd`: each line written to `fd` as it is named, nothing allocated by the
/// system's part (its function is called for addresses outside dynplug's modules).
pub(crate) unsafe extern "C" fn serve_symbols_fd(
    array: *const *mut c_void,
    size: c_int,
    fd: c_int,
) {
    let Ok(count) = usize::try_from(size) else {
        return;
    };
    if array.is_null() {
        return;
    }
    // SAFETY: the caller passes `size` addresses at `array` (backtrace's contract).
    let addrs = unsafe { std::slice::from_raw_parts(array, count) };
    let sys = system(b"backtrace_symbols_fd");
    for a in addrs {
        match named(*a as u64) {
            Some(n) => write_all(fd, &fd_line(&n, *a as u64)),
            None => match sys {
                // SAFETY: glibc's `backtrace_symbols_fd(void *const *, int, int)`, given one
                // address.
                Some(f) => unsafe {
                    std::mem::transmute::<usize, SymbolsFdFn>(f as usize)(a, 1, fd)
                },
                None => write_all(fd, format!("[0x{:x}]\n", *a as u64).as_bytes()),
            },
        }
    }
}

fn write_all(fd: c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writes from a live slice to the caller's descriptor.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(n) {
            Ok(n) if n > 0 => bytes = bytes.get(n..).unwrap_or_default(),
            _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return,
        }
    }
}
