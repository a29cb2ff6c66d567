// out: dlsub
/* Opened by dlsub_user.so with dlopen("dlsub_lib.so"): found only through the caller's
 * RUNPATH ($ORIGIN/dlsub). */
int dlsub_value(void) { return 77; }
