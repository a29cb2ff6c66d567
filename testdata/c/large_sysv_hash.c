// build: -Wl,--hash-style=sysv -Wl,-soname,large_sysv_hash.so
/* large.c with only a SysV hash table (DT_HASH, no DT_GNU_HASH). Opened itself, its 2000
 * functions are looked up by name; as sysv_user.so's dependency, sysv_user.so's 2000 imports are
 * resolved through its DT_HASH buckets and chains. */
#include "large.c"
