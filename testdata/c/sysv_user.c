// build: $OUT/large_sysv_hash.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* Imports the 2000 functions of large_sysv_hash.so, a library with only a SysV hash table:
 * dynplug loads it as a dependency and resolves each import (R_X86_64_64 for the table,
 * JUMP_SLOT for the calls) by name through its DT_HASH buckets and chains. */
#define R10(m, p) m(p##0) m(p##1) m(p##2) m(p##3) m(p##4) m(p##5) m(p##6) m(p##7) m(p##8) m(p##9)
#define R100(m, p) R10(m, p##0) R10(m, p##1) R10(m, p##2) R10(m, p##3) R10(m, p##4) \
    R10(m, p##5) R10(m, p##6) R10(m, p##7) R10(m, p##8) R10(m, p##9)
#define R1000(m) R100(m, 1) R100(m, 2) R100(m, 3) R100(m, 4) R100(m, 5) R100(m, 6) R100(m, 7) \
    R100(m, 8) R100(m, 9) R100(m, 0)

#define DECL(n) extern int f_##n(void); extern int g_##n(void);
R1000(DECL)

/* sysv_fptr lists f_100..f_999 then f_000..f_099. */
#define FPTR(n) f_##n,
int (*sysv_fptr[])(void) = {R1000(FPTR)};

#define CALL(n) sum += g_##n();
long sysv_call_all(void) {
    long sum = 0;
    R1000(CALL)
    return sum;
}
