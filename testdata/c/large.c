/* A large object: 1000 of each relocation the compiler emits, checked entry by entry.
 * - rel[i]   = &data[i]        RELATIVE (pointers into .data)
 * - fptr[i]  = f_i             R_X86_64_64 against exported (preemptible) functions
 * - got_addr(i) = &f_i in code GLOB_DAT (address through the GOT)
 * - call_all() = sum of g_i()  JUMP_SLOT (calls through the PLT), g_i and f_i return i */
#define R10(m, p) m(p##0) m(p##1) m(p##2) m(p##3) m(p##4) m(p##5) m(p##6) m(p##7) m(p##8) m(p##9)
#define R100(m, p) R10(m, p##0) R10(m, p##1) R10(m, p##2) R10(m, p##3) R10(m, p##4) \
    R10(m, p##5) R10(m, p##6) R10(m, p##7) R10(m, p##8) R10(m, p##9)
#define R1000(m) R100(m, 1) R100(m, 2) R100(m, 3) R100(m, 4) R100(m, 5) R100(m, 6) R100(m, 7) \
    R100(m, 8) R100(m, 9) R100(m, 0)

/* n is three digits (maybe with a leading 0): 1##n - 1000 is its value. */
#define DEF(n) int f_##n(void) { return 1##n - 1000; }
R1000(DEF)
/* g_n: called only (never address-taken), so that calls bind through JUMP_SLOT entries; ld
 * routes PLT calls of address-taken functions through their GLOB_DAT GOT entry instead. */
#define DEFG(n) int g_##n(void) { return 1##n - 1000; }
R1000(DEFG)

static int data[1000];
#define REL(n) &data[1##n - 1000],
int *rel[] = { R1000(REL) };

#define FPTR(n) f_##n,
int (*fptr[])(void) = { R1000(FPTR) };

#define GOT(n) case 1##n - 1000: return (void *)&f_##n;
/* Addresses taken in code go through the GOT (GLOB_DAT) in PIC code. */
void *got_addr(int i) {
    switch (i) {
        R1000(GOT)
    }
    return 0;
}

#define CALL(n) sum += g_##n();
long call_all(void) {
    long sum = 0;
    R1000(CALL)
    return sum;
}

int large_count(void) { return 1000; }

/* Entry by entry: each relocated pointer against what the code computes without relocations
 * (RIP-relative addressing), returning the number of mismatches. */
int check_rel(void) {
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        int n = (i < 900) ? i + 100 : i - 900; /* R1000 lists 100..999 then 0..99 */
        if (rel[i] != &data[n]) bad++;
    }
    return bad;
}
