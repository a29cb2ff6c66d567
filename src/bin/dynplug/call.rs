//! `dynplug call`: open a plugin and call one of its functions with integer arguments.

use std::ffi::{c_char, CStr};
use std::path::Path;
use std::process::ExitCode;

/// How the result is printed.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Ret {
    /// A signed 64-bit integer, in decimal.
    Int,
    /// A `const char *`: the string, or `(null)`.
    Str,
    /// Nothing.
    Void,
}

/// An argument: decimal or `0x` hexadecimal, optionally negative (`-0x10` is -16).
pub fn parse_int(s: &str) -> Result<i64, String> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let hex = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"));
    // Parsed as i128 so that the most negative value and any 64-bit pattern (0xffff...) fit.
    let magnitude = match hex {
        Some(h) => i128::from_str_radix(h, 16),
        None => digits.parse::<i128>(),
    }
    .map_err(|e| format!("{s:?} is not an integer (decimal or 0x hex): {e}"))?;
    let value = if negative { -magnitude } else { magnitude };
    if let Ok(v) = i64::try_from(value) {
        return Ok(v);
    }
    // A 64-bit pattern written in hex (0xffffffffffffffff) is that pattern.
    match (hex, u64::try_from(value)) {
        (Some(_), Ok(bits)) => Ok(i64::from_ne_bytes(bits.to_ne_bytes())),
        _ => Err(format!("{s:?} does not fit in 64 bits")),
    }
}

/// Opens `file`, calls `symbol` with `args` (the rest 0), prints the result as `ret` says.
pub fn run(file: &Path, symbol: &str, args: &[i64], ret: Ret) -> ExitCode {
    // SAFETY: running the plugin's initialisers is what the user asked for (`call` documents
    // that the plugin's code runs).
    let plugin = match unsafe { dynplug::Plugin::open(file) } {
        Ok(p) => p,
        Err(e) => {
            eprintln!("dynplug: {e}");
            return ExitCode::from(1);
        }
    };
    let sym = match plugin.lookup(symbol) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dynplug: {e}");
            return ExitCode::from(1);
        }
    };
    if !executable(sym.addr() as usize) {
        eprintln!(
            "dynplug: {symbol} at {:p} in {} is not code (a variable?): not called",
            sym.addr(),
            file.display()
        );
        return ExitCode::from(1);
    }
    let mut a = [0i64; 6];
    for (slot, v) in a.iter_mut().zip(args) {
        *slot = *v;
    }
    // SAFETY: the user names SYMBOL as a function taking at most six integer arguments. In the
    // x86_64 System V ABI integer arguments travel in six registers, so a callee taking fewer
    // ignores the rest; a void function leaves %rax unspecified, and it is not printed then.
    let f = unsafe { sym.cast::<extern "C" fn(i64, i64, i64, i64, i64, i64) -> i64>() };
    let r = f(a[0], a[1], a[2], a[3], a[4], a[5]);
    match ret {
        Ret::Int => println!("{r}"),
        Ret::Void => {}
        Ret::Str => {
            let p = r as usize as *const c_char;
            if p.is_null() {
                println!("(null)");
            } else {
                // SAFETY: `--ret str` says the function returns a NUL-terminated string (or
                // NULL, handled above) that stays valid after the call.
                let s = unsafe { CStr::from_ptr(p) };
                println!("{}", s.to_string_lossy());
            }
        }
    }
    ExitCode::SUCCESS
}

/// True if `addr` lies in an executable mapping of this process (`/proc/self/maps`): calling a
/// variable would crash instead of saying so.
fn executable(addr: usize) -> bool {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        // Without /proc there is nothing to check against: the user named a function.
        return true;
    };
    maps.lines().any(|l| {
        let mut fields = l.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            return false;
        };
        let Some((lo, hi)) = range.split_once('-') else {
            return false;
        };
        let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
        else {
            return false;
        };
        perms.contains('x') && addr >= lo && addr < hi
    })
}

#[cfg(test)]
mod tests {
    use super::parse_int;

    #[test]
    fn integers_in_decimal_and_hex() {
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int("-42"), Ok(-42));
        assert_eq!(parse_int("0x10"), Ok(16));
        assert_eq!(parse_int("-0x10"), Ok(-16));
        assert_eq!(parse_int("0xffffffffffffffff"), Ok(-1));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_int("9223372036854775808").is_err());
        assert!(parse_int("0x1ffffffffffffffff").is_err());
        assert!(parse_int("12a").is_err());
        assert!(parse_int("").is_err());
    }
}
