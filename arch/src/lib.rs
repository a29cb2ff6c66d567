//! Per-architecture relocation tables and formulas for dynplug.
//!
//! Everything here is pure: a machine contributes a table that maps its `r_type` numbers to a
//! shared [`RelocKind`], and [`compute`] evaluates the formula for a kind from plain numbers. No
//! memory is touched, so the formulas are testable on any host and also serve images of a foreign
//! architecture relocated into a buffer. The loader's single generic loop does the rest.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aarch64;
mod formula;
mod kind;
mod machine;
pub mod riscv64;
mod tls;
pub mod x86_64;

pub use formula::{compute, FormulaError, Inputs, Write};
pub use kind::{RelocKind, Width};
pub use machine::Machine;
pub use tls::{compute_tls, TlsAbi, TlsInputs, TlsVariant};
