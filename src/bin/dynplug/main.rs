//! `dynplug`: inspect, check and call plugins from the command line (docs/cli.md).
//!
//! Exit status: 0 success, 1 a problem found (the dry run's, or a file that cannot be opened),
//! 2 bad usage.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod call;
mod inspect;
mod json;
mod macho;
mod policy;

/// dynplug's own linker from the command line: what a shared object is, whether it would load,
/// and calling its functions. Nothing here uses the system's dynamic loader.
#[derive(Parser)]
#[command(
    name = "dynplug",
    version,
    after_help = "Exit status: 0 success, 1 a problem found, 2 bad usage.\n\
    Debug logging of any command (and of any host using dynplug): DYNPLUG_DEBUG=help."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what a shared object is and what opening it would do; nothing is mapped or run.
    ///
    /// Format, machine, OS ABI, type; segments; dependencies and the file each resolves to (or
    /// why not); exports; imports and the module each binds to; relocation counts by type; TLS;
    /// initialisers and finalisers; every problem that would make an open fail.
    Inspect {
        /// The shared object: a path, or a bare library name (`libz.so.1`) searched as dlopen
        /// searches it.
        file: PathBuf,
        /// Print one JSON object (schema: docs/cli.md).
        #[arg(long)]
        json: bool,
    },
    /// The dry run: every problem an open of each FILE would meet. Exit status 1 if any.
    Check {
        /// The shared objects (paths, or bare library names as for `inspect`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Allow only the imports named in this file (one name per line; blank lines and
        /// `#` comments ignored), as `Loader::allow_imports` does.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Print one JSON object per file, one per line (schema: docs/cli.md).
        #[arg(long)]
        json: bool,
    },
    /// Open FILE as a plugin and call SYMBOL as `extern "C" fn(i64, ...) -> i64`.
    ///
    /// The plugin's initialisers run: only call code you trust. The result is printed in
    /// decimal (or as a C string, or not at all: --ret).
    Call {
        /// The shared object: a path, or a bare library name (`libz.so.1`) searched as dlopen
        /// searches it.
        file: PathBuf,
        /// The function to call.
        symbol: String,
        /// Up to 6 integer arguments: decimal or 0x hexadecimal, optionally negative (a negative
        /// hexadecimal one after `--`: `-- -0x10`).
        #[arg(num_args = 0..=6, allow_negative_numbers = true, value_parser = call::parse_int)]
        args: Vec<i64>,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = call::Ret::Int)]
        ret: call::Ret,
    },
}

/// FILE as the commands take it: a path, or a bare library name (no `/`) that is not a file in
/// the current directory, searched as `dlopen` searches it (`LD_LIBRARY_PATH`,
/// `/etc/ld.so.cache`, the default directories).
fn file_arg(file: PathBuf) -> PathBuf {
    let bare = file.to_str().filter(|s| !s.contains('/') && !file.exists());
    bare.and_then(dynplug_loader::find_library).unwrap_or(file)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect { file, json } => {
            let file = file_arg(file);
            if macho::is_macho(&file) {
                return macho::run(&file, json);
            }
            inspect::run(&file, json)
        }
        Command::Check {
            files,
            policy,
            json,
        } => {
            let loader = match policy.as_deref().map(policy::read).transpose() {
                Ok(names) => names.map_or_else(dynplug::Loader::new, |n| {
                    dynplug::Loader::new().allow_imports(n)
                }),
                Err(e) => {
                    eprintln!("dynplug: {e}");
                    return ExitCode::from(2);
                }
            };
            let files: Vec<PathBuf> = files.into_iter().map(file_arg).collect();
            inspect::check(&loader, &files, json)
        }
        Command::Call {
            file,
            symbol,
            args,
            ret,
        } => call::run(&file_arg(file), &symbol, &args, ret),
    }
}
