//! Why a Mach-O image was refused: a structural fault, or something valid that dynplug does not
//! load. Both convert into the loader's `LoadError`.

/// A structural problem in a Mach-O image: a check that a well-formed image passes.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MalformedMachO {
    /// Not a Mach-O file at all (the first four bytes).
    #[error("not a Mach-O file (magic {magic:#x})")]
    BadMagic {
        /// The first four bytes, little-endian.
        magic: u32,
    },
    /// A structure does not lie inside the file or the table that holds it.
    #[error("{what} at {offset:#x} ({size:#x} bytes) lies outside its bounds")]
    OutOfBounds {
        /// What was read.
        what: &'static str,
        /// Its offset (in the file, or in its table).
        offset: u64,
        /// The size needed there.
        size: u64,
    },
    /// A load command is malformed.
    #[error("load command {index} ({cmd:#x}): {why}")]
    BadLoadCommand {
        /// Its index in the header's list.
        index: u32,
        /// Its `cmd`.
        cmd: u32,
        /// What is wrong.
        why: &'static str,
    },
    /// A load command that may appear once appears twice.
    #[error("load command {cmd:#x} appears more than once")]
    DuplicateCommand {
        /// Its `cmd`.
        cmd: u32,
    },
    /// A segment is malformed.
    #[error("segment {name}: {why}")]
    BadSegment {
        /// The segment's name.
        name: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A section is malformed.
    #[error("section {name}: {why}")]
    BadSection {
        /// The section's name.
        name: String,
        /// What is wrong.
        why: &'static str,
    },
    /// Something every loadable image has is missing.
    #[error("missing {what}")]
    Missing {
        /// What.
        what: &'static str,
    },
    /// Load commands that exclude each other are both present.
    #[error("conflicting load commands: {what}")]
    Conflicting {
        /// What conflicts.
        what: &'static str,
    },
    /// A string is not terminated inside its bounds, or is not UTF-8.
    #[error("{what} string at {offset:#x} is unterminated or not UTF-8")]
    BadString {
        /// Which string.
        what: &'static str,
        /// Its offset.
        offset: u64,
    },
    /// A LEB128 number runs past its table or does not fit 64 bits.
    #[error("{what}: LEB128 number at {offset:#x} is truncated or overflows")]
    BadLeb {
        /// The table it is in.
        what: &'static str,
        /// Its offset in that table.
        offset: u64,
    },
    /// The export trie is malformed.
    #[error("export trie node at {offset:#x}: {why}")]
    BadTrie {
        /// The node's offset in the trie.
        offset: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// A rebase or bind opcode stream is malformed.
    #[error("{stream} opcodes at {offset:#x}: {why}")]
    BadOpcode {
        /// "rebase", "bind", "lazy bind" or "weak bind".
        stream: &'static str,
        /// The offending opcode's offset in its stream.
        offset: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// The chained fixups are malformed.
    #[error("chained fixups: {why} ({value:#x})")]
    BadChain {
        /// What is wrong.
        why: &'static str,
        /// The offending value.
        value: u64,
    },
    /// An initialiser or other code address is not in an executable segment.
    #[error("{what} at {offset:#x} is not in executable code")]
    NotInCode {
        /// What it is.
        what: &'static str,
        /// Its offset from the image's base.
        offset: u64,
    },
    /// A fixup would write outside the writable segments.
    #[error("fixup at {offset:#x} writes outside the writable segments")]
    FixupOutsideWritable {
        /// Its offset from the image's base.
        offset: u64,
    },
    /// A library ordinal names no dependency (or no special library).
    #[error("library ordinal {ordinal} is out of range ({count} dependencies)")]
    BadOrdinal {
        /// The ordinal as signed in the file.
        ordinal: i64,
        /// The number of dependencies.
        count: usize,
    },
    /// A chained bind names an import past the import table.
    #[error("bind import {index} is out of range ({count} imports)")]
    BadImportIndex {
        /// The index.
        index: u64,
        /// The number of imports.
        count: u64,
    },
    /// Some count is beyond what dynplug accepts.
    #[error("{what} count {count} is beyond the limit")]
    TooMany {
        /// What is counted.
        what: &'static str,
        /// The count reached.
        count: u64,
    },
}

/// A valid Mach-O image that uses something dynplug does not (or will not) load.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnsupportedMachO {
    /// A 32-bit image.
    #[error("32-bit Mach-O (dynplug loads 64-bit images)")]
    Bits32,
    /// A big-endian image.
    #[error("big-endian Mach-O")]
    BigEndian,
    /// A universal (fat) file: the caller must pick a slice first.
    #[error("universal (fat) Mach-O file: pick one architecture's slice")]
    Fat,
    /// Neither MH_DYLIB nor MH_BUNDLE.
    #[error("Mach-O file type {filetype} (dynplug loads dylibs and bundles)")]
    FileType {
        /// `filetype`.
        filetype: u32,
    },
    /// A CPU type other than x86_64 and arm64.
    #[error("Mach-O CPU type {cputype:#x} subtype {cpusubtype:#x}")]
    CpuType {
        /// `cputype`.
        cputype: u32,
        /// `cpusubtype`.
        cpusubtype: u32,
    },
    /// arm64e: pointer authentication, which only an arm64e process can sign.
    #[error("arm64e (pointer authentication) images are not loaded")]
    Arm64e,
    /// A load command dyld must understand (LC_REQ_DYLD) that dynplug does not.
    #[error("required load command {cmd:#x}")]
    RequiredCommand {
        /// Its `cmd`.
        cmd: u32,
    },
    /// A segment that is writable and executable.
    #[error("segment {name} is writable and executable")]
    WritableExecutable {
        /// The segment's name.
        name: String,
    },
    /// A rebase or bind type other than a 64-bit pointer.
    #[error("{stream} type {kind}")]
    FixupType {
        /// The stream.
        stream: &'static str,
        /// The type.
        kind: u8,
    },
    /// The old arm64e `BIND_OPCODE_THREADED` binds.
    #[error("threaded (old arm64e) bind opcodes")]
    ThreadedBind,
    /// A chained-fixups version, imports or symbols format dynplug does not read.
    #[error("chained fixups {what} {value}")]
    ChainedFormat {
        /// Which field.
        what: &'static str,
        /// Its value.
        value: u32,
    },
    /// A chained pointer format other than DYLD_CHAINED_PTR_64 and _64_OFFSET.
    #[error("chained pointer format {format}")]
    PointerFormat {
        /// `pointer_format`.
        format: u16,
    },
    /// Segments this system's pages cannot map apart (their file offsets and addresses are not
    /// congruent modulo its page, or two share a page): an image linked for 4 KiB pages on a
    /// system with larger ones.
    #[error("segment {name} cannot be mapped with this system's {page}-byte pages")]
    PageSize {
        /// The segment's name.
        name: String,
        /// The system's page size.
        page: u64,
    },
    /// Export trie flags dynplug does not know.
    #[error("export flags {flags:#x}")]
    ExportFlags {
        /// The flags.
        flags: u64,
    },
}

/// Why a Mach-O image was refused.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MachOError {
    /// A structural problem.
    #[error("malformed Mach-O: {0}")]
    Malformed(#[from] MalformedMachO),
    /// Something valid that dynplug does not load.
    #[error("unsupported Mach-O: {0}")]
    Unsupported(#[from] UnsupportedMachO),
}

impl From<MachOError> for crate::error::LoadError {
    fn from(e: MachOError) -> Self {
        match e {
            MachOError::Malformed(m) => crate::error::Malformed::MachO(m).into(),
            MachOError::Unsupported(u) => crate::error::Unsupported::MachO(u).into(),
        }
    }
}

/// A short-hand for this module's results.
pub type Result<T> = core::result::Result<T, MachOError>;

/// `what` at `offset`/`size` lies outside its bounds.
pub(crate) fn oob(what: &'static str, offset: u64, size: u64) -> MachOError {
    MalformedMachO::OutOfBounds { what, offset, size }.into()
}
