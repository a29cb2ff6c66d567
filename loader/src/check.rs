//! The dry run: everything a load does but mapping and running, into private buffers.

use std::path::{Path, PathBuf};

use dynplug_arch::Machine;

use crate::error::LoadError;
use crate::group::{collect, local_modules, shared, Bytes, Dep, New};
use crate::image::page_size;
use crate::link::{foreign, link, Mode, Options};
use crate::object::Object;
use crate::process::{self, Module};
use crate::relocate::DryRun;

/// Where a dry run pretends the images lie (aligned for any segment alignment dynplug accepts);
/// each object of the group 4 GiB further.
const DRY_RUN_BIAS: u64 = 0x5555_0000_0000;

/// Examines `bytes` as a load would, running nothing and mapping nothing (a Mach-O image:
/// `macho::check`). `Err` only if the bytes are not an ELF file at all (or a Mach-O one dynplug
/// refuses); every problem found otherwise is in the returned list (empty: it
/// would load). Libraries it needs are looked for (and examined) as a load would; `path`, if the
/// bytes came from a file, is where `$ORIGIN` points.
pub fn check(
    bytes: &[u8],
    path: Option<&Path>,
    opts: &Options,
    extra: &[PathBuf],
) -> Result<Vec<LoadError>, LoadError> {
    if crate::macho::is_macho(bytes) {
        return crate::macho::check::check(bytes, path, opts);
    }
    examine(bytes, path, opts, extra, |_| ()).map(|(problems, _)| problems)
}

/// What a dry run built, shown to [`examine`]'s visitor once every object is linked.
pub(crate) struct Examined<'e, 'g> {
    /// The plugin, then the libraries it needs that the process lacks (only the plugin when
    /// the search failed or the machine is foreign).
    pub group: &'e [New<'g>],
    /// The scope the group's imports bind in (empty for a foreign machine).
    pub scope: &'e [Module<'e>],
    /// The process's modules.
    pub modules: &'e [Module<'static>],
    /// Where the plugin pretends to lie.
    pub base: u64,
    /// The plugin's TLS module id, as a load would give it.
    pub tls_modid: u64,
    /// The plugin's memory after its relocations.
    pub mem: &'e DryRun<'e>,
}

