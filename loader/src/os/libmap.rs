//! FreeBSD's `/etc/libmap.conf` (`libmap.conf(5)`, `libexec/rtld-elf/libmap.c`): library names
//! its rtld replaces before searching, for every program or for those a section names.
//!
//! A line is `from to` (two words; `#` starts a comment), `include FILE`, `includedir DIR` (its
//! regular `*.conf` files), or `[selector]`, which starts a section for the objects whose path
//! ends in that basename (no `/`), lies in that directory (ending in `/`), or is that exact path.
//! Lines before any section apply to all. rtld looks a name up in the section matching the
//! requesting object first, then among those for all; a later mapping of the same name wins, as
//! does a later section of the same selector. `LD_LIBMAP` adds mappings (`from=to,...`) after
//! the file's, `LD_LIBMAP_DISABLE` turns it all off.

use std::path::{Path, PathBuf};

/// The system's file.
pub const PATH: &str = "/etc/libmap.conf";

/// Files read at most, `include`s and `includedir`s counted: bounds a cycle of includes.
const MAX_FILES: usize = 64;

/// Which objects a section applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Selector {
    /// Every object (lines before any section).
    All,
    /// Objects with this exact path.
    Exact(Vec<u8>),
    /// Objects whose path starts with this directory (it ends in `/`).
    Directory(Vec<u8>),
    /// Objects whose file name is this.
    Basename(Vec<u8>),
}

impl Selector {
    fn of(word: &[u8]) -> Selector {
        if word.ends_with(b"/") {
            Selector::Directory(word.to_vec())
        } else if word.contains(&b'/') {
            Selector::Exact(word.to_vec())
        } else {
            Selector::Basename(word.to_vec())
        }
    }

    fn matches(&self, path: &[u8]) -> bool {
        match self {
            Selector::All => true,
            Selector::Exact(p) => path == p.as_slice(),
            Selector::Directory(d) => path.starts_with(d),
            Selector::Basename(b) => path.rsplit(|&c| c == b'/').next() == Some(b.as_slice()),
        }
    }
}

/// One mapping: (from, to).
type Mapping = (Vec<u8>, Vec<u8>);

/// The sections read, in the order made (the first: for all), each with its mappings in the
/// order read.
#[derive(Clone, Debug)]
pub struct LibMap {
    sections: Vec<(Selector, Vec<Mapping>)>,
}

impl Default for LibMap {
    fn default() -> Self {
        LibMap {
            sections: vec![(Selector::All, Vec::new())],
        }
    }
}

impl LibMap {
    /// Adds a mapping to the section of `selector`: the latest section that selects the
    /// selector's own text (rtld's `lm_add` looks it up so), else a new one.
    fn add(&mut self, selector: &Selector, from: &[u8], to: &[u8]) {
        let text = match selector {
            Selector::All => None,
            Selector::Exact(t) | Selector::Directory(t) | Selector::Basename(t) => Some(t),
        };
        let at = match text {
            None => Some(0),
            Some(t) => {
                (self.sections.iter()).rposition(|(s, _)| *s != Selector::All && s.matches(t))
            }
        };
        let at = at.unwrap_or_else(|| {
            self.sections.push((selector.clone(), Vec::new()));
            self.sections.len() - 1
        });
        if let Some((_, list)) = self.sections.get_mut(at) {
            list.push((from.to_vec(), to.to_vec()));
        }
    }

    /// Reads the file at `path` and what it includes (unreadable files are skipped, as rtld
    /// skips them).
    pub fn read(path: &Path) -> LibMap {
        let mut map = LibMap::default();
        let mut seen = Vec::new();
        map.read_file(path, &mut seen);
        map
    }

    fn read_file(&mut self, path: &Path, seen: &mut Vec<PathBuf>) {
        if seen.len() >= MAX_FILES || seen.iter().any(|p| p == path) {
            return;
        }
        seen.push(path.to_path_buf());
        if let Ok(text) = std::fs::read(path) {
            self.parse(&text, &mut |inc, map| map.include(inc, seen));
        }
    }

