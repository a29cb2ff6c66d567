//! The export trie: lookup of one name and a walk over every export, both bounded (every offset
//! checked, every node visited at most once, so a cycle is an error and not a hang).

use std::collections::HashSet;

use super::leb::Cursor;
use super::MachO;
use crate::macho_error::{MachOError, MalformedMachO, Result, UnsupportedMachO};

/// `EXPORT_SYMBOL_FLAGS_KIND_MASK` and its kinds.
const KIND_MASK: u64 = 3;
const KIND_REGULAR: u64 = 0;
const KIND_THREAD_LOCAL: u64 = 1;
const KIND_ABSOLUTE: u64 = 2;
const WEAK_DEFINITION: u64 = 4;
const REEXPORT: u64 = 8;
const STUB_AND_RESOLVER: u64 = 0x10;
/// The longest export name accepted.
const MAX_NAME: usize = 4096;

/// What an export is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind<'a> {
    /// Code or data at `offset` from the base.
    Regular {
        /// Offset from the base.
        offset: u64,
    },
    /// A thread-local variable: its descriptor at `offset` from the base.
    ThreadLocal {
        /// Offset from the base.
        offset: u64,
    },
    /// An absolute value (not moved by the load address).
    Absolute {
        /// The value.
        value: u64,
    },
    /// Another library's export, under `name` there (`None`: the same name).
    Reexport {
        /// The index into [`MachO::dylibs`].
        library: usize,
        /// The name in that library, if different.
        name: Option<&'a str>,
    },
    /// A resolver function at `resolver` that returns the address; `stub` is the image's own
    /// stub for it.
    StubAndResolver {
        /// The stub's offset from the base.
        stub: u64,
        /// The resolver's offset from the base.
        resolver: u64,
    },
}

/// One export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export<'a> {
    /// What it is.
    pub kind: ExportKind<'a>,
    /// A weak definition (another image's strong one wins).
    pub weak: bool,
}

fn bad(offset: usize, why: &'static str) -> MachOError {
    MalformedMachO::BadTrie {
        offset: offset as u64,
        why,
    }
    .into()
}

/// A node: its export if terminal, where its children start, how many.
struct Node<'a> {
    export: Option<Export<'a>>,
    children: usize,
    count: u8,
}

/// What a trie's entries are checked against: the image's span (offsets lie inside it) and
/// its number of dependencies (re-exports name one).
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Bytes from the image's base to the end of its last segment.
    pub span: u64,
    /// Dependencies (`LC_LOAD_DYLIB` and the like).
    pub dylibs: usize,
}

impl From<&MachO<'_>> for Bounds {
    fn from(image: &MachO<'_>) -> Bounds {
        Bounds {
            span: image.span(),
            dylibs: image.dylibs.len(),
        }
    }
}

/// Reads the node at `offset`.
fn node<'a>(trie: &'a [u8], offset: usize, image: Bounds) -> Result<Node<'a>> {
    let mut c = Cursor::new(trie, offset, "export trie");
    let size = usize::try_from(c.uleb()?).map_err(|_| bad(offset, "terminal size"))?;
    let info = c.pos();
    let children = info
        .checked_add(size)
        .filter(|&e| e < trie.len())
        .ok_or_else(|| bad(offset, "terminal information runs past the trie"))?;
    let export = if size == 0 {
        None
    } else {
        let info_bytes = trie.get(..children).unwrap_or_default();
        Some(terminal(
            Cursor::new(info_bytes, info, "export trie"),
            offset,
            image,
        )?)
    };
    let count = *trie
        .get(children)
        .ok_or_else(|| bad(offset, "child count past the trie"))?;
    Ok(Node {
        export,
        children: children + 1,
        count,
    })
}

/// Decodes a terminal's flags and payload (the cursor cannot read past the terminal).
fn terminal<'a>(mut c: Cursor<'a>, node: usize, image: Bounds) -> Result<Export<'a>> {
    let flags = c.uleb()?;
    if flags & !(KIND_MASK | WEAK_DEFINITION | REEXPORT | STUB_AND_RESOLVER) != 0
        || flags & KIND_MASK == 3
    {
        return Err(UnsupportedMachO::ExportFlags { flags }.into());
    }
    let inside = |off: u64| {
        if off < image.span {
            Ok(off)
        } else {
            Err(bad(node, "export address outside the image"))
        }
    };
    let kind = if flags & REEXPORT != 0 {
        let ordinal = c.uleb()?;
        let library = usize::try_from(ordinal)
            .ok()
            .and_then(|o| o.checked_sub(1))
            .filter(|&i| i < image.dylibs)
            .ok_or(MalformedMachO::BadOrdinal {
                ordinal: i64::try_from(ordinal).unwrap_or(i64::MAX),
                count: image.dylibs,
            })?;
        let name = c.cstr()?;
        ExportKind::Reexport {
            library,
            name: (!name.is_empty()).then_some(name),
        }
    } else if flags & STUB_AND_RESOLVER != 0 {
        let stub = inside(c.uleb()?)?;
        let resolver = inside(c.uleb()?)?;
        ExportKind::StubAndResolver { stub, resolver }
    } else {
        let value = c.uleb()?;
        match flags & KIND_MASK {
            KIND_REGULAR => ExportKind::Regular {
                offset: inside(value)?,
            },
            KIND_THREAD_LOCAL => ExportKind::ThreadLocal {
                offset: inside(value)?,
            },
            KIND_ABSOLUTE => ExportKind::Absolute { value },
            _ => return Err(UnsupportedMachO::ExportFlags { flags }.into()),
        }
    };
    Ok(Export {
        kind,
        weak: flags & WEAK_DEFINITION != 0,
    })
}

