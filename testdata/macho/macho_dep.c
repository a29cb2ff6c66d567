/* The second image macho_plugin.c links against (two-level binds with ordinal 1). */
int dep_value = 5;
int dep_mul(int a, int b) { return a * b; }