    fn include(&mut self, inc: Include<'_>, seen: &mut Vec<PathBuf>) {
        use std::os::unix::ffi::OsStrExt;
        match inc {
            Include::File(f) => self.read_file(Path::new(std::ffi::OsStr::from_bytes(f)), seen),
            Include::Dir(d) => {
                let Ok(list) = std::fs::read_dir(std::ffi::OsStr::from_bytes(d)) else {
                    return;
                };
                for e in list.flatten() {
                    let regular = e.file_type().is_ok_and(|t| t.is_file());
                    if regular && e.path().extension().is_some_and(|x| x == "conf") {
                        self.read_file(&e.path(), seen);
                    }
                }
            }
        }
    }

    /// Adds the mappings of the text `text`; `include` is handed each `include`/`includedir`
    /// line (where it stands: what it adds comes before the lines after it).
    pub fn parse(&mut self, text: &[u8], include: &mut dyn FnMut(Include<'_>, &mut LibMap)) {
        let mut section = Selector::All;
        for line in text.split(|&c| c == b'\n') {
            let line = line.split(|&c| c == b'#').next().unwrap_or_default();
            let words: Vec<&[u8]> = line
                .split(|&c| c == b' ' || c == b'\t' || c == b'\r')
                .filter(|w| !w.is_empty())
                .collect();
            if line.trim_ascii_start().starts_with(b"[") {
                if let Some(s) = selector(line) {
                    section = s;
                }
                continue;
            }
            match words.as_slice() {
                [b"include", f] => include(Include::File(f), self),
                [b"includedir", d] => include(Include::Dir(d), self),
                [from, to] => self.add(&section, from, to),
                _ => {}
            }
        }
    }

    /// Adds `LD_LIBMAP`'s mappings (`from=to,from=to`), for every object.
    pub fn parse_override(&mut self, value: &[u8]) {
        let text: Vec<u8> = value
            .iter()
            .map(|&c| match c {
                b'=' => b' ',
                b',' => b'\n',
                c => c,
            })
            .collect();
        self.parse(&text, &mut |_, _| {});
    }

    /// The name `name` is replaced by for the object at `requester` (`None`: from no file):
    /// in the latest section that selects it (only that one, as rtld's `lmp_find`), else among
    /// the mappings for all; the latest mapping of the name.
    pub fn find(&self, requester: Option<&[u8]>, name: &[u8]) -> Option<&[u8]> {
        let latest = |list: &'_ [Mapping]| -> Option<usize> {
            list.iter().rposition(|(from, _)| from.as_slice() == name)
        };
        let scoped = requester.and_then(|path| {
            let (_, list) = (self.sections.iter().skip(1).rev()).find(|(s, _)| s.matches(path))?;
            Some(&list.get(latest(list)?)?.1)
        });
        let all = || {
            let (_, list) = self.sections.first()?;
            Some(&list.get(latest(list)?)?.1)
        };
        scoped.or_else(all).map(Vec::as_slice)
    }
}

