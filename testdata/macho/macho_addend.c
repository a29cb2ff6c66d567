/* Binds with addends: small ones fit the chained pointer, 100000 and -100000 need
   DYLD_CHAINED_IMPORT_ADDEND, and with -DHUGE 0x123456789 needs DYLD_CHAINED_IMPORT_ADDEND64. */
extern int host_counter;
extern char host_buf[];
int *p_small = &host_counter + 2;
char *p_big = host_buf + 100000;
char *p_neg = host_buf - 100000;
#ifdef HUGE
char *p_huge = host_buf + 0x123456789LL;
#endif
