//! Symbol versions: VERDEF/VERNEED names by index, and glibc's matching rule.

use super::Sym;
use crate::read;

/// Most version records followed in one table.
const MAX_RECORDS: u64 = 4096;

/// Version names by version index (from VERDEF for definitions, VERNEED for references).
/// Shared when cloned (every open's scope holds the process's modules).
#[derive(Clone, Debug, Default)]
pub struct Versions<'a> {
    names: std::sync::Arc<[Option<&'a [u8]>]>,
}

/// Version names being read, by index.
struct Builder<'a> {
    names: Vec<Option<&'a [u8]>>,
}

impl<'a> Builder<'a> {
    /// Room for the indices of `count` records (indices normally run from 1 to `count`).
    fn with_room(count: u64) -> Builder<'a> {
        let n = usize::try_from(count.min(MAX_RECORDS)).unwrap_or(0);
        Builder {
            names: Vec::with_capacity(n + 2),
        }
    }

    fn set(&mut self, ndx: u16, name: &'a [u8]) {
        let i = usize::from(ndx & 0x7fff);
        if self.names.len() <= i {
            self.names.resize(i + 1, None);
        }
        if let Some(slot) = self.names.get_mut(i) {
            *slot = Some(name);
        }
    }

    fn done(self) -> Versions<'a> {
        Versions {
            names: self.names.into(),
        }
    }
}

impl<'a> Versions<'a> {
    /// The name of version index `ndx` (without the hidden bit).
    pub fn name(&self, ndx: u16) -> Option<&'a [u8]> {
        self.names.get(usize::from(ndx & 0x7fff)).copied().flatten()
    }

    /// The names as (offset, length) in `strtab`, which they were read from (`None` if one is
    /// not inside it).
    pub fn offsets(&self, strtab: &[u8]) -> Option<Vec<Option<(u32, u32)>>> {
        let base = strtab.as_ptr() as usize;
        self.names
            .iter()
            .map(|n| match n {
                None => Some(None),
                Some(n) => {
                    let off = (n.as_ptr() as usize).checked_sub(base)?;
                    let end = off.checked_add(n.len())?;
                    (end <= strtab.len()).then_some(())?;
                    Some(Some((
                        u32::try_from(off).ok()?,
                        u32::try_from(n.len()).ok()?,
                    )))
                }
            })
            .collect()
    }

    /// Version names from (offset, length) pairs in `strtab` (see [`Versions::offsets`]); a
    /// pair outside `strtab` gives no name.
    pub fn from_offsets(strtab: &'a [u8], names: &[Option<(u32, u32)>]) -> Versions<'a> {
        // Collected straight into the shared list (a mapped slice has a known length: one
        // allocation, not a vector and a copy).
        let names = names.iter().map(|n| {
            let (off, len) = (*n)?;
            let start = usize::try_from(off).ok()?;
            strtab.get(start..start.checked_add(usize::try_from(len).ok()?)?)
        });
        Versions {
            names: names.collect(),
        }
    }

    /// True if `name` is one of the version names.
    pub fn contains(&self, name: &[u8]) -> bool {
        self.names.contains(&Some(name))
    }

    /// Highest index with a name.
    pub fn max_index(&self) -> u16 {
        u16::try_from(self.names.len().saturating_sub(1)).unwrap_or(u16::MAX)
    }

    /// Reads a VERDEF chain starting at the start of `b` (`count` records at most).
    pub fn from_verdef(
        b: &'a [u8],
        count: u64,
        strtab: &'a [u8],
    ) -> Result<Versions<'a>, (&'static str, u64)> {
        let mut v = Builder::with_room(count);
        let mut off = 0u64;
        for _ in 0..count.min(MAX_RECORDS) {
            let f = |o: u64| off.checked_add(o).ok_or(("verdef offset", off));
            let version = read::u16_at(b, f(0)?).ok_or(("verdef outside table", off))?;
            if version != 1 {
                return Err(("vd_version", u64::from(version)));
            }
            let ndx = read::u16_at(b, f(4)?).ok_or(("verdef outside table", off))?;
            let aux = read::u32_at(b, f(12)?).ok_or(("verdef outside table", off))?;
            let next = read::u32_at(b, f(16)?).ok_or(("verdef outside table", off))?;
            let name_off = read::u32_at(b, f(u64::from(aux))?).ok_or(("vd_aux", u64::from(aux)))?;
            let name = read::cstr_at(strtab, u64::from(name_off))
                .ok_or(("vda_name", u64::from(name_off)))?;
            v.set(ndx, name);
            if next == 0 {
                break;
            }
            off = f(u64::from(next))?;
        }
        Ok(v.done())
    }

    /// Reads a VERNEED chain starting at the start of `b` (`count` records at most).
    pub fn from_verneed(
        b: &'a [u8],
        count: u64,
        strtab: &'a [u8],
    ) -> Result<Versions<'a>, (&'static str, u64)> {
        // Each file record names a few versions; four a record is room for the usual.
        let mut v = Builder::with_room(count.saturating_mul(4));
        let mut off = 0u64;
        for _ in 0..count.min(MAX_RECORDS) {
            let at = |base: u64, o: u64| base.checked_add(o).ok_or(("verneed offset", base));
            let version = read::u16_at(b, off).ok_or(("verneed outside table", off))?;
            if version != 1 {
                return Err(("vn_version", u64::from(version)));
            }
            let cnt = read::u16_at(b, at(off, 2)?).ok_or(("verneed outside table", off))?;
            let aux = read::u32_at(b, at(off, 8)?).ok_or(("verneed outside table", off))?;
            let next = read::u32_at(b, at(off, 12)?).ok_or(("verneed outside table", off))?;
            let mut a = at(off, u64::from(aux))?;
            for _ in 0..cnt {
                let other = read::u16_at(b, at(a, 6)?).ok_or(("vernaux outside table", a))?;
                let name_off = read::u32_at(b, at(a, 8)?).ok_or(("vernaux outside table", a))?;
                let anext = read::u32_at(b, at(a, 12)?).ok_or(("vernaux outside table", a))?;
                let name = read::cstr_at(strtab, u64::from(name_off))
                    .ok_or(("vna_name", u64::from(name_off)))?;
                v.set(other, name);
                if anext == 0 {
                    break;
                }
                a = at(a, u64::from(anext))?;
            }
            if next == 0 {
                break;
            }
            off = at(off, u64::from(next))?;
        }
        Ok(v.done())
    }
}