/// An `include` or `includedir` line's argument.
#[derive(Clone, Copy, Debug)]
pub enum Include<'a> {
    /// A file to read.
    File(&'a [u8]),
    /// A directory whose `*.conf` files to read.
    Dir(&'a [u8]),
}

/// The selector of a `[word]` line, if well formed: one word, the closing bracket, nothing
/// after it but blanks (rtld ignores the line otherwise, keeping the current section).
fn selector(line: &[u8]) -> Option<Selector> {
    let inner = line.trim_ascii().strip_prefix(b"[")?;
    let close = inner.iter().position(|&c| c == b']')?;
    let (word, after) = (inner.get(..close)?.trim_ascii(), inner.get(close + 1..)?);
    let one_word = !word.is_empty() && !word.iter().any(|c| c.is_ascii_whitespace());
    (one_word && after.trim_ascii().is_empty()).then(|| Selector::of(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> LibMap {
        let mut m = LibMap::default();
        m.parse(text.as_bytes(), &mut |_, _| {});
        m
    }

    fn find<'m>(m: &'m LibMap, who: &str, name: &str) -> Option<&'m str> {
        let who = (!who.is_empty()).then_some(who.as_bytes());
        m.find(who, name.as_bytes())
            .map(|t| std::str::from_utf8(t).unwrap())
    }

    #[test]
    fn sections_apply_to_the_objects_they_select_then_the_global_mappings() {
        let m = parsed(
            "# for all\n libfoo.so.1\tlibbar.so.1  # comment\n\
             [/usr/local/bin/app]\nlibfoo.so.1 /opt/exact.so\n\
             [mozilla]\nlibz.so.6 libz-moz.so\n\
             [/usr/local/lib/]\nlibz.so.6 libz-local.so\n",
        );
        assert_eq!(find(&m, "/bin/ls", "libfoo.so.1"), Some("libbar.so.1"));
        assert_eq!(find(&m, "", "libfoo.so.1"), Some("libbar.so.1"));
        assert_eq!(
            find(&m, "/usr/local/bin/app", "libfoo.so.1"),
            Some("/opt/exact.so")
        );
        assert_eq!(
            find(&m, "/usr/local/bin/app2", "libfoo.so.1"),
            Some("libbar.so.1")
        );
        assert_eq!(find(&m, "/opt/mozilla", "libz.so.6"), Some("libz-moz.so"));
        assert_eq!(
            find(&m, "/usr/local/lib/libx.so", "libz.so.6"),
            Some("libz-local.so")
        );
        assert_eq!(find(&m, "/usr/lib/libx.so", "libz.so.6"), None);
        assert_eq!(find(&m, "/bin/ls", "libc.so.7"), None);
    }

    #[test]
    fn only_the_latest_section_selecting_an_object_is_asked_and_one_selecting_another_s_text_joins_it(
    ) {
        let m = parsed(
            "[/usr/local/lib/]\nliba.so dir.so\n[libx.so]\nlibb.so base.so\n\
             [/usr/local/lib/liby.so]\nlibc.so joined.so\n",
        );
        // libx.so in /usr/local/lib/: the basename section is the later one; liba.so is not in
        // it, and the directory section is not asked.
        assert_eq!(
            find(&m, "/usr/local/lib/libx.so", "libb.so"),
            Some("base.so")
        );
        assert_eq!(find(&m, "/usr/local/lib/libx.so", "liba.so"), None);
        // [/usr/local/lib/liby.so] lies in the directory section's selector: it joined it.
        assert_eq!(
            find(&m, "/usr/local/lib/libz.so", "libc.so"),
            Some("joined.so")
        );
    }

    #[test]
    fn a_later_mapping_wins_and_malformed_lines_are_ignored() {
        let m = parsed(
            "liba.so first.so\nliba.so second.so\n\
             libb.so one two\nlibc.so\n[ ]\n[unclosed\nlibd.so d.so\n[two words]\nlibe.so e.so\n",
        );
        assert_eq!(find(&m, "/x", "liba.so"), Some("second.so"));
        assert_eq!(find(&m, "/x", "libb.so"), None);
        assert_eq!(find(&m, "/x", "libc.so"), None);
        // Neither malformed selector started a section: these stay global.
        assert_eq!(find(&m, "/x", "libd.so"), Some("d.so"));
        assert_eq!(find(&m, "/x", "libe.so"), Some("e.so"));
    }

    #[test]
    fn includes_are_read_where_they_stand_and_a_cycle_ends() {
        let dir = std::env::temp_dir().join(format!("dynplug-libmap-{}", std::process::id()));
        let confd = dir.join("conf.d");
        std::fs::create_dir_all(&confd).unwrap();
        let main = dir.join("libmap.conf");
        std::fs::write(
            &main,
            format!(
                "liba.so main.so\ninclude {0}/other\nincludedir {0}/conf.d\n",
                dir.display()
            ),
        )
        .unwrap();
        // `other` includes the main file back: read once each.
        std::fs::write(
            dir.join("other"),
            format!(
                "liba.so other.so\nlibb.so b.so\ninclude {}\n",
                main.display()
            ),
        )
        .unwrap();
        std::fs::write(confd.join("x.conf"), "libc.so c.so\n").unwrap();
        std::fs::write(confd.join("x.txt"), "libd.so d.so\n").unwrap();
        let m = LibMap::read(&main);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(find(&m, "/x", "liba.so"), Some("other.so"));
        assert_eq!(find(&m, "/x", "libb.so"), Some("b.so"));
        assert_eq!(find(&m, "/x", "libc.so"), Some("c.so"));
        assert_eq!(
            find(&m, "/x", "libd.so"),
            None,
            "only *.conf files of a directory"
        );
    }

    #[test]
    fn ld_libmap_adds_global_mappings() {
        let mut m = parsed("liba.so file.so\n");
        m.parse_override(b"liba.so=env.so,libb.so=b.so");
        assert_eq!(find(&m, "/x", "liba.so"), Some("env.so"));
        assert_eq!(find(&m, "/x", "libb.so"), Some("b.so"));
    }
}
