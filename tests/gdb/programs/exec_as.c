/* gdb end-to-end debuggee: execs itself again under another argv[0]
   ("renamed-program"), so `rr-replay -p` can find a process by the name it
   was run as when the executable's file is named otherwise. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    printf("child of %s\n", argv[0]); /* LINE_CHILD */
    return 0;
  }
  char* args[] = {"renamed-program", "child", NULL};
  execv("/proc/self/exe", args);
  perror("execv");
  return 1;
}
