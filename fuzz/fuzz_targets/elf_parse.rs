//! ELF parsing and validation: headers, layout, dynamic section, symbol, hash and version
//! tables, from arbitrary bytes. Must return Ok or a typed error, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(obj) = dynplug_loader::object::Object::parse(data, None, 4096) {
        if let Ok(tab) = obj.symtab() {
            let n = u32::try_from(tab.count()).unwrap_or(u32::MAX).min(4096);
            for i in 0..n {
                if let Some(s) = tab.sym(i) {
                    if let Some(name) = tab.name(&s) {
                        let _ = tab.find(&dynplug_loader::symbols::Name::new(name), None);
                    }
                }
            }
        }
        let _ = obj.references();
        let _ = obj.needed().count();
    }
});