/// The dry run, then `visit` with what it built: the problems, and what `visit` returned (`None`
/// when the plugin itself did not parse: its problem is then the only one).
pub(crate) fn examine<R>(
    bytes: &[u8],
    path: Option<&Path>,
    opts: &Options,
    extra: &[PathBuf],
    visit: impl FnOnce(&Examined<'_, '_>) -> R,
) -> Result<(Vec<LoadError>, Option<R>), LoadError> {
    crate::debug::refresh();
    let obj = match Object::parse(Bytes::Borrowed(bytes), None, page_size()) {
        Ok(o) => o,
        Err(LoadError::NotElf) => return Err(LoadError::NotElf),
        Err(e) => return Ok((vec![e], None)),
    };
    let mut problems = Vec::new();
    let foreign = foreign(obj.machine);
    let machine = obj.machine;
    let list = process::modules();
    let modules = if foreign { Vec::new() } else { list.to_vec() };
    if foreign {
        let expected = Machine::host()
            .map_or("an unknown machine", Machine::name)
            .to_string();
        problems.push(LoadError::WrongArchitecture {
            found: machine.name().to_string(),
            expected,
        });
    }
    let mut root = New::from_bytes(obj);
    root.path = path.map(Path::to_path_buf);
    root.origin = path.and_then(Path::parent).map(Path::to_path_buf);
    let shared = shared();
    let global = if foreign {
        Vec::new()
    } else {
        let global = process::global_scope(&list);
        crate::group::global_scope(&modules, &global, opts)
    };
    let (group, local, complete) = if foreign {
        (vec![root], vec![Dep::New(0)], false)
    } else {
        // A failed search is a problem to report; the plugin itself is still examined.
        match collect(
            root,
            &modules,
            &global,
            &shared,
            extra,
            Some(machine),
            false,
        ) {
            Ok(c) => (c.group, c.local, true),
            Err(e) => {
                problems.push(e);
                let obj = Object::parse(Bytes::Borrowed(bytes), None, page_size())?;
                (vec![New::from_bytes(obj)], vec![Dep::New(0)], false)
            }
        }
    };
    // Each object of the group 4 GiB further, and its TLS module id, as a load would give them.
    let base = |i: usize, n: &New<'_>| {
        DRY_RUN_BIAS
            .wrapping_add((i as u64) << 32)
            .wrapping_sub(n.obj.layout.span_lo)
    };
    let modid = |i: usize, n: &New<'_>| {
        n.obj
            .layout
            .tls
            .map_or(0, |_| crate::tls::FIRST_MODID + i as u64)
    };
    let mut own = Vec::with_capacity(group.len());
    for (i, n) in group.iter().enumerate() {
        match n.module(n.obj.view(), base(i, n), modid(i, n)) {
            Ok(m) => own.push(Some(m)),
            Err(e) => {
                problems.push(n.subject(i).named(e));
                own.push(None);
            }
        }
    }
    let mut root_mem = None;
    let mut scope: Vec<Module<'_>> = global;
    scope.extend(local_modules(
        &local,
        |i| own.get(i).cloned().flatten(),
        &shared,
        &modules,
    ));
    // Not held while the visitor runs: it may look at what the process has loaded.
    drop(shared);
    // Nothing is committed: a dry run binds nothing for the process.
    let unique = crate::unique::Unique::default();
    for (i, n) in group.iter().enumerate() {
        let mut mem = DryRun {
            view: n.obj.view(),
            written: Default::default(),
        };
        let mode = Mode {
            live: false,
            report_missing: complete,
            tls_modid: modid(i, n),
            subject: n.subject(i),
            served: crate::interpose::served,
            imports: None,
            tls_tpoff: 0,
        };
        let base = base(i, n);
        let found = link(&n.obj, base, opts, &scope, &unique, &mut mem, mode);
        problems.extend(found.problems);
        if i == 0 {
            root_mem = Some(mem);
        }
    }
    let (Some(root), Some(mem)) = (group.first(), root_mem.as_ref()) else {
        return Ok((problems, None));
    };
    let seen = visit(&Examined {
        group: &group,
        scope: &scope,
        modules: &modules,
        base: base(0, root),
        tls_modid: modid(0, root),
        mem,
    });
    Ok((problems, Some(seen)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynplug_fixtures::edit::Elf;

    /// `R_RISCV_TLS_DTPREL64`.
    const R_RISCV_TLS_DTPREL64: u64 = 9;

    /// riscv64's DTPREL subtracts the machine's DTV offset (0x800, glibc's `TLS_DTV_OFFSET`;
    /// tests/oracle.rs checks the formula against glibc's ld.so): the relocation loop takes the
    /// TLS layout from the object's machine, whatever the host.
    #[test]
    fn riscv64_dtprel_takes_its_dtv_offset() {
        let bytes = std::fs::read(dynplug_fixtures::path("foreign_riscv64"))
            .expect("foreign_riscv64.so: install gcc-riscv64-linux-gnu (.ci/run does)");
        let elf = Elf::new(bytes.clone());
        let (counter, _) = elf.symbol("counter").expect("the fixture's TLS variable");
        let dtprel: Vec<(u64, u64)> = elf
            .relas()
            .into_iter()
            .filter(|&r| elf.u64(r + 8) & 0xffff_ffff == R_RISCV_TLS_DTPREL64)
            .map(|r| (elf.u64(r), elf.u64(r + 16)))
            .collect();
        assert!(!dtprel.is_empty(), "the fixture has no TLS_DTPREL64");
        let (_, written) = examine(&bytes, None, &Options::default(), &[], |e| {
            dtprel
                .iter()
                .map(|&(at, addend)| (e.mem.written.get(&at).map(|w| w.value), addend))
                .collect::<Vec<_>>()
        })
        .unwrap();
        for (value, addend) in written.unwrap() {
            let want = counter.wrapping_add(addend).wrapping_sub(0x800);
            assert_eq!(value, Some(want), "addend {addend:#x}");
        }
    }
}
