// build: -Wl,-z,pack-relative-relocs
/* DT_RELR (packed relative relocations) in each of its shapes, checked entry by entry by
 * tests/relr.rs: a pointer into static data is a RELATIVE relocation, which
 * -z pack-relative-relocs encodes as
 * - relr_dense[i] = &data[i], 512 consecutive words: an address entry, then bitmaps of 63 words;
 * - relr_sparse[i].p = &data[i], one pointer every third word: bitmaps with holes, and the
 *   words in the holes (x = i, y = -1) must be left alone;
 * - relr_far[i].p = &data[i], 100 words apart: beyond a bitmap's reach, an address entry each. */
#define N 512
static int data[N];

#define IDX(a, b, c) ((a) * 64 + (b) * 8 + (c))
#define E1(m, a, b) m(a, b, 0) m(a, b, 1) m(a, b, 2) m(a, b, 3) m(a, b, 4) m(a, b, 5) m(a, b, 6) m(a, b, 7)
#define E2(m, a) E1(m, a, 0) E1(m, a, 1) E1(m, a, 2) E1(m, a, 3) E1(m, a, 4) E1(m, a, 5) E1(m, a, 6) E1(m, a, 7)
#define E3(m) E2(m, 0) E2(m, 1) E2(m, 2) E2(m, 3) E2(m, 4) E2(m, 5) E2(m, 6) E2(m, 7)

#define DENSE(a, b, c) &data[IDX(a, b, c)],
int *relr_dense[N] = {E3(DENSE)};

struct sparse { int *p; long x, y; };
#define SPARSE(a, b, c) {&data[IDX(a, b, c)], IDX(a, b, c), -1},
struct sparse relr_sparse[N] = {E3(SPARSE)};

struct far { int *p; long pad[99]; };
#define FAR(a, b, c) {&data[IDX(a, b, c)], {0}},
struct far relr_far[64] = {E2(FAR, 0)};

/* The data's address computed RIP-relative (no relocation involved). */
int *relr_base(void) { return data; }
int relr_count(void) { return N; }

/* Mismatches counted by the plugin itself. */
int relr_check(void) {
    int bad = 0;
    for (int i = 0; i < N; i++) {
        if (relr_dense[i] != &data[i]) bad++;
        if (relr_sparse[i].p != &data[i] || relr_sparse[i].x != i || relr_sparse[i].y != -1) bad++;
        if (i < 64 && relr_far[i].p != &data[i]) bad++;
    }
    return bad;
}
