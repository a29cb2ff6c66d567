//! DT_GNU_HASH: hash function, Bloom filter, buckets and chains.

use crate::read;

/// The GNU hash of a name (`h = h * 33 + c`, from 5381).
///
/// Four bytes a step: `h * 33⁴ + a * 33³ + b * 33² + c * 33 + d` is the same value, with one
/// multiplication on the dependency chain instead of four (names are hashed once per import).
pub fn gnu_hash(name: &[u8]) -> u32 {
    let quads = name.chunks_exact(4);
    let rest = quads.remainder();
    let mut h = 5381u32;
    for q in quads {
        let &[a, b, c, d] = q else { continue };
        h = gnu_hash_step4(h, [a, b, c, d]);
    }
    rest.iter()
        .fold(h, |h, &c| h.wrapping_mul(33).wrapping_add(u32::from(c)))
}

/// The hash `h` continued over four more bytes.
#[inline(always)]
pub(super) fn gnu_hash_step4(h: u32, [a, b, c, d]: [u8; 4]) -> u32 {
    const P2: u32 = 33 * 33;
    const P3: u32 = P2 * 33;
    const P4: u32 = P3 * 33;
    let tail = u32::from(a)
        .wrapping_mul(P3)
        .wrapping_add(u32::from(b).wrapping_mul(P2))
        .wrapping_add(u32::from(c).wrapping_mul(33))
        .wrapping_add(u32::from(d));
    h.wrapping_mul(P4).wrapping_add(tail)
}

/// A validated GNU hash table.
#[derive(Clone, Copy, Debug)]
pub struct GnuHash<'a> {
    nbucket: u32,
    symoffset: u32,
    shift: u32,
    bloom: &'a [u8],
    buckets: &'a [u8],
    chains: &'a [u8],
}

impl<'a> GnuHash<'a> {
    /// Reads the table at the start of `b` (which may extend past its end). `Err` names the
    /// problem.
    pub fn parse(b: &'a [u8]) -> Result<GnuHash<'a>, &'static str> {
        let word = |o| read::u32_at(b, o).ok_or("header truncated");
        let (nbucket, symoffset, nbloom, shift) = (word(0)?, word(4)?, word(8)?, word(12)?);
        if nbucket == 0 {
            return Err("no buckets");
        }
        if shift >= 32 {
            // The shift applies to a 32-bit hash.
            return Err("bloom shift too large");
        }
        if nbloom == 0 || !nbloom.is_power_of_two() {
            return Err("bloom size not a power of two");
        }
        let bloom_len = u64::from(nbloom) * 8;
        let bloom = read::slice_at(b, 16, bloom_len).ok_or("bloom filter truncated")?;
        let buckets_at = 16 + bloom_len;
        let buckets =
            read::slice_at(b, buckets_at, u64::from(nbucket) * 4).ok_or("buckets truncated")?;
        let chains_at =
            usize::try_from(buckets_at + u64::from(nbucket) * 4).map_err(|_| "chains truncated")?;
        let chains = b.get(chains_at..).ok_or("chains truncated")?;
        Ok(GnuHash {
            nbucket,
            symoffset,
            shift,
            bloom,
            buckets,
            chains,
        })
    }

    /// The index of the first symbol the table covers. A [`GnuHash::symbol_count`] of exactly
    /// this means no symbol is in the table: it then says nothing of how many symbols follow
    /// (linkers leave undefined ones unhashed).
    pub fn symoffset(&self) -> u32 {
        self.symoffset
    }

    /// Number of symbols the table covers: past the last chain's terminator. `Err` if a chain
    /// runs off the table.
    pub fn symbol_count(&self) -> Result<u64, &'static str> {
        let mut max = 0u32;
        for i in 0..self.nbucket {
            max = max.max(read::u32_at(self.buckets, u64::from(i) * 4).unwrap_or(0));
        }
        if max < self.symoffset {
            return Ok(u64::from(self.symoffset));
        }
        let mut i = u64::from(max - self.symoffset);
        loop {
            let c = read::u32_at(self.chains, i * 4).ok_or("chain without terminator")?;
            if c & 1 != 0 {
                return Ok(u64::from(self.symoffset) + i + 1);
            }
            i += 1;
        }
    }

    /// The bloom filter's answer: false if no symbol with hash `h` is in the table (most
    /// modules of a scope, for most names: worth checking before anything else).
    #[inline(always)]
    pub fn may_contain(&self, h: u32) -> bool {
        let nbloom = self.bloom.len() / 8;
        let at = usize::try_from(h / 64).unwrap_or(0) & nbloom.wrapping_sub(1);
        let Some(word) = self
            .bloom
            .get(at * 8..at * 8 + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        else {
            return true;
        };
        let mask = (1u64 << (h % 64)) | (1u64 << ((h >> self.shift) % 64));
        u64::from_le_bytes(word) & mask == mask
    }

    /// Calls `visit` with every symbol index whose hash matches `h`, until it returns true.
    pub fn candidates(&self, h: u32, visit: &mut dyn FnMut(u32) -> bool) {
        if !self.may_contain(h) {
            return;
        }
        let Some(mut i) = read::u32_at(self.buckets, u64::from(h % self.nbucket) * 4) else {
            return;
        };
        if i < self.symoffset {
            return;
        }
        loop {
            let Some(c) = read::u32_at(self.chains, u64::from(i - self.symoffset) * 4) else {
                return;
            };
            if (c | 1) == (h | 1) && visit(i) {
                return;
            }
            if c & 1 != 0 {
                return;
            }
            let Some(next) = i.checked_add(1) else { return };
            i = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_known_values() {
        assert_eq!(gnu_hash(b""), 5381);
        assert_eq!(gnu_hash(b"printf"), 0x156b2bb8);
        assert_eq!(gnu_hash(b"exit"), 0x7c967e3f);
    }

    #[test]
    fn unrolled_hash_equals_the_definition() {
        let simple = |n: &[u8]| {
            n.iter().fold(5381u32, |h, &c| {
                h.wrapping_mul(33).wrapping_add(u32::from(c))
            })
        };
        let bytes: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in 0..bytes.len() {
            assert_eq!(
                gnu_hash(&bytes[..len]),
                simple(&bytes[..len]),
                "length {len}"
            );
        }
    }

    #[test]
    fn bad_tables_are_rejected() {
        assert!(GnuHash::parse(&[0; 8]).is_err());
        let mut t = vec![0u8; 64];
        t[0] = 1; // nbucket
        t[8] = 3; // nbloom not a power of two
        assert_eq!(
            GnuHash::parse(&t).err(),
            Some("bloom size not a power of two")
        );
    }

    #[test]
    fn chain_without_terminator_is_an_error() {
        // nbucket 1, symoffset 1, nbloom 1, shift 6; bloom; bucket[0] = 1; chain words even.
        let mut t = Vec::new();
        for w in [1u32, 1, 1, 6] {
            t.extend_from_slice(&w.to_le_bytes());
        }
        t.extend_from_slice(&u64::MAX.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&2u32.to_le_bytes());
        t.extend_from_slice(&4u32.to_le_bytes());
        let h = GnuHash::parse(&t).unwrap();
        assert_eq!(h.symbol_count(), Err("chain without terminator"));
        let mut n = 0;
        h.candidates(2, &mut |_| {
            n += 1;
            false
        });
        assert_eq!(n, 1, "walk stops at the end of the table");
    }
}
