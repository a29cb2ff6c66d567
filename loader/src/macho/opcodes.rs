//! The `LC_DYLD_INFO` rebase, bind, lazy-bind and weak-bind opcode streams, interpreted one fixup
//! at a time (no table is built, so a hostile stream cannot make dynplug allocate).

use super::commands::DyldInfo;
use super::fixups::{file_word, writable_word, Bind, BindStream, Fixup, FixupKind, LibOrdinal};
use super::leb::Cursor;
use super::MachO;
use crate::macho_error::{MachOError, MalformedMachO, Result, UnsupportedMachO};

/// The one 64-bit rebase and bind type.
const TYPE_POINTER: u8 = 1;
const BIND_SYMBOL_FLAGS_WEAK_IMPORT: u8 = 1;

/// Which stream is being read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Rebase,
    Bind,
    Lazy,
    Weak,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Rebase => "rebase",
            Stream::Bind => "bind",
            Stream::Lazy => "lazy bind",
            Stream::Weak => "weak bind",
        }
    }
}

/// The interpreter's registers.
#[derive(Clone, Copy)]
struct State<'a> {
    segment: Option<usize>,
    offset: u64,
    ordinal: Option<LibOrdinal>,
    name: Option<&'a str>,
    flags: u8,
    addend: i64,
    /// Fixups left in the current DO opcode, and the step between them.
    remaining: u64,
    step: u64,
}

impl State<'_> {
    fn new(stream: Stream) -> Self {
        State {
            segment: None,
            offset: 0,
            ordinal: (stream == Stream::Weak).then_some(LibOrdinal::WeakLookup),
            name: None,
            flags: 0,
            addend: 0,
            remaining: 0,
            step: 0,
        }
    }
}

/// The four streams, read in dyld's order.
pub(crate) struct Opcodes<'a, 'i> {
    image: &'i MachO<'a>,
    streams: [(Stream, &'a [u8]); 4],
    current: usize,
    cursor: Cursor<'a>,
    state: State<'a>,
    /// The offset of the opcode being interpreted.
    op_at: usize,
}

impl<'a, 'i> Opcodes<'a, 'i> {
    pub(crate) fn new(image: &'i MachO<'a>, info: &DyldInfo) -> Self {
        let b = image.bytes;
        let streams = [
            (Stream::Rebase, info.rebase.bytes(b)),
            (Stream::Bind, info.bind.bytes(b)),
            (Stream::Lazy, info.lazy_bind.bytes(b)),
            (Stream::Weak, info.weak_bind.bytes(b)),
        ];
        Opcodes {
            image,
            streams,
            current: 0,
            cursor: Cursor::new(streams[0].1, 0, Stream::Rebase.name()),
            state: State::new(Stream::Rebase),
            op_at: 0,
        }
    }

    fn stream(&self) -> Stream {
        self.streams.get(self.current).map_or(Stream::Weak, |s| s.0)
    }

    fn bad(&self, why: &'static str) -> MachOError {
        MalformedMachO::BadOpcode {
            stream: self.stream().name(),
            offset: self.op_at as u64,
            why,
        }
        .into()
    }

    /// Moves to the next stream; false when all are read.
    fn next_stream(&mut self) -> bool {
        self.current += 1;
        let Some(&(stream, bytes)) = self.streams.get(self.current) else {
            return false;
        };
        self.cursor = Cursor::new(bytes, 0, stream.name());
        self.state = State::new(stream);
        true
    }

    /// The fixup at the current address, which then moves on by the step.
    fn emit(&mut self) -> Result<Fixup<'a>> {
        self.state.remaining -= 1;
        let index = self
            .state
            .segment
            .ok_or_else(|| self.bad("fixup before a segment is set"))?;
        let seg = self
            .image
            .segments
            .get(index)
            .ok_or_else(|| self.bad("segment index out of range"))?;
        let offset = seg.vmoffset.wrapping_add(self.state.offset);
        if self.state.offset >= seg.vmsize {
            return Err(MalformedMachO::FixupOutsideWritable { offset }.into());
        }
        let seg = writable_word(self.image, offset)?;
        self.state.offset = self.state.offset.wrapping_add(self.state.step);
        let kind = match self.stream() {
            Stream::Rebase => {
                let target = file_word(self.image, seg, offset).wrapping_sub(self.image.base());
                FixupKind::Rebase { target }
            }
            stream => FixupKind::Bind(self.bind(stream)?),
        };
        Ok(Fixup { offset, kind })
    }

    fn bind(&self, stream: Stream) -> Result<Bind<'a>> {
        let s = &self.state;
        Ok(Bind {
            ordinal: s
                .ordinal
                .ok_or_else(|| self.bad("bind without a library ordinal"))?,
            name: s.name.ok_or_else(|| self.bad("bind without a symbol"))?,
            addend: s.addend,
            weak_import: s.flags & BIND_SYMBOL_FLAGS_WEAK_IMPORT != 0,
            stream: match stream {
                Stream::Lazy => BindStream::Lazy,
                Stream::Weak => BindStream::Weak,
                _ => BindStream::Eager,
            },
        })
    }

