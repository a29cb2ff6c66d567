//! `dynplug inspect` and `dynplug check`: what a file is, and every problem an open would meet.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dynplug::{Inspection, Loader};

use crate::json;

/// `inspect FILE [--json]`.
pub fn run(file: &Path, as_json: bool) -> ExitCode {
    let i = match Loader::new().inspect(file) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("dynplug: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = io::stdout().lock();
    let written = if as_json {
        let v = json::inspection(file, &i);
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        )
    } else {
        print_text(&mut out, file, &i)
    };
    // A reader that stopped early (`| head`) is not an error of the file's.
    if let Err(e) = written.and_then(|()| out.flush()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("dynplug: {e}");
            return ExitCode::from(1);
        }
    }
    if i.report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_text(o: &mut impl Write, file: &Path, i: &Inspection) -> io::Result<()> {
    let f = &i.facts;
    let h = &f.header;
    writeln!(o, "{}", file.display())?;
    writeln!(
        o,
        "  ELF{} {}-endian {} (e_machine {}), OS ABI {}, type {}",
        h.class, h.endian, h.machine, h.e_machine, h.os_abi_name, h.kind
    )?;
    if let Some(s) = &f.soname {
        writeln!(o, "  soname {s}")?;
    }
    writeln!(o, "segments:")?;
    for s in &f.segments {
        writeln!(
            o,
            "  {:<16} {} vaddr {:#010x} memsz {:#x} filesz {:#x} offset {:#x} align {:#x}",
            s.kind,
            json::protections(s.flags),
            s.vaddr,
            s.memsz,
            s.filesz,
            s.offset,
            s.align
        )?;
    }
    writeln!(o, "dependencies:")?;
    for d in &f.dependencies {
        let (status, path, reason) = json::found(&d.found);
        let at = path.or(reason).unwrap_or_default();
        writeln!(o, "  {} (needed by {}): {status} {at}", d.name, d.needed_by)?;
    }
    writeln!(o, "exports ({}):", f.exports.len())?;
    for e in &f.exports {
        let v = match (&e.version, e.default_version) {
            (Some(v), true) => format!("@@{v}"),
            (Some(v), false) => format!("@{v}"),
            (None, _) => String::new(),
        };
        writeln!(o, "  {}{v} {} {} size {}", e.name, e.bind, e.kind, e.size)?;
    }
    writeln!(o, "imports ({}):", f.imports.len())?;
    for m in &f.imports {
        let v = m
            .version
            .as_ref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default();
        let weak = if m.weak { " (weak)" } else { "" };
        let (status, module) = json::binding(&m.binding);
        writeln!(o, "  {}{v}{weak}: {}", m.name, module.unwrap_or(status))?;
    }
    writeln!(o, "relocations:")?;
    for (t, n) in &f.relocations {
        writeln!(o, "  {t} {n}")?;
    }
    if f.relr > 0 {
        writeln!(o, "  RELR {}", f.relr)?;
    }
    match &f.tls {
        Some(t) => writeln!(
            o,
            "TLS: {} bytes ({} initialised), align {}, models: {}",
            t.size,
            t.init_size,
            t.align,
            if t.models.is_empty() {
                "none".to_string()
            } else {
                t.models.join(", ")
            }
        )?,
        None => writeln!(o, "TLS: none")?,
    }
    print_init(o, i)?;
    if i.report.is_ok() {
        writeln!(o, "problems: none (an open would succeed)")?;
    } else {
        writeln!(o, "problems:")?;
        for p in &i.report.problems {
            writeln!(o, "  {p}")?;
        }
    }
    Ok(())
}

fn print_init(o: &mut impl Write, i: &Inspection) -> io::Result<()> {
    let n = &i.facts.init;
    let list = |v: &[Option<u64>]| {
        v.iter()
            .map(|a| a.map_or_else(|| "(another module)".to_string(), |a| format!("{a:#x}")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    writeln!(o, "initialisers:")?;
    if let Some(a) = n.init {
        writeln!(o, "  DT_INIT {a:#x}")?;
    }
    writeln!(o, "  DT_INIT_ARRAY [{}]", list(&n.init_array))?;
    if !n.preinit_array.is_empty() {
        writeln!(
            o,
            "  DT_PREINIT_ARRAY [{}] (not run)",
            list(&n.preinit_array)
        )?;
    }
    writeln!(o, "finalisers (never run: plugins are never closed):")?;
    if let Some(a) = n.fini {
        writeln!(o, "  DT_FINI {a:#x}")?;
    }
    writeln!(o, "  DT_FINI_ARRAY [{}]", list(&n.fini_array))?;
    Ok(())
}

/// `check FILE... [--policy FILE] [--json]`: exit status 1 if any file has a problem.
pub fn check(loader: &Loader, files: &[PathBuf], as_json: bool) -> ExitCode {
    let mut bad = false;
    for f in files {
        match loader.check(f) {
            Ok(r) => {
                bad |= !r.is_ok();
                if as_json {
                    println!("{}", json::check(f, &r.problems, None));
                } else if r.is_ok() {
                    println!("{}: ok", f.display());
                } else {
                    for p in &r.problems {
                        println!("{}: {p}", f.display());
                    }
                }
            }
            Err(e) => {
                bad = true;
                if as_json {
                    println!("{}", json::check(f, &[], Some(&e)));
                }
                eprintln!("dynplug: {e}");
            }
        }
    }
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
