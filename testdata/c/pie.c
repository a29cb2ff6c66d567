// build: -pie
/* A position-independent executable (-pie wins over -shared: the result has DF_1_PIE and a
 * PT_INTERP, and runs). dlopen refuses it; dynplug too, by that flag (tests/core.rs). */
int pie_answer(void) { return 7; }

int main(void) { return pie_answer() == 7 ? 0 : 1; }
