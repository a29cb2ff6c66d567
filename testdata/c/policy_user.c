// build: $OUT/a_policy_getpid.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* A plugin that imports nothing forbidden itself, but needs a_policy_getpid.so. */
extern int policy_pid(void);
int policy_user_pid(void) { return policy_pid(); }
