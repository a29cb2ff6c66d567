//! `Loader`: options for opening plugins (host exports, import policy), and the dry run.

use core::ffi::c_void;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use dynplug_loader::{Image, Options, PluginImage, Policy};

use crate::error::Error;
use crate::plugin::Plugin;
use crate::registry::{self, Key};

/// Opens plugins with options. [`Plugin::open`] uses `Loader::new()`.
#[derive(Clone, Debug, Default)]
pub struct Loader {
    opts: Options,
    dirs: Vec<PathBuf>,
}

/// What a dry run ([`Loader::check`]) found.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// Every problem found; empty when the plugin would load.
    pub problems: Vec<Error>,
}

impl Report {
    /// True when the plugin would load.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What [`Loader::inspect`] found: the object's facts and the dry run's report.
#[derive(Debug)]
#[non_exhaustive]
pub struct Inspection {
    /// Header, segments, dependencies, exports, imports, relocations, TLS, initialisers (its
    /// `problems` are moved to `report`).
    pub facts: dynplug_loader::Inspection,
    /// What the dry run found ([`Loader::check`]).
    pub report: Report,
}

impl Loader {
    /// A loader with no host exports and no import policy.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Makes the host's function or variable at `addr` visible to plugins' imports as `name`,
    /// ahead of the process's own symbols.
    pub fn export(mut self, name: &str, addr: *const c_void) -> Loader {
        self.opts
            .exports
            .insert(name.as_bytes().to_vec(), addr as u64);
        self
    }

    /// Lets plugins import only `names` (and the host's exports). An open whose plugin imports
    /// anything else fails before any plugin code runs, naming every offending import. A weak
    /// import outside the policy is treated as absent (it binds to 0).
    pub fn allow_imports<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, names: I) -> Loader {
        let mut set = match self.opts.policy {
            Policy::Allow(s) => s,
            _ => HashSet::new(),
        };
        set.extend(names.into_iter().map(|n| n.as_ref().as_bytes().to_vec()));
        self.opts.policy = Policy::Allow(set);
        self
    }

    /// Adds a directory to search for libraries a plugin needs (after DT_RUNPATH, before
    /// /etc/ld.so.cache and the default directories).
    pub fn search_dir(mut self, dir: impl AsRef<Path>) -> Loader {
        self.dirs.push(dir.as_ref().to_path_buf());
        self
    }

    /// For plugins opened from memory ([`Loader::open_bytes`]): appends their functions to
    /// `/tmp/perf-PID.map` (`START SIZE name`, hex), where `perf report` looks up code outside
    /// file mappings. `DYNPLUG_PERFMAP=1` in the environment does the same for every loader.
    /// Plugins opened from files need nothing: perf reads their files.
    pub fn perf_map(mut self, on: bool) -> Loader {
        self.opts.perf_map = on;
        self
    }

    /// Lets plugins' imports bind to a library the system loader loaded after the program
    /// started (the host's own `dlopen`), named by soname, file name or path. Such libraries are
    /// not in the global scope otherwise, as under glibc for a library opened RTLD_LOCAL; this
    /// is RTLD_GLOBAL after the fact, for this loader's opens. Searched after the global scope
    /// (the executable, `LD_PRELOAD` and their DT_NEEDED closure). A name the process has no
    /// library for is ignored. (A plugin that *needs* such a library binds to it without this:
    /// its dependencies are in its own scope.)
    pub fn search_system_library(mut self, name: impl AsRef<[u8]>) -> Loader {
        self.opts.system_libraries.push(name.as_ref().to_vec());
        self
    }

    /// With `yes`, a plugin this loader opens joins the global scope with the libraries it needs
    /// (`RTLD_GLOBAL`, what Go's `plugin.Open` does): later plugins' imports bind to their
    /// exports. Off by default: a plugin's exports are seen only by itself and by what needs
    /// it, so two C plugins that both export `init` never capture each other's calls.
    /// [`Plugin::lookup`] searches only the plugin either way. A plugin open already (local)
    /// that this loader opens again joins the global scope then, as glibc promotes it.
    pub fn global(mut self, yes: bool) -> Loader {
        self.opts.global = yes;
        self
    }

