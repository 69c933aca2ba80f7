// auxv_env: what the kernel hands a new process: the auxiliary vector
// (AT_RANDOM bytes, page size, hwcaps, entry, phdr, vDSO, ...), argv and
// some environment variables. Replay must present the recorded ones.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>

int main(int argc, char** argv) {
  const unsigned char* rnd = (const unsigned char*)getauxval(AT_RANDOM);
  printf("AT_RANDOM:");
  for (int i = 0; i < 16; i++) printf("%02x", rnd[i]);
  printf("\n");
  static const struct { const char* name; unsigned long type; } keys[] = {
      {"AT_PAGESZ", AT_PAGESZ}, {"AT_HWCAP", AT_HWCAP},   {"AT_HWCAP2", AT_HWCAP2},
      {"AT_CLKTCK", AT_CLKTCK}, {"AT_ENTRY", AT_ENTRY},   {"AT_PHDR", AT_PHDR},
      {"AT_PHNUM", AT_PHNUM},   {"AT_BASE", AT_BASE},     {"AT_SYSINFO_EHDR", AT_SYSINFO_EHDR},
      {"AT_UID", AT_UID},       {"AT_EUID", AT_EUID},     {"AT_GID", AT_GID},
      {"AT_SECURE", AT_SECURE}, {"AT_FLAGS", AT_FLAGS},   {"AT_MINSIGSTKSZ", 51},
  };
  for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++)
    printf("%s: %#lx\n", keys[i].name, getauxval(keys[i].type));
  const char* execfn = (const char*)getauxval(AT_EXECFN);
  const char* platform = (const char*)getauxval(AT_PLATFORM);
  printf("AT_EXECFN: %s\nAT_PLATFORM: %s\n", execfn ? execfn : "(none)",
         platform ? platform : "(none)");
  printf("argc: %d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d]: %s\n", i, argv[i]);
  static const char* vars[] = {"RRX_TEST_VAR", "HOME", "PATH", "LANG", "TERM"};
  for (unsigned i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char* v = getenv(vars[i]);
    printf("%s=%s\n", vars[i], v ? v : "(unset)");
  }
  return 0;
}
