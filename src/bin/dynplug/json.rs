//! The JSON forms of `inspect` and `check` (schema: docs/cli.md; fields are only ever added).

use std::path::Path;

use dynplug::inspect::{Binding, Found, Inspection as Facts};
use dynplug::{Error, Inspection};
use serde_json::{json, Value};

/// `"R-X"`-style protections of `p_flags`.
pub fn protections(flags: u32) -> String {
    let bit = |b: u32, c: char| if flags & b != 0 { c } else { '-' };
    [bit(4, 'R'), bit(2, 'W'), bit(1, 'X')].iter().collect()
}

/// The status word and path of a dependency, and why it is missing.
pub fn found(f: &Found) -> (&'static str, Option<String>, Option<String>) {
    match f {
        Found::Process(p) => ("process", Some(p.clone()), None),
        Found::Shared(p) => ("shared", Some(p.display().to_string()), None),
        Found::File(p) => ("file", Some(p.display().to_string()), None),
        Found::Missing(why) => ("missing", None, Some(why.clone())),
    }
}

/// The status word of a binding, and the module for `module`.
pub fn binding(b: &Binding) -> (&'static str, Option<&str>) {
    match b {
        Binding::Module(m) => ("module", Some(m)),
        Binding::Host => ("host", None),
        Binding::Dynplug => ("dynplug", None),
        Binding::Absent => ("absent", None),
        Binding::Missing => ("missing", None),
        Binding::Forbidden => ("forbidden", None),
        Binding::Unknown => ("unknown", None),
    }
}

/// `inspect --json`: one object.
pub fn inspection(file: &Path, i: &Inspection) -> Value {
    let f: &Facts = &i.facts;
    let h = &f.header;
    json!({
        "file": file.display().to_string(),
        "class": h.class,
        "endian": h.endian,
        "machine": h.machine,
        "e_machine": h.e_machine,
        "os_abi": h.os_abi_name,
        "ei_osabi": h.os_abi,
        "type": h.kind,
        "e_type": h.e_type,
        "soname": f.soname,
        "segments": f.segments.iter().map(|s| json!({
            "type": s.kind,
            "p_type": s.p_type,
            "flags": protections(s.flags),
            "p_flags": s.flags,
            "offset": s.offset,
            "vaddr": s.vaddr,
            "filesz": s.filesz,
            "memsz": s.memsz,
            "align": s.align,
        })).collect::<Vec<_>>(),
        "dependencies": f.dependencies.iter().map(|d| {
            let (status, path, reason) = found(&d.found);
            json!({
                "name": d.name,
                "needed_by": d.needed_by,
                "status": status,
                "path": path,
                "reason": reason,
            })
        }).collect::<Vec<_>>(),
        "exports": f.exports.iter().map(|e| json!({
            "name": e.name,
            "kind": e.kind,
            "bind": e.bind,
            "value": e.value,
            "size": e.size,
            "version": e.version,
            "default_version": e.default_version,
        })).collect::<Vec<_>>(),
        "imports": f.imports.iter().map(|m| {
            let (status, module) = binding(&m.binding);
            json!({
                "name": m.name,
                "version": m.version,
                "weak": m.weak,
                "binding": status,
                "module": module,
            })
        }).collect::<Vec<_>>(),
        "relocations": f.relocations,
        "relr": f.relr,
        "tls": f.tls.as_ref().map(|t| json!({
            "size": t.size,
            "init_size": t.init_size,
            "align": t.align,
            "models": t.models,
        })),
        "init": {
            "init": f.init.init,
            "init_array": f.init.init_array,
            "preinit_array": f.init.preinit_array,
            "fini": f.init.fini,
            "fini_array": f.init.fini_array,
        },
        "ok": i.report.is_ok(),
        "problems": problems(&i.report.problems),
    })
}

/// Problems as their messages.
pub fn problems(list: &[Error]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// `check --json`: one object per file; `error` when the file could not be examined at all.
pub fn check(file: &Path, problems: &[Error], error: Option<&Error>) -> Value {
    json!({
        "file": file.display().to_string(),
        "ok": problems.is_empty() && error.is_none(),
        "problems": self::problems(problems),
        "error": error.map(ToString::to_string),
    })
}
