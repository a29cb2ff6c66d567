/* Identity: a plugin with an initialiser that counts its runs; a hard link to it is the same
 * file (glibc matches device and inode), so the same plugin, initialised once. */
static int inits;
__attribute__((constructor)) static void count_init(void) { inits++; }
int sc_hl_inits(void) { return inits; }
