/* Two libraries that need each other (libmacho_cycle_a <-> libmacho_cycle_b): a cycle a loader
   must end. Each reads the other's variable; each initialiser records its turn. */
extern int b_value;
extern int init_turns;
int a_value = 1;
int a_turn;
int a_get_b(void) { return b_value; }
__attribute__((constructor)) static void init_a(void) { a_turn = ++init_turns; }