    /// Forbids plugins to import `names`; anything else in scope is allowed.
    pub fn deny_imports<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, names: I) -> Loader {
        let mut set = match self.opts.policy {
            Policy::Deny(s) => s,
            _ => HashSet::new(),
        };
        set.extend(names.into_iter().map(|n| n.as_ref().as_bytes().to_vec()));
        self.opts.policy = Policy::Deny(set);
        self
    }

    /// Opens the shared object at `path` (Go's `plugin.Open` with this loader's options).
    ///
    /// # Safety
    /// Runs the plugin's initialisers: the plugin's code is trusted once opened.
    pub unsafe fn open(&self, path: impl AsRef<Path>) -> Result<&'static Plugin, Error> {
        let given = path.as_ref();
        // Opened first: the open file names itself canonically (cheaper than `realpath`), and
        // a new plugin is loaded from it; an open plugin's registration answers.
        let opened = dynplug_loader::file::open_canonical(given)
            .map_err(|e| Error::from_load(given.to_path_buf(), e))?;
        let dynplug_loader::file::Opened {
            file,
            len,
            canonical,
            id,
        } = opened;
        // A library the process has already (a plugin's dependency, or one the system loaded)
        // is that copy, as dlopen returns it: never a second one. Looked up outside the
        // registry: if another thread is still running its initialisers, this waits for them,
        // and they may open it too.
        let existing = Image::existing(&canonical, id);
        // Keyed by device and inode, as glibc matches an open object: a hard link to an open
        // plugin is that plugin.
        let key = Key::File(id);
        // A plugin loaded by this open was held to this loader's policy as it was linked; one
        // the process had already (opened by another loader, or loaded for a plugin) is held
        // to it now.
        let mut linked_here = false;
        let plugin = registry::open(key, &canonical, || {
            if let Some(image) = existing {
                return Ok(Plugin::new(&canonical, PluginImage::Elf(image)));
            }
            linked_here = true;
            // `$ORIGIN`: the directory of the path as given, as glibc takes it (a plugin
            // symlinked into a directory finds the libraries next to the link).
            let origin = origin_of(given)
                .or_else(|| canonical.parent().map(Path::to_path_buf))
                .unwrap_or_default();
            let opened = (file, len, id);
            let image = PluginImage::open_file(&canonical, &origin, opened, &self.opts, &self.dirs)
                .map_err(|e| Error::from_load(canonical.clone(), e))?;
            Ok(Plugin::new(&canonical, image))
        })?;
        if !linked_here {
            self.held_to_policy(plugin)?;
        }
        self.promote(plugin);
        Ok(plugin)
    }

    /// With [`Loader::global`], a plugin open already (local) joins the global scope too, as
    /// glibc promotes an object opened again with RTLD_GLOBAL.
    fn promote(&self, plugin: &Plugin) {
        if self.opts.global {
            plugin.join_global_scope();
        }
    }

    /// `plugin` (opened before) if it and the libraries dynplug loaded for it import nothing
    /// this loader's policy forbids.
    fn held_to_policy(&self, plugin: &'static Plugin) -> Result<&'static Plugin, Error> {
        let imports = plugin.breaches(&self.opts);
        if imports.is_empty() {
            return Ok(plugin);
        }
        Err(Error::ImportsNotAllowed {
            path: plugin.path().into(),
            imports,
        })
    }

    /// Opens a plugin from `bytes`, registered under `name`: no file is involved. Its segments
    /// live in anonymous mappings with the same protections as file-backed ones.
    ///
    /// # Safety
    /// Runs the plugin's initialisers: the plugin's code is trusted once opened.
    pub unsafe fn open_bytes(&self, name: &str, bytes: &[u8]) -> Result<&'static Plugin, Error> {
        let path = PathBuf::from(name);
        let mut linked_here = false;
        let plugin = registry::open(Key::Memory(name.to_string()), &path, || {
            linked_here = true;
            let image = PluginImage::from_bytes(bytes, &self.opts, &self.dirs)
                .map_err(|e| Error::from_load(path.clone(), e))?;
            Ok(Plugin::new(&path, image))
        })?;
        if !linked_here {
            self.held_to_policy(plugin)?;
        }
        self.promote(plugin);
        Ok(plugin)
    }

    /// Dry run of the file at `path`: every problem an open would meet, without mapping or running
    /// anything (none for a library the process already has: an open returns that copy). `Err`
    /// only if the file cannot be read or is not ELF.
    pub fn check(&self, path: impl AsRef<Path>) -> Result<Report, Error> {
        let path = path.as_ref().to_path_buf();
        let opened = dynplug_loader::file::open_canonical(&path)
            .map_err(|e| Error::from_load(path.clone(), e))?;
        let bytes = dynplug_loader::FileBytes::new(&opened.file)
            .map_err(|e| Error::from_load(path.clone(), e))?;
        let canonical = opened.canonical;
        // An open returns the copy the process has: it meets no problem but the imports this
        // loader's policy forbids, of the plugin and of the libraries loaded for it. (A dry run
        // of the file as a second copy would bind its own symbols to the first.)
        let key = Key::File(opened.id);
        let open = match registry::get(&key) {
            Some(p) => Some(p.breaches(&self.opts)),
            None => Image::loaded_breaches(&canonical, opened.id, &self.opts),
        };
        if let Some(imports) = open {
            let problems = if imports.is_empty() {
                Vec::new()
            } else {
                vec![Error::ImportsNotAllowed {
                    path: canonical.as_path().into(),
                    imports,
                }]
            };
            return Ok(Report { problems });
        }
        self.check_in(path, Some(&canonical), bytes.as_ref())
    }

    /// Everything `dynplug inspect` shows of the file at `path`: its headers, segments,
    /// dependencies and where each is found, exports, imports and what each binds to (with this
    /// loader's exports and policy), relocation counts, TLS, initialisers, and the dry run's
    /// problems. Nothing is mapped or run. `Err` only if the file cannot be read or is not ELF.
    pub fn inspect(&self, path: impl AsRef<Path>) -> Result<Inspection, Error> {
        let path = path.as_ref().to_path_buf();
        let fail = |e| Error::from_load(path.clone(), e);
        let opened = dynplug_loader::file::open_canonical(&path).map_err(fail)?;
        let bytes = dynplug_loader::FileBytes::new(&opened.file).map_err(fail)?;
        let canonical = opened.canonical;
        let mut facts =
            dynplug_loader::inspect(bytes.as_ref(), Some(&canonical), &self.opts, &self.dirs)
                .map_err(fail)?;
        let problems = std::mem::take(&mut facts.problems);
        // As for `check`: an open of a library the process has returns that copy.
        let problems = if Image::is_loaded(&canonical, opened.id) {
            Vec::new()
        } else {
            problems.into_iter().map(fail).collect()
        };
        Ok(Inspection {
            facts,
            report: Report { problems },
        })
    }

    /// Dry run of `bytes`: see [`Loader::check`].
    pub fn check_bytes(&self, bytes: &[u8]) -> Result<Report, Error> {
        self.check_in(PathBuf::from("<bytes>"), None, bytes)
    }

    fn check_in(&self, path: PathBuf, file: Option<&Path>, bytes: &[u8]) -> Result<Report, Error> {
        let problems = dynplug_loader::check(bytes, file, &self.opts, &self.dirs)
            .map_err(|e| Error::from_load(path.clone(), e))?;
        Ok(Report {
            problems: problems
                .into_iter()
                .map(|e| Error::from_load(path.clone(), e))
                .collect(),
        })
    }
}

