// reexec: exec of the same binary through /proc/self/exe, in the same
// process (no fork). The new image prints its argv and pid.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--child") == 0) {
    printf("after exec: pid %d, argc %d:", (int)getpid(), argc);
    for (int i = 0; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    return 0;
  }
  printf("before exec: pid %d\n", (int)getpid());
  fflush(stdout);
  execl("/proc/self/exe", "reexec-renamed", "--child", "two words", "", (char*)NULL);
  perror("execl");
  return 1;
}
