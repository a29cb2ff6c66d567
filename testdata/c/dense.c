// build: -fno-toplevel-reorder
/* Many RELATIVE relocations, in blocks the loader faults in at once (one call for the pages of a
 * dense run of places) and one it must not: 12288 pointers, then an array of 4096 slots with a
 * pointer only in its first and last (the pages between are never written), then 8192 more
 * pointers. tests/prefault.rs checks every pointer and that no page beyond the written ones
 * became private. */
#define R4(...) __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__
#define R16(...) R4(R4(__VA_ARGS__))
#define R256(...) R16(R16(__VA_ARGS__))
#define R4096(...) R16(R256(__VA_ARGS__))

/* Hidden: a pointer to it is a RELATIVE relocation (to an exported one, a symbolic one). */
__attribute__((visibility("hidden"))) int target[3];
int *target_at(int i) { return &target[i]; }
int *dense_a[12288] = {R4096(&target[0]), R4096(&target[0]), R4096(&target[0])};
int *sparse[4096] = {[0] = &target[1], [4095] = &target[1]};
int *dense_b[8192] = {R4096(&target[2]), R4096(&target[2])};
