/* The other half of the cycle of macho_cycle_a.c (it also defines the shared turn counter). */
extern int a_value;
int b_value = 2;
int b_turn;
int init_turns;
int b_get_a(void) { return a_value; }
__attribute__((constructor)) static void init_b(void) { b_turn = ++init_turns; }