/// Chooses among the definitions of one name in one module, as glibc's `check_match` does.
#[derive(Debug)]
pub struct VersionMatch<'w> {
    want: Option<&'w [u8]>,
    /// An unversioned reference being relocated (else `dlsym`): glibc takes the base versions,
    /// indices 1 and 2, directly (`check_match`), where `dlsym` wants the newest.
    relocation: bool,
    exact: Option<(u32, Sym)>,
    fallback: Option<(u32, Sym)>,
    /// Non-hidden versioned candidates an unversioned reference saw.
    versions: u32,
}

impl<'w> VersionMatch<'w> {
    /// A match for `dlsym` asking for version `want` (`None`: unversioned, the newest).
    pub fn new(want: Option<&'w [u8]>) -> VersionMatch<'w> {
        VersionMatch {
            want,
            relocation: false,
            exact: None,
            fallback: None,
            versions: 0,
        }
    }

    /// A match for a symbol reference being relocated, asking for version `want`.
    pub fn for_relocation(want: Option<&'w [u8]>) -> VersionMatch<'w> {
        VersionMatch {
            relocation: true,
            ..VersionMatch::new(want)
        }
    }

    /// Offers candidate `i`; returns true when the search can stop.
    pub fn offer(&mut self, i: u32, sym: Sym, versym: Option<u16>, defs: &Versions<'_>) -> bool {
        let Some(vs) = versym else {
            // A definer without versions satisfies any reference.
            self.exact = Some((i, sym));
            return true;
        };
        let ndx = vs & 0x7fff;
        let hidden = vs & 0x8000 != 0;
        match self.want {
            Some(want) => {
                if defs.name(ndx) == Some(want) {
                    self.exact = Some((i, sym));
                    return true;
                }
                // An unversioned definition in a versioned module still satisfies a reference
                // being relocated; never `dlvsym` (glibc's `_dl_vsym` looks up with `hidden`
                // set, FreeBSD's `dlvsym` likewise takes only the version named).
                if self.relocation && ndx <= 1 && !hidden && self.fallback.is_none() {
                    self.fallback = Some((i, sym));
                }
                false
            }
            None => {
                // glibc's `check_match`: below this index a definition is taken as it is (an
                // old unversioned reference gets the oldest version, index 2).
                let direct = if self.relocation { 3 } else { 2 };
                if ndx < direct {
                    self.exact = Some((i, sym));
                    return true;
                }
                // Otherwise a non-hidden version, if it is the only one; hidden ones never.
                if !hidden {
                    self.versions += 1;
                    self.fallback.get_or_insert((i, sym));
                }
                false
            }
        }
    }

    /// The chosen definition.
    pub fn result(self) -> Option<(u32, Sym)> {
        match self.want {
            Some(_) => self.exact.or(self.fallback),
            None => self.exact.or(self.fallback.filter(|_| self.versions == 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offers (versym) candidates 1, 2, ... in order; the chosen candidate's number.
    fn chosen(mut m: VersionMatch<'_>, versyms: &[u16]) -> Option<u32> {
        let defs = Versions::default();
        for (i, &v) in (1u32..).zip(versyms) {
            if m.offer(i, Sym::default(), Some(v), &defs) {
                break;
            }
        }
        m.result().map(|(i, _)| i)
    }

    #[test]
    fn unversioned_references_follow_glibc_s_check_match() {
        // foo@V1 (index 2, hidden) and foo@@V2 (index 3), in either order.
        for order in [[0x8002, 3], [3, 0x8002]] {
            let v1 = 1 + order.iter().position(|&v| v == 0x8002).unwrap() as u32;
            let v2 = 3 - v1;
            assert_eq!(chosen(VersionMatch::for_relocation(None), &order), Some(v1));
            assert_eq!(chosen(VersionMatch::new(None), &order), Some(v2));
        }
        // Two non-hidden versions past the base: ambiguous, neither is taken.
        assert_eq!(chosen(VersionMatch::for_relocation(None), &[3, 4]), None);
        // Hidden ones are never taken past the base.
        assert_eq!(chosen(VersionMatch::new(None), &[0x8003]), None);
    }

    #[test]
    fn a_versioned_reference_falls_back_to_a_base_definition_only_when_relocated() {
        // foo defined at the base version (index 1); the reference asks for V1, which the
        // module does not define (no names here: `defs` is empty).
        assert_eq!(
            chosen(VersionMatch::for_relocation(Some(b"V1")), &[1]),
            Some(1)
        );
        assert_eq!(chosen(VersionMatch::new(Some(b"V1")), &[1]), None);
        // Hidden base definitions are never taken.
        assert_eq!(
            chosen(VersionMatch::for_relocation(Some(b"V1")), &[0x8001]),
            None
        );
    }
}
