//! What an import binds to, as reports (`inspect`, `DYNPLUG_DEBUG=bindings`) name it: a leaf
//! type, filled in by the resolver's scope (`Scope::binding_of`).

/// What an import binds to.
#[derive(Debug)]
pub enum Binding {
    /// A module's definition (the module's name or path).
    Module(String),
    /// One of the host's exports (`Loader::export`).
    Host,
    /// A function dynplug serves to plugins (`dlopen`, `dl_iterate_phdr`, `__tls_get_addr`...).
    Dynplug,
    /// A weak import nothing defines (or the policy forbids): 0.
    Absent,
    /// Nothing defines it: an open fails.
    Missing,
    /// The import policy forbids it: an open fails.
    Forbidden,
    /// Not resolved: the object is for another machine, or its entry is malformed.
    Unknown,
}
