/* Functions `dynplug call` calls in tests/cli.rs: integer arguments, a string, NULL, void. */
long cli_sum6(long a, long b, long c, long d, long e, long f) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}
long cli_negate(long a) { return -a; }
const char *cli_name(void) { return "dynplug \"cli\""; }
const char *cli_null(void) { return 0; }
long cli_variable = 5;
static int touched;
void cli_touch(void) { touched++; }
