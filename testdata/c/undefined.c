/* Two imports nothing defines: the open fails with one error naming both. */
extern int dynplug_missing_one(void);
extern int dynplug_missing_two(void);
int use_missing(void) { return dynplug_missing_one() + dynplug_missing_two(); }