/// The directory of `given` made absolute (`$ORIGIN`, glibc's rule: symlinks not resolved), as
/// `std::path::absolute` and `Path::parent` give it. An absolute path already in that normal
/// form (no `.` component, no repeated or trailing `/`: the usual case) is cut at its last `/`
/// without either (they cost 3k instructions, 5% of an open of a small plugin).
fn origin_of(given: &Path) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let b = given.as_os_str().as_bytes();
    // Absolute, and no empty or `.` component (no `//`, `/./`, trailing `/` or `/.`): one pass.
    let normal = b.strip_prefix(b"/").is_some_and(|rest| {
        rest.split(|&c| c == b'/')
            .all(|c| !c.is_empty() && c != b".")
    });
    if normal {
        let cut = b.iter().rposition(|&c| c == b'/')?;
        let dir = b.get(..cut.max(1))?;
        return Some(PathBuf::from(std::ffi::OsStr::from_bytes(dir)));
    }
    std::path::absolute(given)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

#[cfg(test)]
mod tests {
    use super::origin_of;
    use std::path::Path;

    /// The short cut answers what `std::path::absolute` and `Path::parent` answer.
    #[test]
    fn origin_matches_the_general_rule() {
        for p in [
            "/a",
            "/a/b",
            "/a/b/c.so",
            "/a/../b.so",
            "/a/b/..",
            "/a/.b/c",
            "/",
            "/a/",
            "/a/.",
            "/a//b",
            "/./a",
            "//a/b",
            "/a/./b",
            "rel/x.so",
            "x.so",
            "./x.so",
            "../x.so",
        ] {
            let general = std::path::absolute(p)
                .ok()
                .and_then(|a| a.parent().map(Path::to_path_buf));
            assert_eq!(origin_of(Path::new(p)), general, "{p}");
        }
    }
}
