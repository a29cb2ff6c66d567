/* Loaded before macho_plugin.c by a host that exports no host_add: the plugin's flat import of
   host_add binds here (dyld's flat lookup searches the images loaded, in load order). */
int host_add(int a, int b) { return 100 * a + b; }
