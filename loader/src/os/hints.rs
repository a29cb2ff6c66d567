//! FreeBSD's `/var/run/ld-elf.so.hints`, written by `ldconfig`: the directories its rtld searches
//! after `DT_RUNPATH` and before `/lib:/usr/lib` (`include/elf-hints.h`, `gethints` in
//! `libexec/rtld-elf/rtld.c`).
//!
//! The file is `struct elfhints_hdr` (six `u32`s, then 26 spare ones), then a string table; the
//! directory list is `dirlistlen` bytes at `strtab + dirlist`, directories separated by `:`.
//! `ldconfig -B` writes it big-endian: the magic read in the other byte order says so.

use std::path::PathBuf;

use crate::read;

/// `ELFHINTS_MAGIC` ("Ehnt" little-endian).
const MAGIC: u32 = 0x746e_6845;
/// The only version there is.
const VERSION: u32 = 1;
/// Size of `struct elfhints_hdr`.
const HEADER: u64 = 128;

/// The hints file of the system (the 64-bit one: dynplug loads ELF64 only).
pub const PATH: &str = "/var/run/ld-elf.so.hints";

/// The directories the hints file at `path` lists (`None`: it cannot be read, or is no hints
/// file: rtld then goes on without it).
pub fn read_file(path: &std::path::Path) -> Option<Vec<PathBuf>> {
    directories(&std::fs::read(path).ok()?)
}

/// The directories the hints file `b` lists, in order (empty entries dropped, as rtld's
/// `strsep` loop skips them); `None` if `b` is not a hints file rtld would read.
pub fn directories(b: &[u8]) -> Option<Vec<PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let field = |i: u64, swap: bool| {
        let v = read::u32_at(b, i * 4)?;
        Some(if swap { v.swap_bytes() } else { v })
    };
    let swap = match field(0, false)? {
        MAGIC => false,
        m if m.swap_bytes() == MAGIC => true,
        _ => return None,
    };
    if field(1, swap)? != VERSION || (b.len() as u64) < HEADER {
        return None;
    }
    let (strtab, dirlist, len) = (field(2, swap)?, field(4, swap)?, field(5, swap)?);
    let at = u64::from(strtab).checked_add(u64::from(dirlist))?;
    let list = read::slice_at(b, at, u64::from(len))?;
    Some(
        list.split(|&c| c == b':')
            .filter(|d| !d.is_empty())
            .map(|d| PathBuf::from(std::ffi::OsStr::from_bytes(d)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hints file as FreeBSD's `ldconfig` writes it (`write_elf_hints`): the header, then the
    /// string table holding the list and its NUL.
    fn written(dirs: &str, big_endian: bool) -> Vec<u8> {
        let word = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let len = u32::try_from(dirs.len()).expect("short list");
        let mut b = Vec::new();
        for v in [MAGIC, VERSION, 128, len + 1, 0, len] {
            b.extend(word(v));
        }
        b.resize(128, 0);
        b.extend(dirs.as_bytes());
        b.push(0);
        b
    }

    #[test]
    fn the_directories_come_in_order_without_empty_entries() {
        let b = written("/lib:/usr/lib::/usr/local/lib", false);
        let dirs = directories(&b).expect("a hints file");
        assert_eq!(
            dirs,
            ["/lib", "/usr/lib", "/usr/local/lib"].map(PathBuf::from)
        );
    }

    #[test]
    fn a_file_written_big_endian_is_read_too() {
        let b = written("/usr/lib/compat:/usr/local/lib", true);
        let dirs = directories(&b).expect("a big-endian hints file");
        assert_eq!(
            dirs,
            ["/usr/lib/compat", "/usr/local/lib"].map(PathBuf::from)
        );
    }

    #[test]
    fn a_written_file_read_back_through_the_file_system_gives_the_same_list() {
        let path = dynplug_fixtures::scratch_dir().join("ld-elf.so.hints");
        std::fs::write(&path, written("/opt/a:/opt/b", false)).expect("write the hints file");
        let dirs = read_file(&path).expect("a hints file");
        assert_eq!(dirs, ["/opt/a", "/opt/b"].map(PathBuf::from));
        assert_eq!(read_file(&path.with_extension("missing")), None);
    }

    #[test]
    fn a_wrong_magic_version_or_list_past_the_end_is_no_hints_file() {
        let good = written("/lib", false);
        let mut magic = good.clone();
        magic[0] ^= 1;
        assert_eq!(directories(&magic), None);
        let mut version = good.clone();
        version[4] = 2;
        assert_eq!(directories(&version), None);
        let mut past = good.clone();
        past[20] = 200;
        assert_eq!(directories(&past), None);
        assert_eq!(directories(&good[..100]), None);
        assert_eq!(directories(&[]), None);
    }
}
