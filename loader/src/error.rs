//! Why loading failed: one variant per cause, none of them carrying the path (the caller adds it).

use std::io;

/// A structural problem in the file: a check that a well-formed shared object passes.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The file is shorter than an ELF header.
    #[error("file too short for an ELF header ({len} bytes)")]
    TruncatedHeader {
        /// The file's length.
        len: usize,
    },
    /// An `e_ident` or header field has a value no valid object has.
    #[error("bad ELF header field {field}: {value:#x}")]
    BadHeader {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// The program header table does not lie inside the file.
    #[error("program headers (offset {offset:#x}, {count} entries) lie outside the file")]
    PhdrsOutsideFile {
        /// `e_phoff`.
        offset: u64,
        /// `e_phnum`.
        count: u16,
    },
    /// No PT_LOAD segment.
    #[error("no loadable segments")]
    NoLoadSegments,
    /// PT_LOAD segments are not sorted by address, or overlap.
    #[error("PT_LOAD segment {index} is unsorted or overlaps the previous one")]
    LoadsUnsortedOrOverlapping {
        /// Index among the PT_LOADs.
        index: usize,
    },
    /// A segment has `p_filesz > p_memsz`.
    #[error("segment {index}: p_filesz {filesz:#x} > p_memsz {memsz:#x}")]
    FileszExceedsMemsz {
        /// Program header index.
        index: usize,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// `p_offset` and `p_vaddr` are not congruent modulo the page size (or `p_align`).
    #[error("segment {index}: offset {offset:#x} and address {vaddr:#x} are not congruent")]
    Incongruent {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_vaddr`.
        vaddr: u64,
    },
    /// `p_align` is not zero or a power of two, or is smaller than a page for a PT_LOAD.
    #[error("segment {index}: bad alignment {align:#x}")]
    BadAlignment {
        /// Program header index.
        index: usize,
        /// `p_align`.
        align: u64,
    },
    /// A segment's file bytes lie outside the file.
    #[error("segment {index}: bytes {offset:#x}+{size:#x} lie outside the file")]
    SegmentOutsideFile {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        size: u64,
    },
    /// The image would be larger than dynplug accepts, or its addresses overflow.
    #[error("image span of {size:#x} bytes is too large")]
    ImageTooLarge {
        /// The span in bytes (saturated).
        size: u64,
    },
    /// No PT_DYNAMIC segment, or an empty one.
    #[error("no dynamic section")]
    NoDynamic,
    /// PT_DYNAMIC has no DT_NULL inside its bounds.
    #[error("dynamic section is not terminated by DT_NULL")]
    DynamicUnterminated,
    /// A segment that must lie inside a PT_LOAD (PT_DYNAMIC, PT_GNU_RELRO, PT_TLS) does not.
    #[error("{what} segment lies outside the loaded image")]
    SegmentNotLoaded {
        /// Which segment.
        what: &'static str,
    },
    /// A dynamic entry points outside the image, or its table does not fit there.
    #[error("{tag} points outside the image ({addr:#x}, {size:#x} bytes)")]
    AddressOutsideImage {
        /// The dynamic tag's name.
        tag: &'static str,
        /// The address.
        addr: u64,
        /// The size needed there.
        size: u64,
    },
    /// A table's entry size or total size is not what the ABI says.
    #[error("{tag} has a bad size {value:#x}")]
    BadTableSize {
        /// The dynamic tag's name.
        tag: &'static str,
        /// The value found.
        value: u64,
    },
    /// A required dynamic entry is missing.
    #[error("missing dynamic entry {tag}")]
    MissingDynamic {
        /// The dynamic tag's name.
        tag: &'static str,
    },
    /// A string table offset is outside DT_STRTAB, or its string is not terminated there.
    #[error("string offset {offset:#x} is outside the string table")]
    StringOutOfRange {
        /// The offset.
        offset: u64,
    },
    /// A symbol index is past the end of the symbol table.
    #[error("symbol index {index} is out of range ({count} symbols)")]
    SymbolIndexOutOfRange {
        /// The index.
        index: u64,
        /// The number of symbols.
        count: u64,
    },
    /// A hash table is malformed.
    #[error("bad {table} hash table: {what}")]
    BadHashTable {
        /// "GNU" or "SysV".
        table: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// A symbol version index or version record is out of range or malformed.
    #[error("bad symbol version data: {what} ({value:#x})")]
    BadVersion {
        /// What is wrong.
        what: &'static str,
        /// The offending value.
        value: u64,
    },
    /// A relocation writes outside the writable segments.
    #[error("relocation at {offset:#x} writes outside the writable segments")]
    RelocationOutsideWritable {
        /// `r_offset`.
        offset: u64,
    },
    /// A relocation's result does not fit its width.
    #[error("relocation {name} at {offset:#x}: result {value:#x} does not fit")]
    RelocationOverflow {
        /// The relocation type's name.
        name: &'static str,
        /// `r_offset`.
        offset: u64,
        /// The full-precision result.
        value: i128,
    },
    /// A DT_RELR bitmap word came before any address word.
    #[error("DT_RELR bitmap before any address")]
    RelrBitmapFirst,
    /// An address in a relocation table or init array is not word-aligned.
    #[error("{what} address {addr:#x} is not aligned")]
    Misaligned {
        /// What it is.
        what: &'static str,
        /// The address.
        addr: u64,
    },
    /// An initialiser or IFUNC resolver does not point into an executable segment.
    #[error("{what} {addr:#x} does not point into an executable segment")]
    CodeOutsideText {
        /// What it is.
        what: &'static str,
        /// The address.
        addr: u64,
    },
    /// DT_NEEDED names the object itself.
    #[error("DT_NEEDED names the object itself ({name})")]
    NeedsItself {
        /// The name.
        name: String,
    },
    /// Some count in the file is beyond what dynplug accepts.
    #[error("{what} count {count} is beyond the limit")]
    TooMany {
        /// What is counted.
        what: &'static str,
        /// The count.
        count: u64,
    },
    /// A structural problem in a Mach-O image.
    #[error("Mach-O: {0}")]
    MachO(crate::macho_error::MalformedMachO),
}

/// A valid object that uses something dynplug does not (or will not) do.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// The object is not `ET_DYN` (an executable or relocatable object).
    #[error("not a shared object (e_type {e_type})")]
    NotSharedObject {
        /// `e_type`.
        e_type: u16,
    },
    /// A position-independent executable (`DF_1_PIE`).
    #[error("cannot load a position-independent executable")]
    Executable,
    /// `DF_1_NOOPEN`: the object says it must not be opened at run time.
    #[error("object is marked DF_1_NOOPEN")]
    NoOpen,
    /// Text relocations (`DT_TEXTREL`): code would have to be writable.
    #[error("text relocations (DT_TEXTREL) would need writable code")]
    TextRelocations,
    /// A PT_LOAD segment is both writable and executable.
    #[error("segment {index} is writable and executable")]
    WritableExecutable {
        /// Program header index.
        index: usize,
    },
    /// PT_GNU_STACK asks for an executable stack.
    #[error("object requires an executable stack")]
    ExecutableStack,
    /// A relocation type dynplug does not apply.
    #[error("relocation {name} (type {r_type}) at {offset:#x}")]
    Relocation {
        /// `r_type`.
        r_type: u32,
        /// The ABI's name, or "unknown".
        name: &'static str,
        /// `r_offset`.
        offset: u64,
    },
    /// A copy relocation, which belongs only in executables.
    #[error("copy relocation at {offset:#x} in a shared object")]
    CopyRelocation {
        /// `r_offset`.
        offset: u64,
    },
    /// Thread-local storage (not implemented yet).
    #[error("thread-local storage ({what})")]
    ThreadLocalStorage {
        /// What about it.
        what: &'static str,
    },
    /// Initial-exec TLS (TPOFF) against a module dynplug loaded whose block cannot be placed in
    /// dynplug's static TLS reserve (at one offset from every thread's pointer).
    #[error("initial-exec thread-local storage: {symbol} in {module}: {why} (build it with -ftls-model=global-dynamic or gnu2 descriptors)")]
    InitialExecTls {
        /// The thread-local symbol.
        symbol: String,
        /// The module that uses it.
        module: String,
        /// Why its block cannot be placed.
        why: StaticTlsRefusal,
    },
    /// An OS ABI (`EI_OSABI`) other than System V, GNU and FreeBSD.
    #[error("OS ABI {os_abi} (dynplug loads System V, GNU and FreeBSD objects)")]
    OsAbi {
        /// `EI_OSABI`.
        os_abi: u8,
    },
    /// The system dynplug runs on cannot run ELF objects in this process (`why`).
    #[error("on {}: {why}", crate::os::NAME)]
    Host {
        /// Why not.
        why: &'static str,
    },
    /// The REL (implicit addend) relocation format.
    #[error("DT_REL relocations on a RELA machine")]
    RelFormat,
    /// A Mach-O image that uses something dynplug does not load.
    #[error("Mach-O: {0}")]
    MachO(crate::macho_error::UnsupportedMachO),
}

/// Why loading failed (the caller adds the path).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading the file failed.
    #[error("{0}")]
    Io(#[source] io::Error),
    /// The path is a directory.
    #[error("is a directory")]
    IsDirectory,
    /// Not an ELF file.
    #[error("not an ELF shared object")]
    NotElf,
    /// ELF for another machine or class than this process.
    #[error("built for {found}, this process runs {expected}")]
    WrongArchitecture {
        /// What the file is for.
        found: String,
        /// What this process is.
        expected: String,
    },
    /// A structural problem in the file.
    #[error("malformed: {0}")]
    Malformed(#[from] Malformed),
    /// Something dynplug does not support.
    #[error("unsupported: {0}")]
    Unsupported(#[from] Unsupported),
    /// Imports that nothing in scope defines (all of them).
    #[error("undefined symbols: {}", .0.join(", "))]
    UndefinedSymbols(Vec<String>),
    /// A DT_NEEDED library dynplug could not find.
    #[error(
        "missing library {library} (needed by {}; looked in: {})",
        needed_by.display(),
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    MissingDependency {
        /// The DT_NEEDED name.
        library: String,
        /// The object that needs it (`<bytes>` for one from memory).
        needed_by: std::path::PathBuf,
        /// Every path tried, in order.
        searched: Vec<std::path::PathBuf>,
    },
    /// Reserving or mapping memory failed.
    #[error("mapping failed: {0}")]
    Map(#[source] io::Error),
    /// Offline relocation: the request has no result for the IFUNC resolver at this run-time
    /// address.
    #[error("the offline request gives no result for the IFUNC resolver at {resolver:#x}")]
    NoIfuncResult {
        /// The resolver's run-time address.
        resolver: u64,
    },
    /// Imports the loader's import policy forbids (all of them).
    #[error("imports not allowed by the loader's policy: {}", .0.join(", "))]
    ImportsNotAllowed(Vec<String>),
}

impl From<io::Error> for LoadError {
    fn from(e: io::Error) -> Self {
        LoadError::Io(e)
    }
}

/// Why a module's TLS block cannot be placed in dynplug's static TLS reserve, which initial-exec
/// code needs.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StaticTlsRefusal {
    /// The block's image has non-zero bytes (`.tdata`): threads the C runtime starts get the
    /// reserve zeroed, and threads that already run cannot be given the bytes.
    #[error("its TLS image has non-zero initialised data, which threads cannot be given")]
    InitialisedData,
    /// The reserve has no room left for the block.
    #[error("the block needs {need} bytes, {left} of dynplug's static TLS reserve of {reserve} are left")]
    Exhausted {
        /// Bytes the block needs (with its alignment padding).
        need: u64,
        /// Bytes left in the reserve.
        left: u64,
        /// The reserve's size.
        reserve: u64,
    },
    /// The block's alignment is larger than the reserve's.
    #[error("its TLS alignment {align} exceeds dynplug's static TLS reserve's {max}")]
    Alignment {
        /// PT_TLS `p_align`.
        align: u64,
        /// The reserve's alignment.
        max: u64,
    },
    /// The module was loaded earlier, its TLS made per thread on first use: it cannot move.
    #[error("its module was loaded earlier with thread-local blocks made on first use")]
    InUse,
    /// dynplug's reserve is not in the executable's TLS (dynplug is in a shared library).
    #[error("dynplug is not linked into the executable, so its TLS reserve is not static TLS")]
    NotInExecutable,
    /// Not implemented for this machine.
    #[error("not implemented on this machine")]
    Machine,
    /// Offline relocation: the caller gave the block no place in static TLS.
    #[error("the offline request places the block in no static TLS (no block_from_tp)")]
    NotPlaced,
}
