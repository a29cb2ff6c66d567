//! Crafted ELF shared objects, built in memory.
