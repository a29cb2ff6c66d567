//! The dry run: everything a load does but mapping and running, into a private buffer.

use dynplug_arch::Machine;

use crate::error::LoadError;
use crate::image::page_size;
use crate::link::{check_needed, foreign, link, Options};
use crate::object::Object;
use crate::process;
use crate::relocate::DryRun;

/// Where a dry run pretends the image lies (aligned for any segment alignment dynplug accepts).
const DRY_RUN_BIAS: u64 = 0x5555_0000_0000;

/// Examines `bytes` as a load would, running nothing. `Err` only if the bytes are not an ELF
/// file at all; every problem found otherwise is in the returned list (empty: it would load).
pub fn check(bytes: &[u8], opts: &Options) -> Result<Vec<LoadError>, LoadError> {
    let obj = match Object::parse(bytes, None, page_size()) {
        Ok(o) => o,
        Err(LoadError::NotElf) => return Err(LoadError::NotElf),
        Err(e) => return Ok(vec![e]),
    };
    let mut problems = Vec::new();
    let foreign = foreign(obj.machine);
    let modules = if foreign { Vec::new() } else { process::modules() };
    if foreign {
        let expected = Machine::host().map_or("an unknown machine", Machine::name).to_string();
        problems.push(LoadError::WrongArchitecture { found: obj.machine.name().to_string(), expected });
    } else {
        check_needed(&obj, &modules, &mut problems);
    }
    let bias = DRY_RUN_BIAS.wrapping_sub(obj.layout.span_lo);
    let mut mem = DryRun { view: obj.view(), written: Default::default() };
    problems.extend(link(&obj, bias, opts, &modules, &mut mem, false, !foreign, obj.layout.tls.map_or(0, |_| crate::tls::FIRST_MODID)));
    Ok(problems)
}
