//! One neutral list of fixups, whichever format the image uses: each writes a 64-bit word at an
//! offset from the image's base, either the base plus a target offset (a rebase) or an imported
//! symbol's address plus an addend (a bind).

use super::chained::Chains;
use super::opcodes::Opcodes;
use super::{MachO, Segment};
use crate::macho_error::{MalformedMachO, Result};

/// The most fixups one image may yield.
const MAX_FIXUPS: u64 = 1 << 24;

/// Where a bind's symbol is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LibOrdinal {
    /// The image itself (ordinal 0).
    Self_,
    /// The main program (ordinal -1).
    MainExecutable,
    /// Every image in load order (ordinal -2, flat namespace).
    FlatLookup,
    /// Weak-definition coalescing over the images with weak definitions (ordinal -3).
    WeakLookup,
    /// A dependency: the index into [`MachO::dylibs`] (ordinal minus one), checked in range.
    Dylib(usize),
}

impl LibOrdinal {
    /// Decodes the signed ordinal `n` of an image with `count` dependencies.
    pub(crate) fn from_signed(n: i64, count: usize) -> Result<LibOrdinal> {
        let bad = || MalformedMachO::BadOrdinal { ordinal: n, count };
        Ok(match n {
            0 => LibOrdinal::Self_,
            -1 => LibOrdinal::MainExecutable,
            -2 => LibOrdinal::FlatLookup,
            -3 => LibOrdinal::WeakLookup,
            n if n > 0 => {
                let i = usize::try_from(n - 1).map_err(|_| bad())?;
                if i >= count {
                    return Err(bad().into());
                }
                LibOrdinal::Dylib(i)
            }
            _ => return Err(bad().into()),
        })
    }
}

/// Which opcode stream a bind came from (chained binds are [`BindStream::Eager`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BindStream {
    /// Bound at load.
    Eager,
    /// A lazy binding (dynplug binds it at load too).
    Lazy,
    /// A weak-definition override: when no definition is found, the rebased value stays.
    Weak,
}

/// A bind: the word becomes the symbol's address plus `addend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bind<'a> {
    /// Where the symbol is looked up.
    pub ordinal: LibOrdinal,
    /// The symbol's name as in the file (`_host_add`).
    pub name: &'a str,
    /// Added to the symbol's address.
    pub addend: i64,
    /// A weak import: a missing symbol gives 0 instead of an error.
    pub weak_import: bool,
    /// The stream it came from.
    pub stream: BindStream,
}

/// What a fixup writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixupKind<'a> {
    /// The load address plus `target` (wrapping): `target` is the pointer's value in the file
    /// minus the image's base, an offset into the image for a pointer into it.
    Rebase {
        /// The target as an offset from the base.
        target: u64,
    },
    /// An imported symbol's address plus an addend.
    Bind(Bind<'a>),
}

/// One 64-bit word to write, at `offset` from the image's base, in a writable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixup<'a> {
    /// The word's offset from the base.
    pub offset: u64,
    /// What it becomes.
    pub kind: FixupKind<'a>,
}

enum Source<'a, 'i> {
    Opcodes(Opcodes<'a, 'i>),
    Chains(Chains<'a, 'i>),
    Done,
}

/// The fixups of an image: opcode streams in dyld's order (rebases, binds, lazy binds, weak
/// binds) or chains page by page. After an error it yields nothing more.
pub struct Fixups<'a, 'i> {
    source: Source<'a, 'i>,
    yielded: u64,
    limit: u64,
}

impl<'a, 'i> Fixups<'a, 'i> {
    pub(crate) fn new(image: &'i MachO<'a>) -> Self {
        let source = if let Some(blob) = image.chained_fixups {
            Source::Chains(Chains::new(image, blob.bytes(image.bytes)))
        } else if let Some(info) = image.dyld_info {
            Source::Opcodes(Opcodes::new(image, &info))
        } else {
            Source::Done
        };
        // Four streams could each fix every writable word once; more is hostile.
        let words: u64 = image
            .segments
            .iter()
            .filter(|s| s.initprot.write)
            .map(|s| s.vmsize / 8)
            .sum();
        let limit = words.saturating_mul(4).saturating_add(64).min(MAX_FIXUPS);
        Fixups {
            source,
            yielded: 0,
            limit,
        }
    }
}

impl<'a> Iterator for Fixups<'a, '_> {
    type Item = Result<Fixup<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.source {
            Source::Opcodes(o) => o.next(),
            Source::Chains(c) => c.next(),
            Source::Done => None,
        };
        match item {
            Some(Ok(_)) if self.yielded >= self.limit => {
                self.source = Source::Done;
                Some(Err(MalformedMachO::TooMany {
                    what: "fixup",
                    count: self.yielded + 1,
                }
                .into()))
            }
            Some(Ok(f)) => {
                self.yielded += 1;
                Some(Ok(f))
            }
            Some(Err(e)) => {
                self.source = Source::Done;
                Some(Err(e))
            }
            None => {
                self.source = Source::Done;
                None
            }
        }
    }
}

/// The writable segment holding the 8-byte word at `offset` from the base.
pub(crate) fn writable_word<'i>(image: &'i MachO<'_>, offset: u64) -> Result<&'i Segment> {
    image
        .segments
        .iter()
        .find(|s| s.initprot.write && s.contains(offset, 8))
        .ok_or_else(|| MalformedMachO::FixupOutsideWritable { offset }.into())
}

/// The word at `offset` (in `seg`) as the file has it: bytes past the segment's file part are 0.
pub(crate) fn file_word(image: &MachO<'_>, seg: &Segment, offset: u64) -> u64 {
    let rel = offset - seg.vmoffset;
    let mut word = [0u8; 8];
    for (i, b) in (0u64..).zip(word.iter_mut()) {
        if rel + i < seg.filesize {
            let at = seg.fileoff + rel + i;
            *b = usize::try_from(at)
                .ok()
                .and_then(|at| image.bytes.get(at))
                .copied()
                .unwrap_or(0);
        }
    }
    u64::from_le_bytes(word)
}