/// One child edge at `pos`: its label (non-empty) and the child's offset (inside the trie).
fn edge(trie: &[u8], pos: usize) -> Result<(&[u8], usize, usize)> {
    let mut c = Cursor::new(trie, pos, "export trie");
    let label = c.cstr()?.as_bytes();
    if label.is_empty() {
        return Err(bad(pos, "empty edge"));
    }
    let child = usize::try_from(c.uleb()?)
        .ok()
        .filter(|&o| o < trie.len())
        .ok_or_else(|| bad(pos, "child offset outside the trie"))?;
    Ok((label, child, c.pos()))
}

/// Looks `name` up in `trie`.
pub(crate) fn lookup<'a>(trie: &'a [u8], name: &[u8], image: Bounds) -> Result<Option<Export<'a>>> {
    if trie.is_empty() {
        return Ok(None);
    }
    let (mut offset, mut rest) = (0usize, name);
    // Each step consumes at least one byte of the name: the path is at most that long.
    let mut visited = Vec::new();
    loop {
        if visited.contains(&offset) {
            return Err(bad(offset, "cycle"));
        }
        visited.push(offset);
        let n = node(trie, offset, image)?;
        if rest.is_empty() {
            return Ok(n.export);
        }
        let mut pos = n.children;
        let mut next = None;
        for _ in 0..n.count {
            let (label, child, after) = edge(trie, pos)?;
            if let Some(r) = rest.strip_prefix(label) {
                next = Some((child, r));
                break;
            }
            pos = after;
        }
        let Some((child, r)) = next else {
            return Ok(None);
        };
        (offset, rest) = (child, r);
    }
}

/// A node being walked: where its next child edge is, how many are left, and the name's length
/// at this node.
struct Frame {
    pos: usize,
    remaining: u8,
    name_len: usize,
}

/// Every export of a trie with its name, depth first. A node reached twice (a cycle, or a
/// shared node no trie has), a name longer than 4096 bytes or any bad offset ends the walk
/// with an error.
pub struct Exports<'a, 'i> {
    trie: &'a [u8],
    image: Bounds,
    _of: std::marker::PhantomData<&'i MachO<'a>>,
    stack: Vec<Frame>,
    name: Vec<u8>,
    visited: HashSet<usize>,
    started: bool,
    failed: bool,
}

impl<'a, 'i> Exports<'a, 'i> {
    pub(crate) fn new(trie: &'a [u8], image: &'i MachO<'a>) -> Self {
        Exports {
            trie,
            image: Bounds::from(image),
            _of: std::marker::PhantomData,
            stack: Vec::new(),
            name: Vec::new(),
            visited: HashSet::new(),
            started: false,
            failed: false,
        }
    }

    /// Enters the node at `offset`: its export, if any.
    fn visit(&mut self, offset: usize) -> Result<Option<Export<'a>>> {
        if !self.visited.insert(offset) {
            return Err(bad(offset, "node reached twice (cycle)"));
        }
        let n = node(self.trie, offset, self.image)?;
        self.stack.push(Frame {
            pos: n.children,
            remaining: n.count,
            name_len: self.name.len(),
        });
        Ok(n.export)
    }

    /// The next terminal node, or None when the walk is done.
    fn step(&mut self) -> Result<Option<(String, Export<'a>)>> {
        if !self.started {
            self.started = true;
            if self.trie.is_empty() {
                return Ok(None);
            }
            if let Some(e) = self.visit(0)? {
                return Ok(Some((String::new(), e)));
            }
        }
        while let Some(top) = self.stack.last_mut() {
            if top.remaining == 0 {
                self.stack.pop();
                continue;
            }
            top.remaining -= 1;
            let (label, child, after) = edge(self.trie, top.pos)?;
            top.pos = after;
            self.name.truncate(top.name_len);
            self.name.extend_from_slice(label);
            if self.name.len() > MAX_NAME {
                return Err(bad(child, "export name too long"));
            }
            if let Some(e) = self.visit(child)? {
                let name = String::from_utf8(self.name.clone())
                    .map_err(|_| bad(child, "name is not UTF-8"))?;
                return Ok(Some((name, e)));
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for Exports<'a, '_> {
    type Item = Result<(String, Export<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.step().transpose();
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }
}
