//! `dynplug check FILE...`: the dry run from the command line. For each file, every problem an
//! open would meet, without mapping or running anything; exit status 1 if any file has one.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, files) = match args.split_first() {
        Some((c, f)) if c == "check" && !f.is_empty() => (c, f),
        _ => {
            eprintln!("usage: dynplug check FILE...");
            return ExitCode::from(2);
        }
    };
    let _ = cmd;
    let loader = dynplug::Loader::new();
    let mut bad = false;
    for f in files {
        match loader.check(f) {
            Ok(r) if r.is_ok() => println!("{f}: ok"),
            Ok(r) => {
                bad = true;
                for p in &r.problems {
                    println!("{f}: {p}");
                }
            }
            Err(e) => {
                bad = true;
                println!("{f}: {e}");
            }
        }
    }
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
