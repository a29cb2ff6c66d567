//! Mach-O parsing from arbitrary bytes: header and load commands, every export of the trie and a
//! lookup of each name, every fixup (opcode streams or chains) and every nlist symbol. Must
//! return Ok or a typed error, never panic, hang or allocate without bound.
#![no_main]
use dynplug_loader::macho::{symtab, MachO};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = MachO::parse(data) else {
        return;
    };
    for e in m.exports().take(4096) {
        match e {
            Ok((name, _)) => {
                let _ = m.export(&name);
            }
            Err(_) => break,
        }
    }
    let _ = m.export("_plugin_add");
    for f in m.fixups() {
        if f.is_err() {
            break;
        }
    }
    for s in symtab::symbols(&m).take(4096) {
        if s.is_err() {
            break;
        }
    }
});
