//! ELF: header and program header validation, the segment layout, the dynamic section.

pub mod dynamic;
pub mod header;
pub mod layout;
pub mod records;
pub mod view;
