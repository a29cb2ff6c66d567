//! Hostile Mach-O: targeted edits of the fixtures (truncations, bad load commands, a cyclic
//! trie, chains that leave their page, out-of-range ordinals, LEB128 overflow, crafted opcode
//! streams) each give their typed error; then thousands of seeded mutations, none of which may
//! panic or hang.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::path::PathBuf;

use dynplug_loader::macho::{
    symtab, FixupKind, MachO, MachOError, MalformedMachO as M, UnsupportedMachO as U,
};

fn fixture(arch: &str, name: &str) -> Vec<u8> {
    let p: PathBuf = dynplug_fixtures::macho_dir(arch).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
fn set_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn set_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn set_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Every load command's (offset, cmd, cmdsize), read from a known-good fixture.
fn commands(b: &[u8]) -> Vec<(usize, u32, u32)> {
    let mut off = 32;
    (0..u32_at(b, 16))
        .map(|_| {
            let c = (off, u32_at(b, off), u32_at(b, off + 4));
            off += c.2 as usize;
            c
        })
        .collect()
}

fn command(b: &[u8], cmd: u32) -> usize {
    commands(b).into_iter().find(|c| c.1 == cmd).unwrap().0
}

/// Parses and runs every reader to its end; the first error.
fn run(b: &[u8]) -> Result<(), MachOError> {
    let m = MachO::parse(b)?;
    for e in m.exports() {
        let (name, _) = e?;
        m.export(&name)?;
    }
    m.export("_plugin_add")?;
    for f in m.fixups() {
        f?;
    }
    for s in symtab::symbols(&m) {
        s?;
    }
    Ok(())
}

fn malformed(r: Result<(), MachOError>) -> M {
    match r {
        Err(MachOError::Malformed(m)) => m,
        r => panic!("expected a malformed error, got {r:?}"),
    }
}

fn unsupported(r: Result<(), MachOError>) -> U {
    match r {
        Err(MachOError::Unsupported(u)) => u,
        r => panic!("expected an unsupported error, got {r:?}"),
    }
}

const PLUGINS: [&str; 4] = [
    "macho_plugin_chained.dylib",
    "macho_plugin_chained.bundle",
    "macho_plugin_opcodes.dylib",
    "macho_plugin_opcodes.bundle",
];

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn refused_headers_say_why() {
    let good = fixture("arm64", "macho_plugin_chained.dylib");
    run(&good).unwrap();
    let edit = |off: usize, v: u32| {
        let mut b = good.clone();
        set_u32(&mut b, off, v);
        run(&b)
    };
    assert_eq!(unsupported(edit(0, 0xfeed_face)), U::Bits32);
    assert_eq!(unsupported(edit(0, 0xbeba_feca)), U::Fat);
    assert_eq!(unsupported(edit(0, 0xcffa_edfe)), U::BigEndian);
    assert_eq!(
        malformed(edit(0, 0x464c_457f)),
        M::BadMagic { magic: 0x464c_457f }
    );
    assert_eq!(unsupported(edit(8, 2)), U::Arm64e);
    assert_eq!(
        unsupported(edit(8, 0x8000_0002)),
        U::Arm64e,
        "capability bits aside"
    );
    assert_eq!(unsupported(edit(12, 2)), U::FileType { filetype: 2 });
    assert!(matches!(
        unsupported(edit(4, 12)),
        U::CpuType { cputype: 12, .. }
    ));
    assert!(dynplug_loader::macho::is_macho(&good));
    assert!(!dynplug_loader::macho::is_macho(b"\x7fELF"));
    // The error converts into the loader's, saying Mach-O.
    let e: dynplug_loader::LoadError = MachO::parse(&good[..10]).unwrap_err().into();
    assert!(e.to_string().contains("Mach-O"), "{e}");
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn every_truncation_is_an_error() {
    for arch in ["x86_64", "arm64"] {
        for name in PLUGINS {
            let b = fixture(arch, name);
            let cmds_end = 32 + u32_at(&b, 20) as usize;
            // Every length through the load commands, then a stride through the rest: the
            // last segment (__LINKEDIT) runs to the end of the file.
            let lens = (0..=cmds_end).chain((cmds_end..b.len()).step_by(61));
            for len in lens {
                assert!(
                    MachO::parse(&b[..len]).is_err(),
                    "{arch} {name} cut at {len}"
                );
            }
        }
    }
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn bad_load_commands() {
    let good = fixture("x86_64", "macho_plugin_opcodes.dylib");
    let cmds = commands(&good);
    let (off, cmd, size) = cmds[3];
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        run(&b)
    };
    let bad = |why| M::BadLoadCommand { index: 3, cmd, why };
    let zero = edit(&|b| set_u32(b, off + 4, 0));
    assert_eq!(
        malformed(zero),
        bad("cmdsize is not a non-zero multiple of 8")
    );
    let odd = edit(&|b| set_u32(b, off + 4, size + 4));
    assert_eq!(
        malformed(odd),
        bad("cmdsize is not a non-zero multiple of 8")
    );
    let long = edit(&|b| set_u32(b, off + 4, 1 << 20));
    assert_eq!(malformed(long), bad("runs past sizeofcmds"));
    let many = edit(&|b| set_u32(b, 16, cmds.len() as u32 + 1));
    assert!(matches!(
        malformed(many),
        M::OutOfBounds { .. } | M::BadLoadCommand { .. }
    ));
    let huge = edit(&|b| set_u32(b, 20, u32::MAX));
    assert!(matches!(
        malformed(huge),
        M::OutOfBounds {
            what: "load commands",
            ..
        }
    ));
    // A dylib name whose offset points past the command.
    let dylib = command(&good, 0xc);
    let name = edit(&|b| set_u32(b, dylib + 8, 4096));
    assert!(matches!(
        malformed(name),
        M::BadLoadCommand { cmd: 0xc, .. }
    ));
    // A command dyld must understand and dynplug does not.
    let req = edit(&|b| set_u32(b, off, 0x8000_0028));
    assert_eq!(unsupported(req), U::RequiredCommand { cmd: 0x8000_0028 });
    // Two symbol tables.
    let symtab = command(&good, 0x2);
    let uuid = command(&good, 0x1b);
    let dup = edit(&|b| {
        b[uuid..uuid + 24].copy_from_slice(&good[symtab..symtab + 24]);
    });
    assert_eq!(malformed(dup), M::DuplicateCommand { cmd: 0x2 });
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn bad_segments_and_linkedit_ranges() {
    let good = fixture("x86_64", "macho_plugin_opcodes.dylib");
    let segs: Vec<usize> = commands(&good)
        .into_iter()
        .filter(|c| c.1 == 0x19)
        .map(|c| c.0)
        .collect();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        run(&b)
    };
    let data = segs[2];
    let why = |r| match malformed(r) {
        M::BadSegment { why, .. } => why,
        m => panic!("{m:?}"),
    };
    assert_eq!(
        why(edit(&|b| set_u64(b, data + 48, 1 << 40))),
        "filesize exceeds vmsize"
    );
    assert_eq!(
        why(edit(&|b| set_u64(b, data + 40, 1 << 40))),
        "file range lies outside the file"
    );
    // __DATA_CONST grown over __DATA.
    let r = edit(&|b| set_u64(b, segs[1] + 32, 0x10000));
    assert_eq!(why(r), "unsorted or overlapping in memory");
    let r = edit(&|b| set_u64(b, data + 32, u64::MAX));
    assert_eq!(why(r), "address range wraps or is too large");
    assert_eq!(
        why(edit(&|b| set_u32(b, data + 60, 8))),
        "unknown protection bits"
    );
    let wx = edit(&|b| set_u32(b, data + 60, 7));
    assert_eq!(
        unsupported(wx),
        U::WritableExecutable {
            name: "__DATA".into()
        }
    );
    // A section outside its segment.
    let sect = data + 72;
    let r = edit(&|b| set_u64(b, sect + 32, 0));
    assert!(matches!(malformed(r), M::BadSection { .. }));
    // The symbol table outside __LINKEDIT.
    let symtab = command(&good, 0x2);
    let r = edit(&|b| set_u32(b, symtab + 8, 0x100));
    assert!(matches!(
        malformed(r),
        M::OutOfBounds {
            what: "symbol table",
            ..
        }
    ));
    let r = edit(&|b| set_u32(b, symtab + 12, u32::MAX));
    assert!(matches!(
        malformed(r),
        M::OutOfBounds {
            what: "symbol table",
            ..
        }
    ));
    // A bind stream running past the end of the file.
    let info = command(&good, 0x8000_0022);
    let r = edit(&|b| set_u32(b, info + 20, 1 << 30));
    assert!(matches!(
        malformed(r),
        M::OutOfBounds {
            what: "bind opcodes",
            ..
        }
    ));
    // __LINKEDIT writable, __TEXT not executable.
    let wrong = "protections are not the ones its name requires";
    assert_eq!(why(edit(&|b| set_u32(b, segs[3] + 60, 3))), wrong);
    assert_eq!(why(edit(&|b| set_u32(b, segs[0] + 60, 1))), wrong);
    // __LINKEDIT missing (renamed).
    let linkedit = segs[3];
    let r = edit(&|b| b[linkedit + 8..linkedit + 18].copy_from_slice(b"__LINKEDI_"));
    assert_eq!(malformed(r), M::Missing { what: "__LINKEDIT" });
}

/// The chained x86_64 dylib, its trie's file offset, and its fixups blob's.
fn chained() -> (Vec<u8>, usize, usize) {
    let b = fixture("x86_64", "macho_plugin_chained.dylib");
    let trie = u32_at(&b, command(&b, 0x8000_0033) + 8) as usize;
    let blob = u32_at(&b, command(&b, 0x8000_0034) + 8) as usize;
    (b, trie, blob)
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn cyclic_or_out_of_range_trie() {
    let (good, trie, _) = chained();
    // Root: no terminal, one child "_" at a one-byte offset; point it back at the root.
    assert_eq!(&good[trie..trie + 4], b"\x00\x01_\x00");
    let mut b = good.clone();
    b[trie + 4] = 0;
    let m = MachO::parse(&b).unwrap();
    let cycle = M::BadTrie {
        offset: 0,
        why: "cycle",
    };
    assert_eq!(m.export("_plugin_add"), Err(cycle.into()));
    let walk: Vec<_> = m.exports().collect();
    assert!(matches!(
        walk.last(),
        Some(Err(MachOError::Malformed(M::BadTrie { .. })))
    ));
    assert!(walk.len() <= 2, "the walk stopped at the cycle");
    // The child past the trie's end.
    b[trie + 4] = 0xff;
    b[trie + 5] = 0x7f;
    let m = MachO::parse(&b).unwrap();
    let r = m.export("_plugin_add").unwrap_err();
    assert_eq!(
        r,
        M::BadTrie {
            offset: 2,
            why: "child offset outside the trie"
        }
        .into()
    );
    // A child offset that overflows 64 bits.
    b[trie + 4..trie + 14].fill(0xff);
    let m = MachO::parse(&b).unwrap();
    assert!(matches!(
        m.export("_plugin_add"),
        Err(MachOError::Malformed(M::BadLeb { .. }))
    ));
    // A terminal size running past the trie.
    let mut b = good.clone();
    b[trie] = 0xff;
    b[trie + 1] = 0x7f;
    let m = MachO::parse(&b).unwrap();
    assert!(matches!(
        m.export("_x"),
        Err(MachOError::Malformed(M::BadTrie { .. }))
    ));
}

/// The chained blob's starts for segment `seg`: (offset of starts_in_segment, its page_start[0]).
fn starts(b: &[u8], blob: usize, seg: usize) -> (usize, usize) {
    let image = blob + u32_at(b, blob + 4) as usize;
    let s = image + u32_at(b, image + 4 + 4 * seg) as usize;
    (s, s + 22)
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn bad_chains() {
    let (good, _, blob) = chained();
    let m = MachO::parse(&good).unwrap();
    let data = &m.segments[2];
    assert_eq!(data.name, "__DATA");
    let (seg_starts, page0) = starts(&good, blob, 2);
    let first = data.fileoff as usize + u16::from_le_bytes([good[page0], good[page0 + 1]]) as usize;
    let word = u64::from_le_bytes(good[first..first + 8].try_into().unwrap());
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        run(&b)
    };
    // `next` at its maximum: 0xfff * 4 bytes on, past the 4 KiB page.
    let r = edit(&|b| set_u64(b, first, word | (0xfff << 51)));
    assert!(matches!(
        malformed(r),
        M::BadChain {
            why: "chain runs past its page",
            ..
        }
    ));
    // A bind of import 0xffffff (6 imports).
    let bind = (1 << 63) | (word & (0xfff << 51)) | 0xff_ffff;
    let r = edit(&|b| set_u64(b, first, bind));
    assert_eq!(
        malformed(r),
        M::BadImportIndex {
            index: 0xff_ffff,
            count: 6
        }
    );
    // An import from library 16 (one dependency); one from the special ordinal 0xf0.
    let imports = blob + u32_at(&good, blob + 8) as usize;
    for lib in [16u8, 0xf0] {
        let r = edit(&|b| b[imports] = lib);
        assert!(
            matches!(malformed(r), M::BadOrdinal { count: 1, .. }),
            "{lib}"
        );
    }
    // Page start past the page; the 32-bit formats' multi-start flag.
    for start in [0x1000u16, 0x8004] {
        let r = edit(&|b| set_u16(b, page0, start));
        assert!(
            matches!(
                malformed(r),
                M::BadChain {
                    why: "page start",
                    ..
                }
            ),
            "{start:#x}"
        );
    }
    // Pointer formats: arm64e refused, 64_OFFSET read (same bit layout, base 0: same fixups).
    assert_eq!(
        unsupported(edit(&|b| set_u16(b, seg_starts + 6, 1))),
        U::PointerFormat { format: 1 }
    );
    let mut offset = good.clone();
    for seg in [1, 2] {
        let (s, _) = starts(&good, blob, seg);
        set_u16(&mut offset, s + 6, 6);
    }
    let a: Vec<_> = m.fixups().map(Result::unwrap).collect();
    let o = MachO::parse(&offset).unwrap();
    let b: Vec<_> = o.fixups().map(Result::unwrap).collect();
    assert_eq!(a, b);
    assert!(a.iter().any(|f| matches!(f.kind, FixupKind::Rebase { .. })));
    // Header fields.
    let v = |what, value| U::ChainedFormat { what, value };
    assert_eq!(unsupported(edit(&|b| set_u32(b, blob, 1))), v("version", 1));
    assert_eq!(
        unsupported(edit(&|b| set_u32(b, blob + 20, 4))),
        v("imports format", 4)
    );
    assert_eq!(
        unsupported(edit(&|b| set_u32(b, blob + 24, 1))),
        v("symbols format", 1)
    );
    let r = edit(&|b| set_u32(b, blob + 16, 1 << 20));
    assert!(matches!(
        malformed(r),
        M::OutOfBounds {
            what: "chained imports",
            ..
        }
    ));
    // Starts that claim another segment offset than the segment's.
    let r = edit(&|b| set_u64(b, seg_starts + 8, 0));
    assert!(matches!(malformed(r), M::BadChain { .. }));
    // A chain into the read-only __TEXT: its starts moved to segment 0.
    let image = blob + u32_at(&good, blob + 4) as usize;
    let r = edit(&|b| {
        let rel = u32_at(b, image + 4 + 8);
        set_u32(b, image + 4, rel);
        set_u64(b, seg_starts + 8, 0);
    });
    assert!(matches!(malformed(r), M::FixupOutsideWritable { .. }));
}

/// The opcode x86_64 dylib with the stream `which` (0 rebase, 1 bind, 2 weak, 3 lazy) replaced by
/// `ops`, padded with DONE, in the place of the string table (the streams are too short).
fn with_stream(which: usize, ops: &[u8]) -> Vec<u8> {
    let mut b = fixture("x86_64", "macho_plugin_opcodes.dylib");
    let info = command(&b, 0x8000_0022);
    let symtab = command(&b, 0x2);
    let (off, size) = (u32_at(&b, symtab + 16), u32_at(&b, symtab + 20));
    assert!(
        ops.len() <= size as usize,
        "the string table has {size} bytes"
    );
    let at = off as usize;
    b[at..at + size as usize].fill(0);
    b[at..at + ops.len()].copy_from_slice(ops);
    set_u32(&mut b, info + 8 + 8 * which, off);
    set_u32(&mut b, info + 12 + 8 * which, size);
    b
}

#[track_caller]
fn err(r: Result<usize, MachOError>) -> MachOError {
    r.unwrap_err()
}

fn fixups(b: &[u8]) -> Result<usize, MachOError> {
    let m = MachO::parse(b)?;
    m.fixups().try_fold(0, |n, f| f.map(|_| n + 1))
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn bad_opcode_streams() {
    let rebase = |ops: &[u8]| fixups(&with_stream(0, ops));
    let bind = |ops: &[u8]| fixups(&with_stream(1, ops));
    let leb = [
        0x11, 0x22, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ];
    assert!(matches!(
        err(rebase(&leb)),
        MachOError::Malformed(M::BadLeb { what: "rebase", .. })
    ));
    let unknown = err(rebase(&[0x11, 0x90]));
    assert_eq!(
        unknown,
        M::BadOpcode {
            stream: "rebase",
            offset: 1,
            why: "unknown rebase opcode"
        }
        .into()
    );
    assert_eq!(
        err(rebase(&[0x51])),
        M::BadOpcode {
            stream: "rebase",
            offset: 0,
            why: "fixup before a segment is set"
        }
        .into()
    );
    assert!(matches!(
        err(rebase(&[0x20, 0x00, 0x51])),
        MachOError::Malformed(M::FixupOutsideWritable { offset: 0 })
    ));
    assert!(matches!(
        err(rebase(&[0x2f, 0x00, 0x51])),
        MachOError::Malformed(M::BadOpcode {
            why: "segment index out of range",
            ..
        })
    ));
    assert_eq!(
        err(rebase(&[0x12])),
        U::FixupType {
            stream: "rebase",
            kind: 2
        }
        .into()
    );
    // 2^40 rebases from the start of __DATA: stops at the segment's end.
    let many = [0x22, 0x00, 0x60, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    assert!(matches!(
        err(rebase(&many)),
        MachOError::Malformed(M::FixupOutsideWritable { .. })
    ));
    // A repeat whose skip wraps the step to 0: the same word forever, cut by the count limit.
    let same = [
        0x22, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0xf8, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    assert!(matches!(
        err(rebase(&same)),
        MachOError::Malformed(M::TooMany { what: "fixup", .. })
    ));
    // Binds: ordinals out of range (1 dependency), threaded, no symbol, unterminated symbol.
    let sym = |ord: &[u8]| [ord, b"\x40_x\x00\x72\x00\x90"].concat();
    assert_eq!(
        err(bind(&sym(&[0x12]))),
        M::BadOrdinal {
            ordinal: 2,
            count: 1
        }
        .into()
    );
    assert_eq!(
        err(bind(&sym(&[0x3c]))),
        M::BadOrdinal {
            ordinal: -4,
            count: 1
        }
        .into()
    );
    let ord_uleb = sym(&[
        0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    assert!(matches!(
        err(bind(&ord_uleb)),
        MachOError::Malformed(M::BadOrdinal { .. })
    ));
    assert_eq!(bind(&sym(&[0x11])), Ok(1 + fixups_of_other_streams()));
    assert_eq!(
        err(bind(&[0x11, 0x72, 0x00, 0x90])),
        M::BadOpcode {
            stream: "bind",
            offset: 3,
            why: "bind without a symbol"
        }
        .into()
    );
    assert_eq!(err(bind(&[0xd0])), U::ThreadedBind.into());
    // A symbol name running to the end of the stream.
    let mut unterminated = with_stream(1, &[0x11, 0x40]);
    let symtab = command(&unterminated, 0x2);
    let (off, size) = (
        u32_at(&unterminated, symtab + 16) as usize,
        u32_at(&unterminated, symtab + 20) as usize,
    );
    unterminated[off + 2..off + size].fill(b'a');
    assert!(matches!(
        err(fixups(&unterminated)),
        MachOError::Malformed(M::BadString { .. })
    ));
    let weak_ordinal = fixups(&with_stream(2, &[0x11])).unwrap_err();
    assert!(matches!(
        weak_ordinal,
        MachOError::Malformed(M::BadOpcode {
            stream: "weak bind",
            ..
        })
    ));
    let sleb = [
        0x11, 0x60, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
    ];
    assert!(matches!(
        err(bind(&sleb)),
        MachOError::Malformed(M::BadLeb { .. })
    ));
}

/// The fixture's fixups outside its bind stream (rebases, lazy and weak binds).
fn fixups_of_other_streams() -> usize {
    fixups(&with_stream(1, &[])).unwrap()
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
    fn nasty(&mut self) -> u64 {
        match self.below(6) {
            0 => 0,
            1 => u64::MAX,
            2 => self.next() & 0xff,
            3 => self.next() & 0xffff,
            4 => 0x8000_0000,
            _ => self.next(),
        }
    }
}

/// One mutation: bit flips anywhere, a truncation, a field of a load command, bytes of the
/// `__LINKEDIT` tables (opcodes, trie, chains).
fn mutate(good: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = good.to_vec();
    let len = b.len();
    let cmds_end = 32 + u32_at(good, 20) as usize;
    let m = MachO::parse(good).unwrap();
    let linkedit = m.segments.iter().find(|s| s.name == "__LINKEDIT");
    let linkedit = linkedit.unwrap().fileoff as usize;
    match rng.below(6) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
        }
        1 => b.truncate(rng.below(len)),
        2 => {
            let at = (rng.below(cmds_end - 8) / 4) * 4;
            let v = rng.nasty();
            set_u32(&mut b, at, v as u32);
        }
        3 => {
            let at = (rng.below(cmds_end - 8) / 8) * 8;
            set_u64(&mut b, at, rng.nasty());
        }
        _ => {
            for _ in 0..1 + rng.below(4) {
                let i = linkedit + rng.below(len - linkedit);
                b[i] = rng.next() as u8;
            }
        }
    }
    b
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Mach-O fixtures are built for Linux targets only"
)]
fn mutations_never_panic() {
    let (mut ok, mut parse_err, mut later_err) = (0, 0, 0);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for arch in ["x86_64", "arm64"] {
        let others = [
            "libmacho_dep.dylib",
            "macho_addend32_chained.dylib",
            "macho_addend64_chained.dylib",
        ];
        for name in PLUGINS.iter().chain(&others) {
            let good = fixture(arch, name);
            for _ in 0..1500 {
                let b = mutate(&good, &mut rng);
                match (MachO::parse(&b).is_ok(), run(&b)) {
                    (_, Ok(())) => ok += 1,
                    (false, Err(_)) => parse_err += 1,
                    (true, Err(_)) => later_err += 1,
                }
            }
        }
    }
    // All three outcomes, so the mutations reach the trie and fixup readers.
    assert!(
        ok > 500 && parse_err > 500 && later_err > 200,
        "{ok} {parse_err} {later_err}"
    );
}
