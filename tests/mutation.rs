//! Deterministic mutation test: thousands of seeded mutations of every fixture through the dry
//! run. Each must return (Ok with or without problems, or a typed Err); none may panic, hang or
//! crash. Bit flips and truncations anywhere, and edits aimed at the fields a loader trusts.
use std::path::PathBuf;

use dynplug::Loader;
use dynplug_fixtures::dir;
use dynplug_fixtures::edit::{ph, Elf};

/// Mutations per fixture: 3000; 1000 under emulation (with 3000, qemu-user took 80 s on
/// aarch64 and 130 s on riscv64 on a 2-core machine), still enough for all three outcomes
/// (asserted below).
fn per_fixture() -> usize {
    if dynplug_fixtures::emulated() {
        1000
    } else {
        3000
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// A value likely to break something: small, huge, boundary, or random.
    fn nasty(&mut self) -> u64 {
        match self.below(8) {
            0 => 0,
            1 => u64::MAX,
            2 => 1 << 60,
            3 => self.next() & 0xffff,
            4 => 0x7fff_ffff,
            5 => 0x8000_0000,
            6 => self.next() & 0xff_ffff,
            _ => self.next(),
        }
    }
}

fn fixtures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for d in [dir(), dir().join("ldpath")] {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "so") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// One mutation of `e` (always a valid object when called).
fn mutate(e: &Elf, rng: &mut Rng) -> Vec<u8> {
    let mut m = e.clone();
    let len = m.bytes.len();
    match rng.below(14) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(len);
                m.bytes[i] ^= 1 << rng.below(8);
            }
        }
        1 => m.bytes.truncate(rng.below(len)),
        2 => m.set_u64(0x20, rng.nasty()),
        3 => m.set_u16(0x38, rng.nasty() as u16),
        4 => {
            let phdrs = m.phdrs();
            let (p, _) = phdrs[rng.below(phdrs.len())];
            let field = [ph::OFFSET, ph::VADDR, ph::FILESZ, ph::MEMSZ, ph::ALIGN][rng.below(5)];
            m.set_u64(p + field, rng.nasty());
        }
        5 => {
            let phdrs = m.phdrs();
            let (p, _) = phdrs[rng.below(phdrs.len())];
            m.set_u32(
                p + [ph::TYPE, ph::FLAGS][rng.below(2)],
                rng.next() as u32 % 8,
            );
        }
        6 | 7 => {
            let d = m.dynamic();
            let (at, _) = d[rng.below(d.len())];
            let off = if rng.below(2) == 0 { 0 } else { 8 };
            let v = if off == 0 {
                [1, 5, 6, 7, 10, 12, 23, 25, 0x6fff_fef5, 0x6fff_fff0][rng.below(10)]
            } else {
                rng.nasty()
            };
            m.set_u64(at + off, v);
        }
        8 | 9 => {
            let r = m.relas();
            if !r.is_empty() {
                let at = r[rng.below(r.len())];
                let off = [0, 8, 16][rng.below(3)];
                let v = if off == 8 && rng.below(2) == 0 {
                    (rng.next() & 0xffff_ffff_0000_0000) | rng.below(40) as u64
                } else {
                    rng.nasty()
                };
                m.set_u64(at + off, v);
            }
        }
        10 => {
            // st_name or st_shndx of a dynamic symbol.
            let symtab = m.offset_of(m.dyn_val(6));
            let strtab = m.offset_of(m.dyn_val(5));
            let n = (strtab.saturating_sub(symtab) / 24).max(1);
            let s = symtab + 24 * rng.below(n);
            if rng.below(2) == 0 {
                m.set_u32(s, rng.nasty() as u32);
            } else {
                m.set_u16(s + 6, rng.nasty() as u16);
            }
        }
        11 if !m.dynamic().iter().any(|d| d.1 == 0x6fff_fef5) => {
            // No GNU hash (fixtures linked with --hash-style=sysv): the SysV table's nbucket,
            // nchain, buckets or chains.
            let h = m.offset_of(m.dyn_val(4));
            let (nbucket, nchain) = (m.u32(h) as usize, m.u32(h + 4) as usize);
            let at = h + 4 * rng.below(2 + nbucket + nchain);
            m.set_u32(at, rng.nasty() as u32);
        }
        11 => {
            // GNU hash header, buckets, bloom or chains.
            let h = m.offset_of(m.dyn_val(0x6fff_fef5));
            let chains = m.gnu_chains();
            let at = if rng.below(2) == 0 || chains.is_empty() {
                h + 4 * rng.below(8)
            } else {
                chains[rng.below(chains.len())]
            };
            m.set_u32(at, rng.nasty() as u32);
        }
        12 => {
            if m.dynamic().iter().any(|d| d.1 == 0x6fff_fff0) {
                let v = m.offset_of(m.dyn_val(0x6fff_fff0));
                let i = rng.below(16);
                if v + 2 * i + 2 <= m.bytes.len() {
                    m.set_u16(v + 2 * i, rng.nasty() as u16);
                }
            }
        }
        _ => {
            // The ELF identification itself: sometimes not ELF at all.
            let i = rng.below(20);
            m.bytes[i] = rng.next() as u8;
        }
    }
    m.bytes
}

#[test]
fn thousands_of_mutations_never_panic() {
    let files = fixtures();
    assert!(files.len() >= 15, "{files:?}");
    let halves: Vec<Vec<PathBuf>> = vec![
        files.iter().step_by(2).cloned().collect(),
        files.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let handles: Vec<_> = halves
        .into_iter()
        .enumerate()
        .map(|(t, files)| {
            std::thread::spawn(move || {
                let loader = Loader::new();
                let mut counts = [0usize; 3];
                for (k, f) in files.iter().enumerate() {
                    let e = Elf::new(std::fs::read(f).unwrap());
                    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((t * 1000 + k) as u64 + 1));
                    for _ in 0..per_fixture() {
                        let m = mutate(&e, &mut rng);
                        match loader.check_bytes(&m) {
                            Ok(r) if r.is_ok() => counts[0] += 1,
                            Ok(_) => counts[1] += 1,
                            Err(_) => counts[2] += 1,
                        }
                    }
                }
                counts
            })
        })
        .collect();
    let mut total = [0usize; 3];
    for h in handles {
        let c = h.join().expect("a mutation made the loader panic");
        for i in 0..3 {
            total[i] += c[i];
        }
    }
    eprintln!(
        "mutations: {} would load, {} with problems, {} not examinable",
        total[0], total[1], total[2]
    );
    assert!(
        total.iter().all(|&n| n > 0),
        "every outcome occurs: {total:?}"
    );
    assert!(total.iter().sum::<usize>() >= 10_000);
}
