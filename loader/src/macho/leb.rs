//! A bounds-checked reader of the LEB128 numbers, bytes and strings in `__LINKEDIT` tables.

use crate::macho_error::{MachOError, MalformedMachO, Result};

/// A position in one table (an opcode stream, a trie): every read is checked against its end.
#[derive(Clone)]
pub(crate) struct Cursor<'a> {
    /// The whole table.
    bytes: &'a [u8],
    /// The next byte's offset in `bytes`.
    pos: usize,
    /// The table's name, for errors.
    what: &'static str,
}

impl<'a> Cursor<'a> {
    /// A cursor at `pos` in `bytes`.
    pub(crate) fn new(bytes: &'a [u8], pos: usize, what: &'static str) -> Self {
        Cursor { bytes, pos, what }
    }

    /// The next byte's offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Whether every byte has been read.
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn bad_leb(&self, at: usize) -> MachOError {
        MalformedMachO::BadLeb {
            what: self.what,
            offset: at as u64,
        }
        .into()
    }

    /// One byte.
    pub(crate) fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| crate::macho_error::oob(self.what, self.pos as u64, 1))?;
        self.pos += 1;
        Ok(b)
    }

    /// An unsigned LEB128 number; more than 64 significant bits is an error.
    pub(crate) fn uleb(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte().map_err(|_| self.bad_leb(start))?;
            let low = u64::from(b & 0x7f);
            // Bits shifted past 64 must be zero (shift 63 keeps one bit of the seven).
            if shift >= 64 || (shift > 0 && low >> (64 - shift) != 0) {
                return Err(self.bad_leb(start));
            }
            value |= low << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.bad_leb(start))
    }

    /// A signed LEB128 number; one that does not fit 64 bits is an error.
    pub(crate) fn sleb(&mut self) -> Result<i64> {
        let start = self.pos;
        let mut value = 0i64;
        for shift in (0..70).step_by(7) {
            let b = self.byte().map_err(|_| self.bad_leb(start))?;
            let low = i64::from(b & 0x7f);
            if shift == 63 {
                // The last byte holds one value bit: the rest must repeat the sign.
                if b & 0x80 != 0 || !(low == 0 || low == 0x7f) {
                    return Err(self.bad_leb(start));
                }
                return Ok(value | (low << 63));
            }
            value |= low << shift;
            if b & 0x80 == 0 {
                let used = shift + 7;
                if b & 0x40 != 0 {
                    value |= -1i64 << used;
                }
                return Ok(value);
            }
        }
        Err(self.bad_leb(start))
    }

    /// A NUL-terminated UTF-8 string (without the NUL); the cursor moves past the NUL.
    pub(crate) fn cstr(&mut self) -> Result<&'a str> {
        let start = self.pos;
        let bad = || MalformedMachO::BadString {
            what: self.what,
            offset: start as u64,
        };
        let raw = crate::read::cstr_at(self.bytes, start as u64).ok_or_else(bad)?;
        let s = core::str::from_utf8(raw).map_err(|_| bad())?;
        self.pos = start + raw.len() + 1;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uleb(b: &[u8]) -> Result<u64> {
        Cursor::new(b, 0, "t").uleb()
    }
    fn sleb(b: &[u8]) -> Result<i64> {
        Cursor::new(b, 0, "t").sleb()
    }

    #[test]
    fn uleb_values_and_overflow() {
        assert_eq!(uleb(&[0xe5, 0x8e, 0x26]).unwrap(), 624_485);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(uleb(&max).unwrap(), u64::MAX);
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(uleb(&over).is_err());
        assert!(uleb(&[0x80; 11]).is_err());
        assert!(uleb(&[0x80, 0x80]).is_err(), "truncated");
    }

    #[test]
    fn sleb_values_and_overflow() {
        assert_eq!(sleb(&[0x7f]).unwrap(), -1);
        assert_eq!(sleb(&[0xc0, 0xbb, 0x78]).unwrap(), -123_456);
        assert_eq!(sleb(&[0x08]).unwrap(), 8);
        let min = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f];
        assert_eq!(sleb(&min).unwrap(), i64::MIN);
        let over = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        assert!(sleb(&over).is_err());
    }
}
