//! DT_HASH: the SysV hash function and table.

use crate::read;

/// The SysV ELF hash of a name.
pub fn sysv_hash(name: &[u8]) -> u32 {
    let mut h = 0u32;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// A validated SysV hash table.
#[derive(Clone, Copy, Debug)]
pub struct SysvHash<'a> {
    nbucket: u32,
    nchain: u32,
    buckets: &'a [u8],
    chains: &'a [u8],
}

impl<'a> SysvHash<'a> {
    /// Reads the table at the start of `b`.
    pub fn parse(b: &'a [u8]) -> Result<SysvHash<'a>, &'static str> {
        let nbucket = read::u32_at(b, 0).ok_or("header truncated")?;
        let nchain = read::u32_at(b, 4).ok_or("header truncated")?;
        if nbucket == 0 {
            return Err("no buckets");
        }
        let buckets = read::slice_at(b, 8, u64::from(nbucket) * 4).ok_or("buckets truncated")?;
        let chains = read::slice_at(b, 8 + u64::from(nbucket) * 4, u64::from(nchain) * 4)
            .ok_or("chains truncated")?;
        Ok(SysvHash {
            nbucket,
            nchain,
            buckets,
            chains,
        })
    }

    /// Number of symbols (`nchain`).
    pub fn symbol_count(&self) -> u64 {
        u64::from(self.nchain)
    }

    /// Calls `visit` with each symbol index in `h`'s bucket until it returns true. A chain is
    /// walked at most `nchain` steps, so a cycle cannot hang the loader.
    pub fn candidates(&self, h: u32, visit: &mut dyn FnMut(u32) -> bool) {
        let Some(mut i) = read::u32_at(self.buckets, u64::from(h % self.nbucket) * 4) else {
            return;
        };
        for _ in 0..self.nchain {
            if i == 0 || i >= self.nchain || visit(i) {
                return;
            }
            match read::u32_at(self.chains, u64::from(i) * 4) {
                Some(n) => i = n,
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_known_values() {
        assert_eq!(sysv_hash(b""), 0);
        assert_eq!(sysv_hash(b"printf"), 0x077905a6);
        assert_eq!(sysv_hash(b"exit"), 0x0006cf04);
    }

    #[test]
    fn cyclic_chain_ends() {
        // nbucket 1, nchain 3, bucket[0] = 1, chain: 0, 2, 1 (1 -> 2 -> 1 ...)
        let words = [1u32, 3, 1, 0, 2, 1];
        let t: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let h = SysvHash::parse(&t).unwrap();
        let mut n = 0;
        h.candidates(0, &mut |_| {
            n += 1;
            false
        });
        assert_eq!(n, 3);
    }
}
