//! The machine-independent vocabulary of dynamic relocations.

/// How many bytes a relocation writes, and which range its result must fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// A full 64-bit word.
    W64,
    /// 32 bits; the 64-bit result must zero-extend from them (x86_64 `R_X86_64_32`).
    W32,
    /// 32 bits; the 64-bit result must sign-extend from them (`R_X86_64_32S`, PC-relative 32).
    W32S,
}

impl Width {
    /// Number of bytes written.
    pub const fn bytes(self) -> u64 {
        match self {
            Width::W64 => 8,
            Width::W32 | Width::W32S => 4,
        }
    }
}

/// What a relocation computes, independent of the machine's numbering.
///
/// Notation as in the ELF ABIs: S symbol address, A addend, B load bias, P place, Z symbol size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocKind {
    /// Nothing to do.
    None,
    /// B + A.
    Relative,
    /// S + A.
    Absolute(Width),
    /// GOT entry: S, plus A where the ABI says so (aarch64).
    GlobDat,
    /// PLT slot, bound at load time: S, plus A where the ABI says so (aarch64).
    JumpSlot,
    /// S + A − P.
    PcRelative(Width),
    /// Z + A.
    Size(Width),
    /// Call the resolver at B + A and store its result.
    IRelative,
    /// Copy Z bytes from S to P: only valid in executables, refused by dynplug.
    Copy,
    /// TLS module id of the defining module.
    TlsModule,
    /// Offset of the symbol in its module's TLS block: TLS(S) + A.
    TlsOffset(Width),
    /// Offset from the thread pointer (initial-exec model).
    TlsTpOffset(Width),
    /// TLS descriptor: two words (resolver, argument).
    TlsDesc,
}

impl RelocKind {
    /// True if the formula needs a symbol's definition (S or Z).
    pub const fn needs_symbol(self) -> bool {
        matches!(
            self,
            RelocKind::Absolute(_)
                | RelocKind::GlobDat
                | RelocKind::JumpSlot
                | RelocKind::PcRelative(_)
                | RelocKind::Size(_)
                | RelocKind::Copy
        )
    }

    /// True for the thread-local storage kinds.
    pub const fn is_tls(self) -> bool {
        matches!(
            self,
            RelocKind::TlsModule
                | RelocKind::TlsOffset(_)
                | RelocKind::TlsTpOffset(_)
                | RelocKind::TlsDesc
        )
    }
}
