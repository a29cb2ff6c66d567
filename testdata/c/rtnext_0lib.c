// build: -Wl,-soname,rtnext_0lib.so
/* The library rtnext_user.so needs: a second definition of `which`. */
int which(void) { return 2; }
