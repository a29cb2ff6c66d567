/* Links against the outer library only: inner_value is bound to it (two-level), found in the library it re-exports. */
extern int inner_value(void);
int through_reexport(void) { return inner_value() + 1; }