    /// Reads opcodes until one yields fixups (sets `remaining`) or the stream ends (false).
    fn step(&mut self) -> Result<bool> {
        loop {
            if self.cursor.at_end() {
                return Ok(false);
            }
            self.op_at = self.cursor.pos();
            let op = self.cursor.byte()?;
            let (opcode, imm) = (op & 0xf0, op & 0x0f);
            let done = if self.stream() == Stream::Rebase {
                self.rebase_op(opcode, imm)?
            } else {
                self.bind_op(opcode, imm)?
            };
            match done {
                Some(true) => return Ok(true),
                Some(false) => return Ok(false),
                None => {}
            }
        }
    }

    /// Sets the segment and offset (both streams' `SET_SEGMENT_AND_OFFSET_ULEB`).
    fn set_segment(&mut self, imm: u8) -> Result<()> {
        self.state.segment = Some(usize::from(imm));
        self.state.offset = self.cursor.uleb()?;
        Ok(())
    }

    /// Queues `count` fixups `skip + 8` bytes apart: Some(true) if there is one.
    fn repeat(&mut self, count: u64, skip: u64) -> Option<bool> {
        self.state.remaining = count;
        self.state.step = skip.wrapping_add(8);
        (count > 0).then_some(true)
    }

    /// Adds `n` to the offset (wrapping: linkers step backwards so).
    fn add(&mut self, n: u64) -> Option<bool> {
        self.state.offset = self.state.offset.wrapping_add(n);
        None
    }

    /// One rebase opcode: Some(true) when fixups are queued, Some(false) at DONE, None otherwise.
    fn rebase_op(&mut self, opcode: u8, imm: u8) -> Result<Option<bool>> {
        Ok(match opcode {
            0x00 => Some(false),
            0x10 if imm == TYPE_POINTER => None,
            0x10 => return Err(self.refuse_type(imm)),
            0x20 => self.set_segment(imm).map(|_| None)?,
            0x30 => {
                let n = self.cursor.uleb()?;
                self.add(n)
            }
            0x40 => self.add(u64::from(imm) * 8),
            0x50 => self.repeat(imm.into(), 0),
            0x60 => {
                let n = self.cursor.uleb()?;
                self.repeat(n, 0)
            }
            0x70 => {
                let skip = self.cursor.uleb()?;
                self.repeat(1, skip)
            }
            0x80 => {
                let (n, skip) = (self.cursor.uleb()?, self.cursor.uleb()?);
                self.repeat(n, skip)
            }
            _ => return Err(self.bad("unknown rebase opcode")),
        })
    }

    /// One bind opcode, as [`Self::rebase_op`].
    fn bind_op(&mut self, opcode: u8, imm: u8) -> Result<Option<bool>> {
        let count = self.image.dylibs.len();
        let weak = self.stream() == Stream::Weak;
        Ok(match opcode {
            // Lazy entries each end with DONE; the stream goes on to its end.
            0x00 if self.stream() == Stream::Lazy => None,
            0x00 => Some(false),
            0x10 | 0x20 | 0x30 if weak => {
                return Err(self.bad("library ordinal in the weak stream"))
            }
            0x10 => self.ordinal(LibOrdinal::from_signed(imm.into(), count))?,
            0x20 => {
                let n = self.cursor.uleb()?;
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                self.ordinal(LibOrdinal::from_signed(n, count))?
            }
            0x30 => {
                // Sign-extended 4-bit immediate: 0 self, 0xf -1, 0xe -2, 0xd -3.
                let n = if imm == 0 { 0 } else { i64::from(imm) - 16 };
                self.ordinal(LibOrdinal::from_signed(n, count))?
            }
            0x40 => {
                self.state.flags = imm;
                self.state.name = Some(self.cursor.cstr()?);
                None
            }
            0x50 if imm == TYPE_POINTER => None,
            0x50 => return Err(self.refuse_type(imm)),
            0x60 => {
                self.state.addend = self.cursor.sleb()?;
                None
            }
            0x70 => self.set_segment(imm).map(|_| None)?,
            0x80 => {
                let n = self.cursor.uleb()?;
                self.add(n)
            }
            0x90 => self.repeat(1, 0),
            0xa0 => {
                let skip = self.cursor.uleb()?;
                self.repeat(1, skip)
            }
            0xb0 => self.repeat(1, u64::from(imm) * 8),
            0xc0 => {
                let (n, skip) = (self.cursor.uleb()?, self.cursor.uleb()?);
                self.repeat(n, skip)
            }
            0xd0 => return Err(UnsupportedMachO::ThreadedBind.into()),
            _ => return Err(self.bad("unknown bind opcode")),
        })
    }

    fn ordinal(&mut self, o: Result<LibOrdinal>) -> Result<Option<bool>> {
        self.state.ordinal = Some(o?);
        Ok(None)
    }

    fn refuse_type(&self, kind: u8) -> MachOError {
        UnsupportedMachO::FixupType {
            stream: self.stream().name(),
            kind,
        }
        .into()
    }
}

impl<'a> Iterator for Opcodes<'a, '_> {
    type Item = Result<Fixup<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.state.remaining > 0 {
                return Some(self.emit());
            }
            match self.step() {
                Ok(true) => {}
                Ok(false) => {
                    if !self.next_stream() {
                        return None;
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
