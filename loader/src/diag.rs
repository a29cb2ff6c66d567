//! The problems linking one module finds, named by that module as they are found: one sink that
//! holds the keep-going policy (a cap) and the context, as Fuchsia's elfldltl `Diagnostics`
//! does, instead of lists kept apart and renamed afterwards.

use std::path::Path;

use crate::error::{LoadError, Unsupported};

/// Most problems one module reports (a hostile file could have millions).
const MAX_PROBLEMS: usize = 64;

/// The module problems are about.
#[derive(Clone, Copy, Debug, Default)]
pub struct Subject<'n> {
    /// Its path (`None`: from bytes).
    pub path: Option<&'n Path>,
    /// A library loaded for the plugin, not the plugin itself (whose errors are about it
    /// already): the imports it lacks are named "(in PATH)".
    pub dependency: bool,
}

impl Subject<'_> {
    /// Its name in errors.
    pub fn name(&self) -> String {
        self.path
            .map_or_else(|| "<bytes>".to_string(), |p| p.display().to_string())
    }

    /// `e`, found in this module, with the module named where the error names one.
    pub fn named(&self, e: LoadError) -> LoadError {
        match e {
            LoadError::Unsupported(Unsupported::InitialExecTls { symbol, why, .. }) => {
                Unsupported::InitialExecTls {
                    symbol,
                    module: self.name(),
                    why,
                }
                .into()
            }
            e => e,
        }
    }

    /// An import of this module, as a list of imports names it.
    fn import(&self, symbol: String) -> String {
        if self.dependency {
            format!("{symbol} (in {})", self.name())
        } else {
            symbol
        }
    }
}

/// What linking one module found.
#[derive(Debug, Default)]
pub struct Diag<'n> {
    subject: Subject<'n>,
    problems: Vec<LoadError>,
    missing: Vec<String>,
    forbidden: Vec<String>,
}

impl<'n> Diag<'n> {
    /// An empty sink for `subject`'s problems.
    pub fn new(subject: Subject<'n>) -> Self {
        Diag {
            subject,
            ..Diag::default()
        }
    }

    /// A problem (past the cap, dropped: the first ones say what is wrong).
    pub fn problem(&mut self, e: impl Into<LoadError>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(self.subject.named(e.into()));
        }
    }

    /// An import nothing in scope defines (`name` or `name@VERSION`).
    pub fn missing(&mut self, symbol: String) {
        self.missing.push(self.subject.import(symbol));
    }

    /// An import the policy refuses.
    pub fn forbidden(&mut self, symbol: String) {
        self.forbidden.push(self.subject.import(symbol));
    }

    /// Ends the imports: the refused ones become one problem, and, if `report_missing`, the
    /// missing ones another (every import in one error, not the first).
    pub fn close_imports(&mut self, report_missing: bool) {
        if !self.forbidden.is_empty() {
            let list = std::mem::take(&mut self.forbidden);
            self.problems.push(LoadError::ImportsNotAllowed(list));
        }
        let missing = std::mem::take(&mut self.missing);
        if !missing.is_empty() && report_missing {
            self.problems.push(LoadError::UndefinedSymbols(missing));
        }
    }

    /// Everything found, in the order found.
    pub fn into_problems(self) -> Vec<LoadError> {
        self.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StaticTlsRefusal;

    fn dependency() -> Subject<'static> {
        Subject {
            path: Some(Path::new("/lib/libd.so")),
            dependency: true,
        }
    }

    #[test]
    fn a_dependency_s_imports_name_it_and_the_plugin_s_do_not() {
        let mut d = Diag::new(dependency());
        d.missing("f".into());
        d.forbidden("getpid".into());
        d.close_imports(true);
        let p = d.into_problems();
        assert!(
            matches!(&p[0], LoadError::ImportsNotAllowed(l) if l == &["getpid (in /lib/libd.so)"])
        );
        assert!(matches!(&p[1], LoadError::UndefinedSymbols(l) if l == &["f (in /lib/libd.so)"]));
        let mut plugin = Diag::new(Subject::default());
        plugin.missing("f".into());
        plugin.close_imports(true);
        let p = plugin.into_problems();
        assert!(matches!(&p[0], LoadError::UndefinedSymbols(l) if l == &["f"]));
    }

    #[test]
    fn missing_imports_are_left_out_when_not_reported() {
        let mut d = Diag::new(dependency());
        d.missing("f".into());
        d.close_imports(false);
        assert!(d.into_problems().is_empty());
    }

    #[test]
    fn initial_exec_tls_names_the_module_even_the_plugin() {
        let mut d = Diag::new(Subject {
            path: Some(Path::new("/p/plugin.so")),
            dependency: false,
        });
        d.problem(Unsupported::InitialExecTls {
            symbol: "x".into(),
            module: String::new(),
            why: StaticTlsRefusal::InitialisedData,
        });
        let p = d.into_problems();
        assert!(matches!(
            &p[0],
            LoadError::Unsupported(Unsupported::InitialExecTls { module, .. }) if module == "/p/plugin.so"
        ));
    }

    #[test]
    fn problems_past_the_cap_are_dropped() {
        let mut d = Diag::new(Subject::default());
        for _ in 0..MAX_PROBLEMS + 10 {
            d.problem(Unsupported::ThreadLocalStorage { what: "t" });
        }
        assert_eq!(d.into_problems().len(), MAX_PROBLEMS);
    }
}
