// build: -Wl,-soname,a_init_dep.so
/* Defines the function init_elsewhere.so lists in its DT_INIT_ARRAY (tests/core.rs). */
static int marks;
void init_dep_mark(void) { marks++; }
int init_dep_marks(void) { return marks; }
