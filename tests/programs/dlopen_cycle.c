// dlopen_cycle: loads and unloads two libraries in turn, the third load at
// the address of the first. Code mapped again where patched code was
// unmapped is patched anew (dynamic ticks), and replays the same.
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  for (int i = 0; i < 3; i++) {
    void *h = dlopen(i % 2 ? "libz.so.1" : "libbz2.so.1.0", RTLD_NOW);
    if (!h) { printf("no lib\n"); continue; }
    const char *(*v)(void) = (const char *(*)(void))dlsym(h, i % 2 ? "zlibVersion" : "BZ2_bzlibVersion");
    printf("%d %s\n", i, v ? v() : "?");
    dlclose(h);
  }
  return 0;
}
